#!/usr/bin/env bash
# One command for DHRP_paper: export the training data (Ward tree, non-zero expected returns),
# train with the paper's loss and optimizer, install the ONNX model and its report.
#   models/dhrp/retrain_paper.sh [WORKDIR] [LINKAGE]   (defaults: results/dhrp-paper-train, ward)
# Single-threaded BLAS so the run is reproducible bit for bit on one machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
W="${1:-results/dhrp-paper-train}"
L="${2:-ward}"
models/dhrp/setup.sh
cargo build --release --locked --bin corrmc
mkdir -p "$W"
target/release/corrmc export-training experiments/dhrp-paper-train-50.toml --linkage "$L" \
    -o "$W/paper_50_$L.h5" --overwrite
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    models/dhrp/.venv/bin/python models/dhrp/train_paper.py \
    --config models/dhrp/config_paper.toml --data "$W/paper_50_$L.h5" --out "$W/model_$L"
cp "$W/model_$L/dhrp_paper_${L}_50.onnx" models/dhrp/
cp "$W/model_$L/report.json" "models/dhrp/training_report_paper_$L.json"
