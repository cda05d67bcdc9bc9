#!/bin/sh
# SPDX-License-Identifier: MIT
# tasks-pool.sh - per-task overhead of bag-of-tasks jobs on the pool: N
# runs of /bin/true submitted to one daemon alone lending 3 task slots
# (SHOAL_TASK_CORES=3), then to three daemons on loopback ports lending
# one slot each, two of them pulling from the first: the same slots, so
# the ratio is the price of the pull protocol (frames, leases, results
# relayed to the home), not a speed-up. Interleaved REPS times; prints one
# JSON object per measurement, then medians and their ratio.
#
# usage: benchmarks/tasks-pool.sh SHOAL [TASKS] [REPS]
set -eu

shoal=${1:?usage: tasks-pool.sh SHOAL [TASKS] [REPS]}
n=${2:-2000}
reps=${3:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-pool.XXXXXX")
base=$((20000 + $$ % 20000))

stop_all() {
    for i in 1 2 3; do
        [ -f "$work/d$i/daemon.pid" ] &&
            "$shoal" daemon stop --dir "$work/d$i" >/dev/null 2>&1 || true
    done
}
trap 'stop_all; rm -rf "$work"' EXIT

# start I SLOTS
start() {
    mkdir -p "$work/d$1"
    SHOAL_TASK_CORES=$2 "$shoal" daemon start --dir "$work/d$1" --key "$work/pool.key" \
        --listen "127.0.0.1:$((base + $1))" --join "127.0.0.1:$((base + 1))"
}

now() { date +%s.%N; }

# run NODES: seconds for N tasks submitted to daemon 1
run() {
    stop_all
    rm -rf "$work/d1" "$work/d2" "$work/d3"
    if [ "$1" = 1 ]; then
        start 1 3
    else
        for i in $(seq "$1"); do start "$i" 1; done
    fi
    while [ "$(SHOAL_DIR="$work/d1" "$shoal" status --json |
        grep -o '"state": *"alive"' | wc -l)" -lt "$1" ]; do
        sleep 0.2
    done
    export SHOAL_DIR="$work/d1"
    t0=$(now)
    id=$("$shoal" submit --range 1-"$n" -- /bin/true)
    "$shoal" wait "$id" >/dev/null
    t1=$(now)
    "$shoal" results "$id" --csv | awk -F, 'NR > 1 { print $4 }' | sort -u |
        wc -l >"$work/nodes"
    echo "$t0 $t1"
}

"$shoal" keygen -o "$work/pool.key"
for r in $(seq "$reps"); do
    for nodes in 1 3; do
        set -- $(run $nodes)
        secs=$(echo "$1 $2" | awk '{ printf "%.3f", $2 - $1 }')
        echo "$nodes $secs" >>"$work/times"
        printf '{"bench":"tasks-pool","nodes":%d,"nodes_used":%d,"rep":%d,"tasks":%d,"seconds":%s,"tasks_per_s":%s,"ms_per_task":%s}\n' \
            "$nodes" "$(cat "$work/nodes")" "$r" "$n" "$secs" \
            "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')" \
            "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.3f", 1000 * s / n }')"
    done
done

median() {
    awk -v t="$1" '$1 == t { print $2 }' "$work/times" | sort -n |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

one=$(median 1)
pool=$(median 3)
printf '\n%-28s %10s %12s %12s\n' "" seconds tasks/s ms/task
for row in "1 node, 3 slots:$one" "3 nodes, 1 slot each:$pool"; do
    name=${row%:*}
    s=${row#*:}
    printf '%-28s %10.3f %12.1f %12.3f\n' "$name" "$s" \
        "$(awk -v n="$n" -v s="$s" 'BEGIN { print n / s }')" \
        "$(awk -v n="$n" -v s="$s" 'BEGIN { print 1000 * s / n }')"
done
printf '%-28s %10.2f\n' "pool / one node" "$(awk -v a="$pool" -v b="$one" 'BEGIN { print a / b }')"
