#!/usr/bin/env bash
# Fetches ONNX Runtime for corrmc's `ort` backend from PyPI (the registry, no other download):
# pip downloads the onnxruntime wheel, and the shared library inside it is extracted to
# .onnxruntime/ (git-ignored). Python is not needed at run time.
#
#   scripts/setup-onnxruntime.sh            # prints the library path on the last line
#   export ORT_DYLIB_PATH=$(scripts/setup-onnxruntime.sh | tail -n1)
#
# ort 2.0.0-rc.15 targets the ONNX Runtime 1.31 API (feature api-31); keep the versions matched.
set -euo pipefail
VERSION="${ORT_VERSION:-1.31.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.onnxruntime"
LIB="$DEST/libonnxruntime.so.$VERSION"
if [[ -f "$LIB" ]]; then
  echo "$LIB"
  exit 0
fi
mkdir -p "$DEST/wheel"
PY="${PYTHON:-python3}"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$DEST/wheel" "onnxruntime==$VERSION" >&2
WHEEL="$(ls "$DEST"/wheel/onnxruntime-"$VERSION"-*.whl | head -n1)"
"$PY" - "$WHEEL" "$DEST" "$VERSION" <<'PY'
import sys, zipfile, os
wheel, dest, version = sys.argv[1:]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as z:
    with z.open(name) as src, open(os.path.join(dest, os.path.basename(name)), "wb") as out:
        out.write(src.read())
PY
rm -rf "$DEST/wheel"
echo "$LIB"
