#!/bin/sh
# SPDX-License-Identifier: MIT
# Bag-of-tasks jobs on one node: submit, wait, results, output, cancel,
# retries, a home service killed mid-job, and bad submissions.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

export SHOAL_DIR="$TRASH/node"
# a service the test forgot would not outlive it by much
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

# state_count ID STATE: tasks of job ID in STATE, from `shoal results --csv`
state_count() {
    "$SHOAL" results "$1" --csv | awk -F, -v s="$2" 'NR > 1 && $3 == s' |
        wc -l
}

test_expect_success 'submit prints a job id and starts the service' '
    id=$("$SHOAL" submit --name small --range 1-3 -- echo task {}) &&
    test "$id" = 1 &&
    test -S "$SHOAL_DIR/control.sock" &&
    "$SHOAL" wait 1 >wait.out &&
    grep "job 1 done: 3 done, 0 failed" wait.out &&
    "$SHOAL" output 1 2 >out &&
    echo "task 3" >expect && test_cmp expect out
'

test_expect_success 'shoal run and status work beside the task service' '
    test -S "$SHOAL_DIR/control.sock" &&
    "$SHOAL" run -n 2 echo hi >run.out 2>run.err &&
    cat run.err &&
    printf "hi\nhi\n" >expect && test_cmp expect run.out &&
    "$SHOAL" status >st.out &&
    cat st.out &&
    grep "no daemon runs in .*: the task service runs alone there (pid [0-9]*)" st.out &&
    "$SHOAL" status --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
