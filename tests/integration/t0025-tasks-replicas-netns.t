#!/bin/sh
# SPDX-License-Identifier: MIT
# Self-checkpointing tasks without a shared file system: with
# `shoal submit --checkpoint --replicas 1` each task checkpoints on its
# worker's own disk (STATE/ckpt-jobs), the worker's daemon copies each
# version to another node, and a task whose worker is lost resumes on
# another node from its newest copy, fetched there, not from scratch.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

PORT=7911
SHOAL_DIR="$NETNS_STATE/shoal"
export SHOAL_DIR
# short leases, so that a stalled worker costs little; quick kills
SHOAL_TASK_LEASE=3
SHOAL_TASK_KILL_GRACE=1
export SHOAL_TASK_LEASE SHOAL_TASK_KILL_GRACE

# host 1: 2 cores, slow; host 2: 4 cores, fast; host 3: 3 cores
speed_of() {
    case $1 in 1) echo 500 ;; 2) echo 2000 ;; 3) echo 1000 ;; esac
}

daemon_start() {
    local i seed
    i=$1
    seed=1
    [ "$i" -eq 1 ] && seed=2
    netns_exec "$i" env SHOAL_TOPOLOGY="$(netns_topology "$i")" \
        SHOAL_SPEED="$(speed_of "$i")" \
        "$SHOAL" daemon start --dir "$SHOAL_DIR" --key "$TRASH/pool.key" \
        --listen "$(netns_addr "$i"):$PORT" \
        --join "$(netns_addr $seed):$PORT"
}

daemon_pid() {
    netns_exec "$1" cat "$SHOAL_DIR/daemon.pid"
}

# daemon_kill I: SIGKILL host I's daemon and wait until it is gone: a
# process killed is not gone at once (a large one takes a while to be torn
# down), and until then it still holds its control socket.
daemon_kill() {
    local p
    p=$(daemon_pid "$1") && kill -KILL "$p" || return 1
    for _ in $(seq 200); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "host $1's daemon $p outlived SIGKILL by 10 s" >&2
    return 1
}

# alive_seen I: the nodes host I sees alive.
alive_seen() {
    netns_exec "$1" "$SHOAL" status --json 2>/dev/null |
        "$NETNS_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(1 for m in s["members"] if m["state"] == "alive"))'
}

# wait_alive I N SECONDS
wait_alive() {
    local end
    end=$(($(date +%s) + $3))
    while [ "$(alive_seen "$1")" != "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && {
            echo "host $1 sees $(alive_seen "$1") nodes alive, not $2" >&2
            return 1
        }
        sleep 0.2
    done
}

# node_id I: host I's node id as the results print it (16 hex digits).
node_id() {
    printf '%016x\n' "0x$(netns_exec "$1" cat "$SHOAL_DIR/node-id")"
}

# results ID: the job's CSV (from host 1, its home), without the header
results() {
    netns_exec 1 "$SHOAL" results "$1" --csv | tail -n +2
}

# check_once ID N: tasks 0..N-1 have one row each, all done.
check_once() {
    results "$1" >res.csv &&
    awk -F, '{ print $1 }' res.csv | sort -n | uniq -c |
        awk '$1 != 1' >dups && test ! -s dups &&
    test "$(wc -l <res.csv)" = "$2" &&
    test "$(awk -F, '$3 == "done"' res.csv | wc -l)" = "$2" || {
        echo "job $1: $(wc -l <res.csv) rows, $(awk -F, '$3 == "done"' res.csv | wc -l) done of $2" >&2
        awk -F, '$3 != "done"' res.csv | head >&2
        return 1
    }
}

# ran_on ID I: tasks of job ID recorded as run by host I
ran_on() {
    results "$1" | awk -F, -v n="$(node_id "$2")" '$4 == n' | wc -l
}

# done_count ID: tasks of job ID done so far
done_count() {
    n=$(netns_exec 1 "$SHOAL" job "$1" 2>/dev/null |
        awk '$1 == "done" { print $2 }')
    echo "${n:-0}"
}

