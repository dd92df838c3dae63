#!/usr/bin/env bash
# One command: export the training data, train DHRP, install the ONNX model, evaluate.
#   models/dhrp/retrain.sh [WORKDIR]     (default WORKDIR: results/dhrp-train)
# Single-threaded BLAS so the run is reproducible bit for bit on one machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
W="${1:-results/dhrp-train}"
models/dhrp/setup.sh
cargo build --release --locked --bin corrmc
mkdir -p "$W"
target/release/corrmc export-training experiments/dhrp-train-50.toml -o "$W/train_50.h5" --overwrite
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    models/dhrp/.venv/bin/python models/dhrp/train.py \
    --config models/dhrp/config.toml --data "$W/train_50.h5" --out "$W/model"
cp "$W/model/dhrp_50.onnx" "$W/model/dhrp_hrp_init_50.onnx" models/dhrp/
cp "$W/model/report.json" models/dhrp/training_report.json
target/release/corrmc run experiments/dhrp-50.toml --overwrite
target/release/corrmc run experiments/dhrp-block-50.toml --overwrite
# Paired comparisons (DHRP's row of each table): t and bootstrap intervals, win rates.
for b in HRP RP MinVar_long; do
    target/release/corrmc summary results/dhrp-50.h5 --baseline "$b" --metric oos_vol
done
for b in HRP MinVar_long; do
    target/release/corrmc summary results/dhrp-block-50.h5 --baseline "$b" --metric oos_vol
done
