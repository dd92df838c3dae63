#!/usr/bin/env bash
# Parallel efficiency of MPI ranks against rayon threads on this machine, one script so that
# the ratios come from one session (README "Running on a cluster"):
#   threads: corrmc run SPEC --threads 1, then --threads 2 (no MPI)
#   ranks:   mpirun -n 1 corrmc run SPEC --mpi --threads 1, then mpirun -n 2 ... --threads 1
# and checks that the four files give the same summary (tests/cluster.rs checks the bytes).
#
#   scripts/bench-cluster.sh [SPEC] [TRIALS] [CHUNK]
#
# Needs a corrmc built with --features mpi (./dev builds it) and mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
SPEC=${1:-experiments/asrp-57-n100.toml}
TRIALS=${2:-32}
CHUNK=${3:-4}
BIN=${CORRMC:-target/release/corrmc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The bench's spec: the given one with a small chunk so that two ranks get equal work.
sed -e "s/^chunk_trials *=.*//" "$SPEC" > "$out/spec.toml"
sed -i "0,/^trials *=/s//chunk_trials = $CHUNK\ntrials =/" "$out/spec.toml"
sed -i "s#^output *=.*#output = \"$out/unused.h5\"#" "$out/spec.toml"
# Relative inputs of the spec resolve against its original folder.
cp "$out/spec.toml" "$(dirname "$SPEC")/.bench-cluster-$$.toml"
spec="$(dirname "$SPEC")/.bench-cluster-$$.toml"
trap 'rm -rf "$out" "$spec"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
measure() { # name, command...
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$out/$name.log" 2>&1 || { cat "$out/$name.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$name $(echo "$t1 - $t0" | bc -l)"
}
common=(run "$spec" --trials "$TRIALS" --no-summary --overwrite)
{
    measure threads1 "$BIN" "${common[@]}" --threads 1 -o "$out/t1.h5"
    measure threads2 "$BIN" "${common[@]}" --threads 2 -o "$out/t2.h5"
    measure mpi1 mpirun -n 1 "$BIN" "${common[@]}" --mpi --threads 1 -o "$out/m1.h5"
    measure mpi2 mpirun -n 2 "$BIN" "${common[@]}" --mpi --threads 1 -o "$out/m2.h5"
} | tee "$out/times"
for f in t1 t2 m1 m2; do
    "$BIN" summary "$out/$f.h5" --json | grep -vE '"(file|path|threads|elapsed_s)"' > "$out/$f.json"
done
for f in t2 m1 m2; do
    cmp -s "$out/t1.json" "$out/$f.json" || { echo "bench-cluster: $f differs from t1 (summary)" >&2; exit 1; }
done
awk -v trials="$TRIALS" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
    { t[$1] = $2 }
    END {
        printf "wall seconds: threads1 %.2f, threads2 %.2f, mpi1 %.2f, mpi2 %.2f (%d trials; load average %s)\n",
            t["threads1"], t["threads2"], t["mpi1"], t["mpi2"], trials, load
        printf "speed-up 1->2: threads %.2f (efficiency %.0f%%), MPI ranks %.2f (efficiency %.0f%%)\n",
            t["threads1"] / t["threads2"], 50 * t["threads1"] / t["threads2"],
            t["mpi1"] / t["mpi2"], 50 * t["mpi1"] / t["mpi2"]
        printf "MPI overhead at 1 rank: mpi1 / threads1 = %.3f; 2 ranks vs 2 threads: mpi2 / threads2 = %.3f\n",
            t["mpi1"] / t["threads1"], t["mpi2"] / t["threads2"]
        printf "CPU-seconds per trial (threads1): %.3f\n", t["threads1"] / trials
    }' "$out/times"
