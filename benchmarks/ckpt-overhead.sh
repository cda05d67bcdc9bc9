#!/bin/sh
# SPDX-License-Identifier: MIT
# ckpt-overhead.sh - the cost of checkpoints to a running MPI job: the
# same job (benchmarks/ckpt_overhead.c, 2 ranks, MB per rank of state) run
# without checkpoints and with `shoal run --checkpoint=INTERVAL`,
# alternately REPS times; prints one JSON object per run, then the medians
# and the overhead. The goal: at most 5% with a checkpoint every 10 s.
# Each run also reports the seconds rank 0 spent checkpointing (in_ckpt:
# writing its file, in_write, and committing it, in_commit):
# against the rest of its run that is the overhead measured within one
# run, which a machine loaded by other work does not blur as it blurs the
# difference between two runs.
# With BASE_BUILDDIR set to another build of shoal, the job with
# checkpoints also runs under it (mode ckpt-base) in the same rounds:
# before and after a change under the same load.
#
# usage: [BASE_BUILDDIR=DIR] benchmarks/ckpt-overhead.sh BUILDDIR SRCDIR
#            [STEPS] [MB] [INTERVAL] [REPS]
set -eu

build=$(cd "${1:?usage: ckpt-overhead.sh BUILDDIR SRCDIR [STEPS] [MB] [INTERVAL] [REPS]}" && pwd)
src=$(cd "${2:?usage: ckpt-overhead.sh BUILDDIR SRCDIR [STEPS] [MB] [INTERVAL] [REPS]}" && pwd)
steps=${3:-1200}
mb=${4:-64}
interval=${5:-10}
reps=${6:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-ckpt.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

"$build/mpi-shim/mpicc-uninst" -O2 -I"$src/include" -o overhead \
    "$src/benchmarks/ckpt_overhead.c" -L"$build/.libs" \
    -Wl,-rpath,"$build/.libs" -lshoal
modes="plain ckpt"
base=${BASE_BUILDDIR:-}
if [ -n "$base" ]; then
    base=$(cd "$base" && pwd)
    "$base/mpi-shim/mpicc-uninst" -O2 -I"$src/include" -o overhead-base \
        "$src/benchmarks/ckpt_overhead.c" -L"$base/.libs" \
        -Wl,-rpath,"$base/.libs" -lshoal
    modes="plain ckpt ckpt-base"
fi

for r in $(seq "$reps"); do
    for mode in $modes; do
        if [ "$mode" = ckpt-base ]; then
            out=$(SHOAL_POOL=no "$base/cmd/shoal" run -n 2 \
                --checkpoint="$interval" --checkpoint-dir ck-base \
                ./overhead-base "$steps" "$mb")
        elif [ "$mode" = ckpt ]; then
            out=$(SHOAL_POOL=no "$build/cmd/shoal" run -n 2 \
                --checkpoint="$interval" --checkpoint-dir ck ./overhead \
                "$steps" "$mb")
        else
            out=$(SHOAL_POOL=no "$build/cmd/shoal" run -n 2 ./overhead \
                "$steps" "$mb")
        fi
        echo "$out" | awk -v m="$mode" -v mb="$mb" -v i="$interval" '{
            printf "{\"bench\": \"ckpt-overhead\", \"mode\": \"%s\", \"mb_per_rank\": %d, \"interval\": %g, \"steps\": %d, \"checkpoints\": %d, \"seconds\": %.3f, \"in_ckpt\": %.3f, \"in_write\": %.3f, \"in_commit\": %.3f}\n",
                m, mb, i, $2, $4, $6, $10, $12, $14 }'
    done
done | tee runs.json
python3 - runs.json <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
modes = [m for m in ("plain", "ckpt", "ckpt-base")
         if any(r["mode"] == m for r in runs)]
med = {m: statistics.median(r["seconds"] for r in runs if r["mode"] == m)
       for m in modes}
print()
print("median without checkpoints %.3f s" % med["plain"])
for m in modes[1:]:
    ck = statistics.median(r["checkpoints"] for r in runs if r["mode"] == m)
    within = statistics.median(r["in_ckpt"] / (r["seconds"] - r["in_ckpt"])
                               for r in runs if r["mode"] == m)
    print("%s: median %.3f s (%d checkpoints), overhead %.1f%% (goal <= 5%%);"
          " within its runs %.1f%% (time rank 0 spent checkpointing"
          " against the rest)"
          % (m, med[m], ck, 100 * (med[m] / med["plain"] - 1), 100 * within))
    per = [r for r in runs if r["mode"] == m and r["checkpoints"] > 0]
    if per:
        print("%s: per checkpoint, writing %.3f s and committing %.3f s"
              " (medians)" % (m,
              statistics.median(r["in_write"] / r["checkpoints"] for r in per),
              statistics.median(r["in_commit"] / r["checkpoints"] for r in per)))
PY
