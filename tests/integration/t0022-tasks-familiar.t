#!/bin/sh
# SPDX-License-Identifier: MIT
# What Slurm, HyperQueue and HTCondor users expect of bag-of-tasks jobs, on
# one node (the task service): array steps and lists, JSON listings, job
# names and state filters, results of failed tasks alone.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

export SHOAL_DIR="$TRASH/node"
export SHOAL_TASKD_IDLE_EXIT=20
export SHOAL_TASK_KILL_GRACE=1

stop_service() {
    [ -f "$SHOAL_DIR/taskd.pid" ] || return 0
    pid=$(cat "$SHOAL_DIR/taskd.pid")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
}
test_atexit stop_service

# values ID: "index value" of every task of job ID, from its stdout
values() {
    n=$("$SHOAL" results "$1" --csv | awk "NR > 1" | wc -l)
    i=0
    while [ "$i" -lt "$n" ]; do
        "$SHOAL" output "$1" "$i" || return 1
        i=$((i + 1))
    done
}

test_expect_success 'a range with a step gives every S-th value, {#} its index' '
    id=$("$SHOAL" submit --name steps --range 1-10:3 -- echo "{#}" "{}") &&
    "$SHOAL" wait "$id" >/dev/null &&
    values "$id" >out &&
    printf "0 1\n1 4\n2 7\n3 10\n" >expect &&
    test_cmp expect out
'

test_expect_success 'a range list gives its values in the order written' '
    id=$("$SHOAL" submit --range 1,4,9-12,20-24:2 -- echo "{#}" "{}") &&
    "$SHOAL" wait "$id" >/dev/null &&
    values "$id" >out &&
    printf "0 1\n1 4\n2 9\n3 10\n4 11\n5 12\n6 20\n7 22\n8 24\n" >expect &&
    test_cmp expect out
'

test_expect_success 'bad ranges are refused, saying what is wrong' '
    test_expect_code 2 "$SHOAL" submit --range 1-10:0 -- true 2>err &&
    grep -F "invalid range '"'"'1-10:0'"'"': the step must be at least 1" err &&
    test_expect_code 2 "$SHOAL" submit --range 1-10:x -- true 2>err &&
    grep -F "invalid range '"'"'1-10:x'"'"': expected A-B, A-B:STEP or a list such as 1,4,9-12" err &&
    test_expect_code 2 "$SHOAL" submit --range 1,,3 -- true 2>err &&
    grep -F "invalid range '"'"'1,,3'"'"'" err &&
    test_expect_code 2 "$SHOAL" submit --range 3,9-4 -- true 2>err &&
    grep -F "empty range '"'"'9-4'"'"': 9 is after 4" err
'

test_expect_success 'a job with failures, named' '
    id=$("$SHOAL" submit --name flaky --range 1-6 -- \
        sh -c "test \$(({} % 3)) -ne 0 || { echo no {} >&2; exit 3; }") &&
    echo "$id" >flaky.id &&
    test_expect_code 1 "$SHOAL" wait "$id" >/dev/null
'

test_expect_success 'results --failed shows only the failed tasks' '
    id=$(cat flaky.id) &&
    "$SHOAL" results "$id" --failed --csv >f.csv &&
    awk -F, "NR > 1 { print \$1, \$2, \$3, \$7 }" f.csv >out &&
    printf "2 3 failed 3\n5 6 failed 3\n" >expect &&
    test_cmp expect out &&
    "$SHOAL" results "$id" --failed --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
