#!/usr/bin/env bash
# Submits a corrmc study as a SLURM job array of K shards plus a dependent merge job.
#
#   scripts/slurm/submit.sh SPEC OUT K [extra sbatch options for the array, e.g. --cpus-per-task=16]
#
# `corrmc plan SPEC --shards K --threads T` shows the split and the expected time per shard.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
SPEC=$1 OUT=$2 K=$3
shift 3
case "$K" in '' | *[!0-9]* | 0) echo "submit.sh: K must be a positive integer, got '$K'" >&2; exit 2 ;; esac
[ -f "$SPEC" ] || { echo "submit.sh: no spec file '$SPEC'" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --array=0-$((K - 1)) --export=ALL,SPEC="$SPEC",OUT="$OUT",SHARDS="$K" "$@" \
    "$here/array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --export=ALL,OUT="$OUT",SHARDS="$K" \
    "$here/merge.sbatch")
echo "submitted: shards = job array $array (0-$((K - 1))), merge = job ${merge%%;*} -> $OUT"
