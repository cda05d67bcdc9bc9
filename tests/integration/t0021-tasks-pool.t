#!/bin/sh
# SPDX-License-Identifier: MIT
# Bag-of-tasks jobs on a pool of three simulated hosts, each a different
# machine (cores and speed): every node with free cores pulls tasks from
# the job's home, a worker daemon killed or the home daemon restarted
# mid-job costs no result and records none twice, a task failing on one
# host is retried on another, and cancel leaves no process on any host.
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

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    cp /bin/sleep nap &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

test_expect_success 'a job no node of the pool could hold is refused, naming the largest' '
    test_expect_code 1 netns_exec 1 "$SHOAL" submit --cores 5 --range 1-1 -- true 2>err &&
    cat err &&
    grep "shoal: no node of the pool has 5 cores for a task: the largest, .$(netns_name 2)., has 4$" err
'

test_expect_success '2,000 tasks on the pool: one result each, more on faster nodes' '
    id=$(submit --range 0-1999 -- sh -c "echo result {} \$SHOAL_TASK_ID") &&
    test "$id" = 1 &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    grep "job 1 done: 2000 done, 0 failed" wait.out &&
    check_once 1 2000 &&
    for i in 1 2 3; do echo "host $i ran $(ran_on 1 $i) tasks"; done &&
    test "$(ran_on 1 2)" -gt 0 && test "$(ran_on 1 3)" -gt 0 &&
    test "$(ran_on 1 2)" -gt "$(ran_on 1 1)" &&
    # each result line is on the host that ran it, where the journal says
    for i in 1 2 3; do
        n=$(node_id $i) &&
        awk -F, -v n="$n" "\$4 == n { print \$1, \$9 }" res.csv | head -5 |
        while read -r task path; do
            echo "result $task $task" >expect &&
            netns_exec $i cat "$path" >got &&
            test_cmp expect got || exit 1
        done || exit 1
    done
'

test_expect_success 'shoal output fetches a task run on another host' '
    task=$(awk -F, -v n="$(node_id 2)" "\$4 == n { print \$1; exit }" res.csv) &&
    netns_exec 1 "$SHOAL" output 1 "$task" >out &&
    echo "result $task $task" >expect &&
    test_cmp expect out
'

test_expect_success 'a worker daemon killed mid-job: every task recorded once' '
    id=$(submit --range 0-299 -- sh -c "sleep 0.1; echo \$SHOAL_TASK_ID") &&
    wait_done "$id" 30 30 &&
    daemon_kill 3 &&
    test_within 90 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 300 &&
    test "$(ran_on "$id" 3)" -gt 0 &&
    test_within 15 daemon_start 3 &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

TICK="$SHOAL_SRCDIR/tests/fixtures/ckpt-tick.sh"

test_expect_success 'checkpointing tasks whose worker is lost resume on another node' '
    id=$(submit --checkpoint --checkpoint-dir "$TRASH/tck" --range 0-17 -- \
        "$TICK" 40) &&
    victim= &&
    for _ in $(seq 100); do
        for h in 2 3; do
            [ "$(ran_on "$id" $h)" -gt 0 ] && victim=$h && break 2
        done
        sleep 0.1
    done &&
    test -n "$victim" &&
    sleep 1.5 &&
    results "$id" | awk -F, -v n="$(node_id $victim)" "\$4 == n && \$3 == \"running\" { print \$1 }" >lost &&
    echo "running on host $victim: $(cat lost)" &&
    test -s lost &&
    daemon_kill $victim &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 18 &&
    for t in $(cat lost); do
        netns_exec 1 "$SHOAL" output "$id" "$t" >out.$t &&
        cat out.$t &&
        grep "^resumed after [1-9][0-9]*$" out.$t &&
        grep "^counted to 40$" out.$t || exit 1
    done &&
    test_within 15 daemon_start $victim &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

test_expect_success 'the home daemon restarted mid-job: every task recorded once' '
    id=$(submit --range 0-299 -- sh -c "sleep 0.1; echo \$SHOAL_TASK_ID") &&
    wait_done "$id" 30 30 &&
    daemon_kill 1 &&
    test_within 15 daemon_start 1 &&
    test_within 90 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 300 &&
    netns_exec 1 "$SHOAL" job "$id"
'

