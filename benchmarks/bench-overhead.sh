#!/bin/sh
# SPDX-License-Identifier: MIT
# bench-overhead.sh - what `shoal bench run` adds to each repetition,
# against /usr/bin/time running the same command, interleaved in one run.
#
# usage: benchmarks/bench-overhead.sh SHOAL [REPS] [ROUNDS] [COMMAND...]
#
# Per round: `shoal bench run` of a suite whose benchmark runs COMMAND
# (default: /bin/true) REPS times, and a loop running
# `/usr/bin/time -f %e COMMAND` REPS times, each timed from outside; each
# also once with a single repetition, so that start-up cancels out:
#   per_rep = (T(REPS) - T(1)) / (REPS - 1).
# Figures (medians over the rounds):
#   shoal_rep_ms     shoal's whole cost per repetition (spawn, wait,
#                    output capture, parsing, the store's transaction)
#   time_rep_ms      /usr/bin/time's whole cost per repetition (the shell's
#                    fork, time's exec, its fork and wait)
#   overhead_ms      shoal_rep_ms - time_rep_ms: the goal is <= 2 ms
#   shoal_wall_ms    the wall time shoal records for COMMAND (median of the
#                    store's "wall" figures)
#   time_wall_ms     the same as /usr/bin/time reports it (%e: 10 ms steps)
# Prints one JSON object per round and a summary, then a table.
set -eu

shoal=${1:?usage: bench-overhead.sh SHOAL [REPS] [ROUNDS] [COMMAND...]}
reps=${2:-200}
rounds=${3:-5}
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] || set -- /bin/true
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-overhead.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SHOAL_DIR="$work/state" SHOAL_POOL=no

{
    echo "benchmarks:"
    echo "  - name: cmd"
    printf "    command: ["
    sep=""
    for w in "$@"; do printf '%s"%s"' "$sep" "$w"; sep=", "; done
    echo "]"
} >"$work/suite.yaml"

now() { date +%s.%N; }

shoal_run() { # N -> seconds
    t0=$(now)
    "$shoal" bench run --repeat "$1" "$work/suite.yaml" >"$work/id"
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

time_run() { # N COMMAND... -> seconds; each run's %e goes to $work/time.e
    n=$1
    shift
    : >"$work/time.e"
    t0=$(now)
    i=0
    while [ $i -lt "$n" ]; do
        /usr/bin/time -a -o "$work/time.e" -f %e "$@" >/dev/null
        i=$((i + 1))
    done
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$work/rounds"
r=1
while [ $r -le "$rounds" ]; do
    s1=$(shoal_run 1)
    sn=$(shoal_run "$reps")
    id=$(tail -n 1 "$work/id")
    swall=$("$shoal" bench report "$id" --format json | python3 -c '
import json, sys
print(json.loads(sys.stdin.readline())["figures"]["wall"]["median"])')
    t1=$(time_run 1 "$@")
    tn=$(time_run "$reps" "$@")
    twall=$(median <"$work/time.e")
    srep=$(echo "($sn - $s1) / ($reps - 1) * 1000" | bc -l)
    trep=$(echo "($tn - $t1) / ($reps - 1) * 1000" | bc -l)
    printf '{"round":%d,"reps":%d,"shoal_rep_ms":%.3f,"time_rep_ms":%.3f,"overhead_ms":%.3f,"shoal_wall_ms":%.3f,"time_wall_ms":%.1f}\n' \
        "$r" "$reps" "$srep" "$trep" "$(echo "$srep - $trep" | bc -l)" \
        "$(echo "$swall * 1000" | bc -l)" "$(echo "$twall * 1000" | bc -l)" |
        tee -a "$work/rounds"
    r=$((r + 1))
done

python3 - "$work/rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["shoal_rep_ms", "time_rep_ms", "overhead_ms", "shoal_wall_ms", "time_wall_ms"]
summary = {k: round(statistics.median(r[k] for r in rows), 3) for k in keys}
summary["goal_overhead_ms"] = 2
summary["ratio_shoal_vs_time"] = round(summary["shoal_rep_ms"] / summary["time_rep_ms"], 3)
print(json.dumps({"summary": summary}))
print()
print("%-16s %10s" % ("figure", "median"))
for k in keys + ["ratio_shoal_vs_time"]:
    print("%-16s %10.3f" % (k, summary[k]))
PY