assert s[\"service\"] == \"tasks\" and s[\"members\"] == [], s
"
'

test_expect_success '2,000 tasks each write one line; each has one result' '
    mkdir -p lines &&
    id=$("$SHOAL" submit --range 0-1999 -- sh -c "echo result {} \$SHOAL_TASK_ID") &&
    test_within 600 "$SHOAL" wait "$id" >wait.out &&
    test "$(state_count "$id" done)" = 2000 &&
    "$SHOAL" results "$id" --csv | awk -F, "NR > 1 { print \$1 }" | sort -n |
        uniq -c | awk "\$1 != 1" >dups && test ! -s dups &&
    "$SHOAL" results "$id" --csv | awk -F, "NR > 1 { print \$9 }" >paths &&
    test "$(wc -l <paths)" = 2000 &&
    for i in 0 1 999 1999; do
        echo "result $i $i" >expect &&
        test_cmp expect "$SHOAL_DIR/jobs/$id/task.$i/stdout" || exit 1
    done &&
    cat $(cat paths) | sort -u | wc -l >n && test "$(cat n)" = 2000
'

test_expect_success 'results come as JSON and CSV with every field' '
    "$SHOAL" results 1 --json >r.json &&
    python3 -c "
import json, sys
r = json.load(open(\"r.json\"))
assert len(r) == 3, r
t = r[2]
for k in (\"task\", \"params\", \"state\", \"node\", \"start\", \"end\",
          \"status\", \"attempts\", \"stdout\", \"stderr\"):
    assert k in t, k
assert t[\"params\"] == {\"\": \"3\"} and t[\"status\"] == 0, t
assert t[\"end\"] >= t[\"start\"] > 0, t
# a 64-bit node id is a string, the same as in the CSV
assert isinstance(t[\"node\"], str) and len(t[\"node\"]) == 16, t
int(t[\"node\"], 16)
print(t[\"node\"])
" >json-node &&
    "$SHOAL" results 1 --csv | tail -1 | cut -d, -f4 >csv-node &&
    test_cmp csv-node json-node &&
    "$SHOAL" results 1 --csv | head -1 >head &&
    echo "task,params,state,node,start,end,status,attempts,stdout,stderr" >expect &&
    test_cmp expect head
'

test_expect_success 'a failing task is retried and then succeeds' '
    id=$("$SHOAL" submit --retries 2 --range 1-4 -- sh -c \
        "echo try \$SHOAL_TASK_ATTEMPT >&2; test \$SHOAL_TASK_ATTEMPT -ge 3") &&
    "$SHOAL" wait "$id" &&
    test "$(state_count "$id" done)" = 4 &&
    "$SHOAL" results "$id" --csv | awk -F, "NR > 1 && \$8 != 3" >bad &&
    test ! -s bad
'

test_expect_success 'a task leaves counters in SHOAL_TASK_DIR, its last attempt'"'"'s only' '
    id=$("$SHOAL" submit --retries 1 --range 0-1 -- sh -c \
        "echo ev\$SHOAL_TASK_ATTEMPT {} >>\"\$SHOAL_TASK_DIR/counters\";
         test {} = 1 || test \$SHOAL_TASK_ATTEMPT = 2") &&
    "$SHOAL" wait "$id" &&
    "$SHOAL" output "$id" 0 --counters c0 >/dev/null &&
    echo "ev2 0" >expect && test_cmp expect c0 &&
    "$SHOAL" output "$id" 1 --counters c1 >/dev/null &&
    echo "ev1 1" >expect && test_cmp expect c1 &&
    test_expect_code 1 "$SHOAL" output "$id" 1 --counters c1 2>err &&
    grep "cannot write the counters of task 1 to .c1." err &&
    "$SHOAL" output 1 0 --counters none >/dev/null &&
    test ! -e none &&
    test_expect_code 2 "$SHOAL" output "$id" 0 --counters 2>err &&
    grep "needs a file" err
'

test_expect_success 'a task failing every attempt is failed with its stderr' '
    id=$("$SHOAL" submit --retries 1 --param n=1,2 -- sh -c \
        "echo broken {n} \$SHOAL_TASK_ATTEMPT >&2; exit 5") &&
    test_expect_code 1 "$SHOAL" wait "$id" >wait.out &&
    grep "failed: 0 done, 2 failed" wait.out &&
    test "$(state_count "$id" failed)" = 2 &&
    "$SHOAL" results "$id" --json >r.json &&
    python3 -c "
import json
for t in json.load(open(\"r.json\")):
    assert t[\"status\"] == 5 and t[\"attempts\"] == 2, t
    assert t[\"stderr_tail\"] == \"broken %s 2\\n\" % t[\"params\"][\"n\"], t
" &&
    "$SHOAL" output "$id" 1 2>err &&
    echo "broken 2 2" >expect && test_cmp expect err
'

test_expect_success 'a time limit ends a task and fails it' '
    id=$("$SHOAL" submit --time-limit 0.5 --range 1-1 -- sleep 30) &&
    test_within 10 test_expect_code 1 "$SHOAL" wait "$id" &&
    "$SHOAL" results "$id" --json | grep "\"reason\": *\"time limit\""
'

test_expect_success 'cancel stops every task and leaves no process' '
    id=$("$SHOAL" submit --range 1-50 -- sh -c "sleep 1017; :") &&
    for _ in $(seq 100); do
        pgrep -f "sleep 1017" >/dev/null && break; sleep 0.1
    done &&
    pgrep -f "sleep 1017" >/dev/null &&
    "$SHOAL" cancel "$id" >out &&
    grep "job $id cancelled (50 tasks)" out &&
    test_within 10 test_expect_code 1 "$SHOAL" wait "$id" >wait.out &&
    grep "cancelled" wait.out &&
    no_strays "sleep 1017" &&
    "$SHOAL" jobs | grep "^$id .*cancelled"
'

test_expect_success 'a home service killed mid-job resumes it, nothing lost' '
    id=$("$SHOAL" submit --range 1-200 -- sh -c "sleep 0.05; echo line {}") &&
    for _ in $(seq 200); do
        n=$("$SHOAL" job "$id" | awk "\$1 == \"done\" { print \$2 }")
        test "$n" -ge 20 && break; sleep 0.1
    done &&
    test "$n" -ge 20 &&
    kill -9 "$(cat "$SHOAL_DIR/taskd.pid")" &&
    sleep 0.2 &&
    test_within 300 "$SHOAL" wait "$id" >wait.out &&
    grep "done: 200 done, 0 failed" wait.out &&
    for i in $(seq 0 199); do
        echo "line $((i + 1))" >expect &&
        test_cmp expect "$SHOAL_DIR/jobs/$id/task.$i/stdout" || exit 1
    done &&
    no_strays "echo line"
'

test_expect_success 'bad submissions say what is wrong and exit 2' '
    test_expect_code 2 "$SHOAL" submit --range 5-1 -- true 2>err &&
    grep "shoal: empty range .5-1.: 5 is after 1" err &&
    test_expect_code 2 "$SHOAL" submit --range 1-5 true 2>err &&
    grep "shoal: missing .--. before the command .true." err &&
    test_expect_code 2 "$SHOAL" submit --range 1-5 2>err &&
    grep "shoal: missing .--. and a command" err &&
    test_expect_code 2 "$SHOAL" submit --frobnicate -- true 2>err &&
    grep "shoal: unknown option .--frobnicate." err &&
    test_expect_code 2 "$SHOAL" submit --each-line /nonexistent/x -- true 2>err &&
    grep "shoal: cannot read ./nonexistent/x.: No such file or directory" err &&
    test_expect_code 2 "$SHOAL" submit --range 1-2 -- echo {x} 2>err &&
    grep "shoal: unknown placeholder .{x}. in argument 1" err &&
    test_expect_code 2 "$SHOAL" submit -- true 2>err &&
    grep "shoal: no tasks: give --range, --each-line or --param" err &&
    test_expect_code 2 "$SHOAL" submit --range 1-2 -- 2>err &&
    grep "no command after .--." err &&
    test_expect_code 2 "$SHOAL" submit --cores 0 --range 1-2 -- true 2>err &&
    grep "invalid --cores .0." err &&
    test_expect_code 2 "$SHOAL" wait abc 2>err &&
    grep "invalid job id .abc." err &&
    test_expect_code 1 "$SHOAL" wait 999 2>err &&
    grep "shoal: no such job" err
'

test_expect_success 'a job no node could ever hold is refused, naming the largest' '
    test_expect_code 1 "$SHOAL" submit --cores 99 --range 1-1 -- true 2>err &&
    cat err &&
    grep "shoal: no node of the pool has 99 cores for a task: the largest, .this node., has [0-9]*$" err
'

test_expect_success 'a job waiting for cores says why, as squeue does' '
    n=$("$SHOAL" submit --cores 999 --range 1-1 -- true 2>&1 |
        sed -n "s/.*has \([0-9]*\)$/\1/p") &&
    test -n "$n" &&
    a=$("$SHOAL" submit --cores "$n" --range 1-1 -- sleep 30) &&
    for _ in $(seq 100); do
        "$SHOAL" job "$a" | grep -q "^running *1$" && break
        sleep 0.1
    done &&
    b=$("$SHOAL" submit --cores "$n" --range 1-2 -- true) &&
    "$SHOAL" job "$b" >job.out &&
    cat job.out &&
    grep "^reason *Resources: each task needs $n free cores on one node; the most free now is 0$" job.out &&
    "$SHOAL" jobs >jobs.out &&
    grep "^ *(Resources: each task needs $n free cores" jobs.out &&
    "$SHOAL" job "$a" >job.a &&
    ! grep "^reason" job.a &&
    "$SHOAL" cancel "$a" &&
    test_within 20 "$SHOAL" wait "$b" >/dev/null
'

# A node is granted a few more tasks than it has cores (prefetch): those
# wait there, leased, and are not counted as running.
test_expect_success 'tasks leased but not started are not shown as running' '
    n=$("$SHOAL" submit --cores 999 --range 1-1 -- true 2>&1 |
        sed -n "s/.*has \([0-9]*\)$/\1/p") &&
    id=$("$SHOAL" submit --range 1-$((n * 4)) -- sleep 1025) &&
    for _ in $(seq 100); do
        "$SHOAL" job "$id" | grep -q "^leased *[1-9]" && break
        sleep 0.1
    done &&
    "$SHOAL" job "$id" >job.out &&
    cat job.out &&
    grep "^running *$n$" job.out &&
    leased=$(sed -n "s/^leased *//p" job.out) &&
    test "$leased" -ge 1 &&
    queued=$(sed -n "s/^queued *//p" job.out) &&
    test $((n + leased + queued)) = $((n * 4)) &&
    test "$(state_count "$id" running)" = "$n" &&
    test "$(state_count "$id" leased)" = "$leased" &&
    "$SHOAL" jobs >jobs.out &&
    grep "^ID .* RUNNING *LEASED *QUEUED" jobs.out &&
    grep "^$id .* $n *$leased *$queued *0$" jobs.out &&
    "$SHOAL" cancel "$id" &&
    test_within 20 test_expect_code 1 "$SHOAL" wait "$id" >/dev/null &&
    no_strays "sleep 1025"
'

TICK="$SHOAL_SRCDIR/tests/fixtures/ckpt-tick.sh"

test_expect_success 'a checkpointing task run again resumes from its newest version' '
    id=$("$SHOAL" submit --checkpoint --checkpoint-dir ck --retries 1 \
        --range 1-3 -- "$TICK" 6 2 3) &&
    test_within 30 "$SHOAL" wait "$id" >/dev/null &&
    "$SHOAL" output "$id" 2 >out2 &&
    printf "resumed after 3\ncounted to 6\n" >expect &&
    test_cmp expect out2 &&
    "$SHOAL" output "$id" 1 >out1 &&
    echo "counted to 6" >expect1 &&
    test_cmp expect1 out1 &&
    # the job is done: its checkpoints went with it
    ! test -e ck
'

test_expect_success 'a program that cannot run fails its tasks, named' '
    id=$("$SHOAL" submit --range 1-2 -- ./no-such-program) &&
    test_expect_code 1 "$SHOAL" wait "$id" &&
    "$SHOAL" results "$id" --json | grep "no-such-program" &&
    "$SHOAL" results "$id" --csv >res.csv &&
    cat res.csv &&
    test "$(tail -n +2 res.csv | cut -d, -f7 | sort -u)" = 127 &&
    test_expect_code 1 "$SHOAL" output "$id" 1 2>err &&
    cat err &&
    grep "shoal: task 1 of job $id failed without output: .*no-such-program" err
'

test_expect_success 'a program that is not executable fails with status 126' '
    printf "#!/bin/sh\necho hi\n" >not-exec && chmod 644 not-exec &&
    id=$("$SHOAL" submit --range 1-1 -- ./not-exec) &&
    test_expect_code 1 "$SHOAL" wait "$id" &&
    "$SHOAL" results "$id" --csv >res.csv &&
    cat res.csv &&
    test "$(tail -n +2 res.csv | cut -d, -f7)" = 126
'

test_expect_success 'the node daemon serves the same commands' '
    stop_service &&
    export SHOAL_DIR="$TRASH/daemon" &&
    mkdir -p "$SHOAL_DIR" &&
    "$SHOAL" keygen -o "$SHOAL_DIR/pool.key" &&
    port=$((20000 + $$ % 20000)) &&
    "$SHOAL" daemon start --listen 127.0.0.1:$port >/dev/null &&
    id=$("$SHOAL" submit --range 1-100 -- sh -c "echo via daemon {}") &&
    test ! -e "$SHOAL_DIR/taskd.pid" &&
    "$SHOAL" wait "$id" >wait.out &&
    grep "done: 100 done" wait.out &&
    "$SHOAL" output "$id" 99 >out &&
    echo "via daemon 100" >expect && test_cmp expect out &&
    id=$("$SHOAL" submit --range 1-20 -- sleep 1023) &&
    for _ in $(seq 50); do
        pgrep -f "sleep 1023" >/dev/null && break; sleep 0.1
    done &&
    test_within 20 "$SHOAL" daemon stop &&
    no_strays "sleep 1023"
'

test_expect_success 'a damaged journal is refused at once, named, and left as it is' '
    export SHOAL_DIR="$TRASH/damaged" &&
    mkdir -p "$SHOAL_DIR" &&
    head -c 8192 /dev/urandom >"$SHOAL_DIR/jobs.db" &&
    cp "$SHOAL_DIR/jobs.db" jobs.db.copy &&
    test_within 3 test_expect_code 1 "$SHOAL" submit --range 1-2 -- true 2>err &&
    cat err &&
    grep "shoal: the task service in .* could not start: journal .$SHOAL_DIR/jobs.db. is damaged (SQLite: file is not a database); it is left as it is: move it aside" err &&
    test_within 3 test_expect_code 1 "$SHOAL" wait 1 2>err &&
    grep "could not start: journal .* is damaged" err &&
    cmp "$SHOAL_DIR/jobs.db" jobs.db.copy &&
    test ! -e "$SHOAL_DIR/taskd.pid"
'

test_expect_success 'a new journal numbers its jobs above the output it finds' '
    export SHOAL_DIR="$TRASH/renumber" &&
    mkdir -p "$SHOAL_DIR/jobs/7/task.0" "$SHOAL_DIR/jobs/12" &&
    id=$("$SHOAL" submit --range 1-1 -- true) &&
    test "$id" = 13 &&
    "$SHOAL" wait "$id" >/dev/null &&
    stop_service
'

# wait_into ID: shoal wait ID, its output in wait.out, wait.err, wait.rc
wait_into() {
    rc=0
    "$SHOAL" wait "$1" >wait.out 2>wait.err || rc=$?
    echo $rc >wait.rc
}

test_expect_success 'a killed daemon is waited for, never replaced by a task service' '
    export SHOAL_DIR="$TRASH/daemon2" &&
    mkdir -p "$SHOAL_DIR" &&
    "$SHOAL" keygen -o "$SHOAL_DIR/pool.key" &&
    port=$((20000 + ($$ + 1) % 20000)) &&
    "$SHOAL" daemon start --listen 127.0.0.1:$port >/dev/null &&
    id=$("$SHOAL" submit --range 1-4 -- sleep 2) &&
    test_bg wait_into "$id" && waiter=$bg_pid &&
    sleep 0.5 &&
    kill -KILL "$(cat "$SHOAL_DIR/daemon.pid")" &&
    sleep 1 &&
    test_expect_code 1 "$SHOAL" jobs 2>err &&
    cat err &&
    grep "the daemon of .* does not answer (it left daemon.pid): start it again" err &&
    test ! -e "$SHOAL_DIR/taskd.pid" &&
    "$SHOAL" daemon start --listen 127.0.0.1:$port >/dev/null &&
    test_within 90 wait $waiter &&
    cat wait.out wait.err &&
    test "$(cat wait.rc)" = 0 &&
    grep "job $id done: 4 done" wait.out &&
    test ! -e "$SHOAL_DIR/taskd.pid" &&
    test_within 20 "$SHOAL" daemon stop
'

test_done
