#!/bin/sh
# SPDX-License-Identifier: MIT
# tasks.sh - bag-of-tasks throughput: N runs of /bin/true through
# `shoal submit` + `shoal wait`, against `xargs -P2` and GNU `parallel -j2`
# on the same work, interleaved in one run. Prints one JSON object per
# measurement and per summary, then a table of medians and ratios.
#
# usage: benchmarks/tasks.sh SHOAL [TASKS] [REPS]
#
# The task service is started before timing (as a pool's daemon would
# be running); its journal is new for every repetition.
set -eu

shoal=${1:?usage: tasks.sh SHOAL [TASKS] [REPS]}
n=${2:-10000}
reps=${3:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-tasks.XXXXXX")
export SHOAL_DIR="$work/node"
export SHOAL_TASKD_IDLE_EXIT=600

stop_service() {
    [ -f "$SHOAL_DIR/taskd.pid" ] || return 0
    pid=$(cat "$SHOAL_DIR/taskd.pid")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
trap 'stop_service; rm -rf "$work"' EXIT

now() { date +%s.%N; }

run_shoal() {
    stop_service
    rm -rf "$SHOAL_DIR"
    "$shoal" submit --range 1-1 -- /bin/true >/dev/null # starts the service
    "$shoal" wait 1 >/dev/null
    t0=$(now)
    id=$("$shoal" submit --range 1-"$n" -- /bin/true)
    "$shoal" wait "$id" >/dev/null
    t1=$(now)
    echo "$t0 $t1"
}

run_xargs() {
    t0=$(now)
    seq 1 "$n" | xargs -P2 -n1 /bin/true
    t1=$(now)
    echo "$t0 $t1"
}

run_parallel() {
    t0=$(now)
    seq 1 "$n" | parallel -j2 /bin/true
    t1=$(now)
    echo "$t0 $t1"
}

tools="shoal xargs"
if command -v parallel >/dev/null 2>&1 &&
    parallel --version 2>/dev/null | grep -q GNU; then
    tools="$tools parallel"
else
    echo "# GNU parallel not found: skipped (Debian package parallel)" >&2
fi

for r in $(seq "$reps"); do
    for tool in $tools; do
        set -- $(run_$tool)
        secs=$(echo "$1 $2" | awk '{ printf "%.3f", $2 - $1 }')
        echo "$tool $secs" >>"$work/times"
        printf '{"bench":"tasks","tool":"%s","rep":%d,"tasks":%d,"seconds":%s,"tasks_per_s":%s}\n' \
            "$tool" "$r" "$n" "$secs" \
            "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')"
    done
done

median() {
    awk -v t="$1" '$1 == t { print $2 }' "$work/times" | sort -n |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

s_shoal=$(median shoal)
s_xargs=$(median xargs)
s_par=$(median parallel)
awk -v n="$n" -v reps="$reps" -v a="$s_shoal" -v x="$s_xargs" -v p="$s_par" 'BEGIN {
    printf "{\"bench\":\"tasks\",\"summary\":true,\"tasks\":%d,\"reps\":%d,", n, reps
    printf "\"shoal_per_s\":%.1f,\"xargs_per_s\":%.1f,", n / a, n / x
    if (p != "") printf "\"parallel_per_s\":%.1f,\"vs_parallel\":%.2f,", n / p, p / a
    printf "\"vs_xargs\":%.2f,\"overhead_ms_per_task\":%.3f}\n", x / a, (a - x) * 2 * 1000 / n
    printf "\n%-22s %10s %12s %10s\n", "runner", "seconds", "tasks/s", "shoal is"
    printf "%-22s %10.2f %12.1f %10s\n", "shoal submit+wait", a, n / a, "-"
    printf "%-22s %10.2f %12.1f %9.2fx\n", "xargs -P2", x, n / x, x / a
    if (p != "") printf "%-22s %10.2f %12.1f %9.2fx\n", "parallel -j2", p, n / p, p / a
    printf "(medians of %d; targets: >= 0.5x xargs, >= 10x parallel;\n", reps
    printf " overhead = extra core time per task over xargs: %.3f ms)\n", (a - x) * 2 * 1000 / n
}'
