#!/usr/bin/env bash
# Cost of checkpointing: experiments/blog-replication.toml run by a baseline binary (without
# checkpoints) and by this one, alternated in one session so machine load affects both alike.
# Usage: scripts/bench-checkpoint.sh BASELINE_BINARY [ROUNDS] [THREADS]
set -euo pipefail
base=${1:?baseline corrmc binary}
rounds=${2:-3}
threads=${3:-2}
new=$(cd "$(dirname "$0")/.." && pwd)/target/release/corrmc
spec=$(cd "$(dirname "$0")/.." && pwd)/experiments/blog-replication.toml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # binary label -> "wall cpu" (cpu = user + system seconds)
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" \
    "$1" run "$spec" -o "$tmp/$2.h5" --overwrite --no-summary --threads "$threads" 2>/dev/null
  awk '{print $1, $2 + $3}' "$tmp/time"
}
res=()
for r in $(seq 1 "$rounds"); do
  b=$(run "$base" base); n=$(run "$new" new)
  echo "round $r: baseline wall/cpu $b s, checkpointed $n s"
  res+=("$b $n")
done
printf '%s\n' "${res[@]}" | python3 -c '
import sys, statistics as st
r = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
for i, what in ((0, "wall"), (1, "cpu")):
    b = [x[i] for x in r]; n = [x[i + 2] for x in r]
    print(f"{what}: median baseline {st.median(b):.2f} s, checkpointed {st.median(n):.2f} s, "
          f"ratio {st.median(n) / st.median(b):.3f}; per round", " ".join(f"{y / x:.3f}" for x, y in zip(b, n)))
'