# wait_done ID N SECONDS: at least N tasks of job ID are done
wait_done() {
    local end
    end=$(($(date +%s) + $3))
    while [ "$(done_count "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && {
            echo "job $1: $(done_count "$1") done, not $2" >&2
            return 1
        }
        sleep 0.2
    done
}

submit() {
    netns_exec 1 "$SHOAL" submit "$@"
}

# ran_twice FILE: tasks that ran to their end twice although their first
# end was on a worker (host 2 or 3), from the lines "TASK HOST" the tasks
# append when they end. A task that ran on the home may have ended just
# as the home was killed, before its result was recorded: it runs again
# rightly, and is not counted.
ran_twice() {
    awk -v h1="$(netns_name 1)" '
        !($1 in first) { first[$1] = $2; next }
        first[$1] != h1 { print $1 }' "$1" | sort -u
}

TICK="$SHOAL_SRCDIR/tests/fixtures/ckpt-tick.sh"

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

test_expect_success '--replicas needs --checkpoint and takes no --checkpoint-dir' '
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --replicas 1 --range 1-2 -- true 2>e1 &&
    grep "option .--replicas. needs --checkpoint" e1 &&
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --checkpoint --replicas 1 \
        --checkpoint-dir d --range 1-2 -- true 2>e2 &&
    grep "exclude each other" e2 &&
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --checkpoint --replicas 0 \
        --range 1-2 -- true 2>e3 &&
    grep "invalid --replicas .0." e3
'

test_expect_success 'tasks whose worker is lost resume elsewhere from the copies of their checkpoints' '
    id=$(submit --checkpoint --replicas 1 --range 0-5 -- "$TICK" 40) &&
    echo "job $id" &&
    victim= &&
    for _ in $(seq 100); do
        for h in 2 3; do
            [ "$(ran_on "$id" $h)" -gt 0 ] && victim=$h && break 2
        done
        sleep 0.1
    done &&
    test -n "$victim" &&
    sleep 2 &&
    results "$id" | awk -F, -v n="$(node_id $victim)" "\$4 == n && \$3 == \"running\" { print \$1 }" >lost &&
    echo "running on host $victim: $(cat lost)" &&
    test -s lost &&
    netns_exec $victim sh -c "ls -d \"\$SHOAL_DIR\"/ckpt-jobs/tasks-*/task*/v*" >victim.versions &&
    test -s victim.versions &&
    # no other host sees them: each host has a state directory of its own
    for h in 1 2 3; do
        [ "$h" = "$victim" ] && continue
        ! netns_exec $h ls -d $(head -n 1 victim.versions) 2>/dev/null || exit 1
    done &&
    echo "host $victim is lost: every process on it killed" &&
    { kill -KILL $(netns_pids $victim) 2>/dev/null || true; } &&
    netns_wait_none_named ckpt-tick.sh 10 $victim &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 6 &&
    results "$id" >res.all && cat res.all &&
    for t in $(cat lost); do
        netns_exec 1 "$SHOAL" output "$id" "$t" >out.$t &&
        cat out.$t &&
        grep "^resumed after [1-9][0-9]*$" out.$t &&
        grep "^counted to 40$" out.$t || exit 1
    done &&
    ! test -e shoal-ckpt &&
    echo "$victim" >"$TRASH/victim"
'

# The first attempt of each task fails after step 10, just after its
# commit: its result waits until that version is copied, so the retry,
# on whichever node takes it, resumes after step 10 exactly.
test_expect_success 'a failed task is retried from the version it made last, wherever it runs' '
    id=$(submit --checkpoint --replicas 1 --retries 1 --range 0-3 -- \
        sh -c "exec \"$TICK\" 20 \$SHOAL_TASK_ID 10") &&
    test_within 90 netns_exec 1 "$SHOAL" wait "$id" >wait2.out &&
    check_once "$id" 4 &&
    for t in 0 1 2 3; do
        netns_exec 1 "$SHOAL" output "$id" "$t" >again.$t &&
        cat again.$t &&
        grep -x "resumed after 10" again.$t &&
        grep -x "counted to 20" again.$t || exit 1
    done
'

test_expect_success 'the daemons left stop and nothing runs after them' '
    victim=$(cat "$TRASH/victim") && left= &&
    for i in 1 2 3; do
        [ "$i" = "$victim" ] && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
