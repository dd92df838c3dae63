#!/usr/bin/env bash
# Creates models/dhrp/.venv with the pinned training/export stack (numpy, autograd, onnx,
# onnxruntime, h5py; ~220 MB, < 1 min from PyPI). Re-run to repair; no-op when complete.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && .venv/bin/python -c "import autograd, onnx, onnxruntime, h5py, numpy" 2>/dev/null; then
    exit 0
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "DHRP training needs Python >= 3.11 (tomllib)"'
"$PY" -m venv .venv || { echo "dhrp setup: '$PY -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/python -c "import autograd, onnx, onnxruntime, h5py, numpy"
echo "dhrp setup: models/dhrp/.venv ready" >&2
