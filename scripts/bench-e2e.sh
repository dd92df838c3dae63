#!/usr/bin/env bash
# End-to-end timing of experiments/blog-replication.toml (2000 trials, n = 100, 5 methods),
# with a baseline measured in the same session: the same study with EW only (simulation cost).
# Usage: scripts/bench-e2e.sh [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
cargo build --release --locked --bin corrmc >/dev/null 2>&1
bin=target/release/corrmc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^methods = .*/methods = ["EW"]/' experiments/blog-replication.toml > "$tmp/ew.toml"
run() { # spec threads -> wall seconds
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" run "$1" --threads "$2" --overwrite -o "$tmp/out.h5" --summary false >/dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
printf "%-34s %8s %s\n" "study" "threads" "wall seconds (each repeat)"
for threads in 1 2; do
    for spec in experiments/blog-replication.toml "$tmp/ew.toml"; do
        label=$([ "$spec" = "$tmp/ew.toml" ] && echo "blog-replication, EW only (baseline)" || echo "blog-replication, 5 methods")
        times=""
        for _ in $(seq "$reps"); do times="$times $(run "$spec" "$threads")"; done
        printf "%-34s %8s %s\n" "$label" "$threads" "$times"
    done
done