test_expect_success 'the home down while workers end tasks: no ended task runs again' '
    # tasks of 1 to 1.9 s, so that some end on the workers while the home
    # is down: their results wait there, and count when it is back
    id=$(submit --range 0-59 -- sh -c \
        "sleep 1.\$((SHOAL_TASK_ID % 4 * 3)) &&
         echo \$SHOAL_TASK_ID \$(hostname) >>$TRASH/ran.\$SHOAL_JOB_ID") &&
    wait_done "$id" 10 60 &&
    daemon_kill 1 &&
    sleep 3 &&
    test_within 15 daemon_start 1 &&
    test_within 90 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 60 &&
    test "$(wc -l <"ran.$id")" -ge 60 &&
    for i in 2 3; do
        netns_exec $i "$SHOAL" status --stats | sed -n "/^tasks:/,\$p"
    done &&
    ran_twice "ran.$id" >twice &&
    { test ! -s twice || { echo "ran again after ending on a worker:" &&
                           cat twice && false; }; }
'

test_expect_success 'a task failing on one host is retried on another' '
    h1=$(netns_exec 1 hostname) &&
    id=$(submit --range 0-19 --retries 2 -- \
        sh -c "test \"\$(hostname)\" != $h1 || exit 3; echo ok") &&
    test_within 60 netns_exec 1 "$SHOAL" wait "$id" &&
    check_once "$id" 20 &&
    test "$(ran_on "$id" 1)" = 0
'

test_expect_success 'a task failing everywhere is failed, with its status and stderr' '
    id=$(submit --range 0-9 --retries 2 -- \
        sh -c "test {} != 7 || { echo bad seven >&2; exit 5; }") &&
    test_expect_code 1 test_within 60 netns_exec 1 "$SHOAL" wait "$id" &&
    results "$id" >res.csv &&
    test "$(awk -F, "\$3 == \"done\"" res.csv | wc -l)" = 9 &&
    awk -F, "\$1 == 7" res.csv >seven &&
    cat seven &&
    grep ",failed," seven &&
    awk -F, "{ exit !(\$7 == 5 && \$8 == 3) }" seven &&
    netns_exec 1 "$SHOAL" results "$id" --json | grep "bad seven"
'

test_expect_success 'on the pool, --after holds every node off and --mem holds on each' '
    a=$(submit --range 0-11 -- sh -c "sleep 1; echo a") &&
    b=$(submit --after "$a" --mem 256M --range 0-29 -- "$NETNS_PYTHON" -c \
        "bytearray(2**29 if {} % 2 == 1 else 2**24); print(\"fits\")") &&
    netns_exec 1 "$SHOAL" job "$b" | grep "^reason  *Dependency: runs once job $a ended done$" &&
    test_expect_code 1 test_within 60 netns_exec 1 "$SHOAL" wait "$b" &&
    netns_exec 1 "$SHOAL" job "$a" --json >a.json &&
    netns_exec 1 "$SHOAL" results "$b" --json >b.json &&
    "$NETNS_PYTHON" -c "
import json
a = json.load(open(\"a.json\"))
b = json.load(open(\"b.json\"))
assert a[\"state\"] == \"done\", a
assert min(t[\"start\"] for t in b) >= a[\"finished\"] - 0.01, (a, b)
failed = sorted(t[\"task\"] for t in b if t[\"state\"] == \"failed\")
assert failed == list(range(1, 30, 2)), failed
for t in b:
    if t[\"state\"] == \"failed\":
        assert t[\"reason\"].endswith(\"under its memory limit of 256 MiB (--mem: address space)\"), t
nodes = set(t[\"node\"] for t in b if t[\"state\"] == \"failed\")
print(\"failed on\", nodes, \"ran on\", set(t[\"node\"] for t in b))
" &&
    results "$b" | awk -F, "\$3 == \"failed\" { print \$4 }" | sort -u >failed.nodes &&
    cat failed.nodes &&
    test "$(wc -l <failed.nodes)" -gt 1
'

test_expect_success 'cancel ends every task on every host, no process left' '
    id=$(submit --range 0-199 -- "$TRASH/nap" 60) &&
    end=$(($(date +%s) + 20)) &&
    until test "$(netns_count_named 1 nap)" -gt 0 && test "$(netns_count_named 2 nap)" -gt 0 &&
          test "$(netns_count_named 3 nap)" -gt 0; do
        test "$(date +%s)" -lt "$end" || exit 1
        sleep 0.2
    done &&
    for i in 1 2 3; do echo "host $i runs $(netns_count_named $i nap) tasks"; done &&
    netns_exec 1 "$SHOAL" cancel "$id" &&
    test_within 15 netns_wait_none_named nap 12 1 2 3 &&
    netns_exec 1 "$SHOAL" job "$id" | grep cancelled
'

test_expect_success 'daemons stop and nothing runs after them' '
    for i in 1 2 3; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2 3
'

test_done
