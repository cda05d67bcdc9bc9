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

. "$SHOAL_SRCDIR/tests/integration/taskpool.sh"

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