assert [t[\"task\"] for t in r] == [2, 5], r
assert all(t[\"state\"] == \"failed\" for t in r), r
" &&
    "$SHOAL" results "$id" --failed >table &&
    test "$(wc -l <table)" = 3 &&
    "$SHOAL" results 1 --failed --csv >none.csv &&
    test "$(wc -l <none.csv)" = 1
'

# the keys README.md documents for `jobs --json` and `job ID --json`
JOB_KEYS="id name state ntasks queued leased running done failed cancelled
stale_reports cores retries submitted finished user reason after"

test_expect_success 'jobs --json parses and every job has the documented keys' '
    "$SHOAL" jobs --json >jobs.json &&
    JOB_KEYS="$JOB_KEYS" python3 -c "
import json, os
jobs = json.load(open(\"jobs.json\"))
assert len(jobs) == 3, jobs
for j in jobs:
    for k in os.environ[\"JOB_KEYS\"].split():
        assert k in j, (k, j)
assert [j[\"id\"] for j in jobs] == [1, 2, 3], jobs
assert jobs[0][\"name\"] == \"steps\" and jobs[1][\"name\"] is None, jobs
assert jobs[2][\"state\"] == \"failed\" and jobs[2][\"failed\"] == 2, jobs[2]
assert jobs[0][\"state\"] == \"done\" and jobs[0][\"done\"] == 4, jobs[0]
"
'

test_expect_success 'job ID --json parses and has the documented keys' '
    "$SHOAL" job "$(cat flaky.id)" --json >job.json &&
    JOB_KEYS="$JOB_KEYS argv wdir time_limit" python3 -c "
import json, os
j = json.load(open(\"job.json\"))
for k in os.environ[\"JOB_KEYS\"].split():
    assert k in j, (k, j)
assert j[\"name\"] == \"flaky\" and j[\"argv\"][0] == \"sh\", j
assert j[\"ntasks\"] == 6 and j[\"done\"] == 4 and j[\"failed\"] == 2, j
" &&
    test_expect_code 1 "$SHOAL" job 999 --json 2>err &&
    grep -F "no such job" err
'

test_expect_success 'jobs --name and --state keep only the matching jobs' '
    "$SHOAL" jobs --name flaky >out &&
    test "$(wc -l <out)" = 2 &&
    grep "^$(cat flaky.id) .*flaky .*failed" out &&
    "$SHOAL" jobs --state failed --json | python3 -c "
import json, sys
jobs = json.load(sys.stdin)
assert [j[\"name\"] for j in jobs] == [\"flaky\"], jobs
" &&
    "$SHOAL" jobs --state done --json | python3 -c "
import json, sys
jobs = json.load(sys.stdin)
assert [j[\"id\"] for j in jobs] == [1, 2], jobs
" &&
    "$SHOAL" jobs --name nothing >out &&
    test "$(wc -l <out)" = 1 &&
    test_expect_code 2 "$SHOAL" jobs --state queuing 2>err &&
    grep -F "invalid --state '"'"'queuing'"'"': expected running, done, failed or cancelled" err &&
    test_expect_code 2 "$SHOAL" jobs --name 2>err &&
    grep -F "option '"'"'--name'"'"' needs a value" err
'

test_expect_success 'resubmit --failed runs the failed tasks again, same index and value' '
    id=$("$SHOAL" submit --name again --range 1-4 -- \
        sh -c "test -e $TRASH/ok || test \$(({} % 2)) -eq 0 || exit 3; echo {#} {} \$SHOAL_TASK_ID") &&
    test_expect_code 1 "$SHOAL" wait "$id" >/dev/null &&
    touch "$TRASH/ok" &&
    new=$("$SHOAL" resubmit "$id" --failed) &&
    test "$new" -gt "$id" &&
    "$SHOAL" wait "$new" >wait.out &&
    grep "job $new done: 2 done, 0 failed, 0 cancelled of 2" wait.out &&
    "$SHOAL" results "$new" --csv | awk -F, "NR > 1 { print \$1, \$2, \$3 }" >out &&
    printf "0 1 done\n2 3 done\n" >expect &&
    test_cmp expect out &&
    "$SHOAL" output "$new" 2 >out &&
    echo "2 3 2" >expect && test_cmp expect out &&
    "$SHOAL" job "$new" >job.out &&
    grep "^name  *again$" job.out &&
    grep "^resubmit of  *$id$" job.out &&
    echo "$id" >again.id
'

test_expect_success 'resubmit without --failed runs every task again' '
    id=$(cat again.id) &&
    new=$("$SHOAL" resubmit "$id") &&
    "$SHOAL" wait "$new" >wait.out &&
    grep "job $new done: 4 done, 0 failed, 0 cancelled of 4" wait.out &&
    test_expect_code 1 "$SHOAL" resubmit "$new" --failed 2>err &&
    grep -F "shoal: job $new has no failed tasks to run again" err
'

test_expect_success 'resubmit refuses a running job and one that does not exist' '
    id=$("$SHOAL" submit --range 1-1 -- sleep 30) &&
    test_expect_code 1 "$SHOAL" resubmit "$id" 2>err &&
    grep -F "shoal: job $id is still running: wait for it to end ('"'"'shoal wait $id'"'"') or cancel it" err &&
    "$SHOAL" cancel "$id" >/dev/null &&
    test_expect_code 1 "$SHOAL" resubmit 999 2>err &&
    grep -F "shoal: no job 999" err &&
    test_expect_code 2 "$SHOAL" resubmit x 2>err &&
    grep -F "invalid job id '"'"'x'"'"'" err &&
    test_expect_code 2 "$SHOAL" resubmit 1 --frob 2>err &&
    grep -F "unknown option '"'"'--frob'"'"'" err
'

test_expect_success '--after: a job waits until the jobs it names are done' '
    rm -f "$TRASH/a.done" &&
    a=$("$SHOAL" submit --range 1-2 -- sh -c "sleep 2; touch $TRASH/a.done") &&
    b=$("$SHOAL" submit --after "$a" --range 1-3 -- \
        sh -c "test -e $TRASH/a.done") &&
    "$SHOAL" job "$b" >job.out &&
    grep "^after  *$a$" job.out &&
    grep "^reason  *Dependency: runs once job $a ended done$" job.out &&
    "$SHOAL" jobs --json | python3 -c "
import json, sys
b = [j for j in json.load(sys.stdin) if j[\"id\"] == $b][0]
assert b[\"after\"] == [$a] and b[\"state\"] == \"running\", b
assert b[\"queued\"] == 3 and b[\"running\"] == 0, b
" &&
    test_within 30 "$SHOAL" wait "$b" >wait.out &&
    grep "job $b done: 3 done" wait.out
'

test_expect_success '--after a failed or cancelled job fails it at once, with the reason' '
    bad=$("$SHOAL" submit --range 1-1 -- false) &&
    test_expect_code 1 "$SHOAL" wait "$bad" >/dev/null &&
    d=$("$SHOAL" submit --after "$bad" --range 1-2 -- true) &&
    e=$("$SHOAL" submit --after "$d" --range 1-2 -- true) &&
    test_within 5 test_expect_code 1 "$SHOAL" wait "$e" >wait.out &&
    grep "job $e failed: 0 done, 0 failed, 2 cancelled of 2" wait.out &&
    "$SHOAL" job "$d" >job.out &&
    grep "^state  *failed$" job.out &&
    grep "^reason  *dependency $bad failed$" job.out &&
    "$SHOAL" job "$e" --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert j[\"reason\"] == \"dependency $d failed\", j
" &&
    test_expect_code 1 "$SHOAL" resubmit "$d" --failed 2>err &&
    grep -F "shoal: job $d has no failed tasks to run again (2 were cancelled: '"'"'shoal resubmit $d'"'"' runs every task again)" err &&
    again=$("$SHOAL" resubmit "$d") &&
    "$SHOAL" wait "$again" >/dev/null &&
    long=$("$SHOAL" submit --range 1-1 -- sleep 30) &&
    f=$("$SHOAL" submit --after "$long,$bad" --range 1-1 -- true) &&
    "$SHOAL" job "$f" | grep "^reason  *dependency $bad failed$" &&
    g=$("$SHOAL" submit --after "$long" --range 1-1 -- true) &&
    "$SHOAL" cancel "$long" >/dev/null &&
    test_within 5 test_expect_code 1 "$SHOAL" wait "$g" >/dev/null &&
    "$SHOAL" job "$g" | grep "^reason  *dependency $long was cancelled$"
'

test_expect_success 'bad --after values are refused, naming them' '
    test_expect_code 1 "$SHOAL" submit --after 999 --range 1-1 -- true 2>err &&
    grep -F "shoal: no job 999 to run after" err &&
    next=$(( $("$SHOAL" jobs --json | python3 -c "import json,sys; print(max(j[\"id\"] for j in json.load(sys.stdin)))") + 1 )) &&
    test_expect_code 1 "$SHOAL" submit --after "$next" --range 1-1 -- true 2>err &&
    grep -F "shoal: no job $next to run after" err &&
    for v in abc 0 1, ,1 1,,2 -3; do
        test_expect_code 2 "$SHOAL" submit --after "$v" --range 1-1 -- true 2>err &&
        grep -F "invalid --after '"'"'$v'"'"': expected job ids such as 3 or 3,4" err || return 1
    done
'

test_expect_success 'a job held --after survives a restart of the task service' '
    rm -f "$TRASH/h.done" &&
    h=$("$SHOAL" submit --range 1-1 -- sh -c "sleep 2; touch $TRASH/h.done") &&
    i=$("$SHOAL" submit --after "$h" --range 1-2 -- sh -c "test -e $TRASH/h.done") &&
    kill -9 "$(cat "$SHOAL_DIR/taskd.pid")" &&
    sleep 0.5 &&
    "$SHOAL" job "$i" >job.out &&
    grep "^after  *$h$" job.out &&
    test_within 30 "$SHOAL" wait "$i" >wait.out &&
    grep "job $i done: 2 done" wait.out
'

test_expect_success '--mem limits each task; one over it fails, with the reason' '
    id=$("$SHOAL" submit --mem 256M --range 1-2 -- python3 -c \
        "bytearray(2**24 if {} == 1 else 2**29); print(\"fits\")") &&
    test_expect_code 1 "$SHOAL" wait "$id" >/dev/null &&
    "$SHOAL" output "$id" 0 >out && echo fits >expect && test_cmp expect out &&
    "$SHOAL" results "$id" --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
assert r[0][\"state\"] == \"done\" and \"reason\" not in r[0], r[0]
assert r[1][\"state\"] == \"failed\", r[1]
assert r[1][\"reason\"] == \"failed (exit status 1) under its memory limit of 256 MiB (--mem: address space)\", r[1]
assert \"MemoryError\" in r[1][\"stderr_tail\"], r[1]
" &&
    "$SHOAL" job "$id" >job.out &&
    grep "^memory/task  *256 MiB$" job.out &&
    "$SHOAL" job "$id" --json | python3 -c "
import json, sys
assert json.load(sys.stdin)[\"mem\"] == 256 << 20
" &&
    id=$("$SHOAL" submit --range 2-2 -- python3 -c "bytearray(2**29)") &&
    "$SHOAL" wait "$id" >/dev/null
'

test_expect_success 'bad --mem sizes are refused' '
    for v in abc 0 10% 512 1.5Q -1M; do
        test_expect_code 2 "$SHOAL" submit --mem "$v" --range 1-1 -- true 2>err &&
        grep -F "invalid --mem '"'"'$v'"'"': expected a size of at least 1M such as 512M or 2G" err || return 1
    done
'

test_done
