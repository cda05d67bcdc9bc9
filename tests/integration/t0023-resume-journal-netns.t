#!/bin/sh
# SPDX-License-Identifier: MIT
# A gang job run with --checkpoint --replicas outlives its `shoal run`
# and its home's daemon: the home daemon keeps the job in its journal
# (STATE/gang-jobs.db), `shoal ckpt ls KEY` shows it after the daemon
# restarted, and `shoal run --resume KEY` runs it again from its last
# version, its output coming to the new `shoal run`, even when a host that
# held a rank's original is gone too.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 4

. "$SHOAL_SRCDIR/tests/integration/pool.sh"
. "$SHOAL_SRCDIR/tests/integration/restart.sh"

COUNT="$SHOAL_SRCDIR/tests/fixtures/ckpt-count.sh"
# The pool's cores: 2 + 4 + 3 + 8.
ALL=17

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4; do wait_free $i $ALL 20 || exit 1; done
'

test_expect_success 'resume: bad input is refused with what is wrong' '
    test_expect_code 2 "$SHOAL" run --resume 2>err1 &&
    grep "resume takes the job.s key and nothing else" err1 &&
    test_expect_code 2 "$SHOAL" run --resume job-x -n 2 true 2>err2 &&
    grep "resume takes the job.s key and nothing else" err2 &&
    test_expect_code 1 netns_exec 1 "$SHOAL" run --resume job-nosuch 2>err3 &&
    cat err3 &&
    grep "cannot resume job .job-nosuch.: no job .job-nosuch. in the journal of node" err3 &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls job-nosuch 2>err4 &&
    grep "neither a directory nor a job: no job .job-nosuch." err4
'

# job_key: the key of the running ckpt-count job, from a rank's
# SHOAL_CKPT_DIR (STATE/ckpt-jobs/KEY/runK/rankR).
job_key() {
    local key
    for i in 1 2 3 4; do
        for p in $(netns_pids $i); do
            grep -q ckpt-count "/proc/$p/cmdline" 2>/dev/null || continue
            key=$(tr "\0" "\n" <"/proc/$p/environ" 2>/dev/null |
                sed -n "s|^SHOAL_CKPT_DIR=.*/ckpt-jobs/\([^/]*\)/.*|\1|p")
            [ -n "$key" ] && echo "$key" && return 0
        done
    done
    return 1
}

# journal_version KEY: the job's version as host 1's journal has it.
journal_version() {
    netns_exec 1 "$SHOAL" ckpt ls --json "$1" 2>/dev/null |
        "$NETNS_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["version"])'
}

test_expect_success 'shoal run dies, then the home daemon: the journal keeps the job' '
    mkdir job && cd job &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 3 --map-by node --checkpoint=1 --replicas 1 \"$COUNT\" 40 >first.out 2>first.err; echo \$? >first.rc" &&
    sh_pid=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 30 ] && break; sleep 0.1
    done &&
    key=$(job_key) && echo "the job is $key" && echo "$key" >"$TRASH/key" &&
    for _ in $(seq 100); do
        v=$(journal_version "$key") && [ "${v:-0}" -ge 2 ] && break; sleep 0.1
    done &&
    echo "the journal has version $v" && test "$v" -ge 2 &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.running &&
    cat ls.running &&
    grep "^$key (in this node.s journal)" ls.running &&
    grep "^  running, run 0" ls.running &&
    grep "placed on: .*(ranks 0).*(ranks 1).*(ranks 2)" ls.running &&
    ! grep "resume with" ls.running &&
    test_expect_code 1 netns_exec 1 "$SHOAL" run --resume "$key" 2>busy.err &&
    cat busy.err &&
    grep "cannot resume job .$key.: job .$key. is running: its shoal run holds its claim" busy.err &&
    run_pid=$(ps -o pid= --ppid $sh_pid | tr -d " ") &&
    echo "shoal run is pid $run_pid: killed" &&
    kill -KILL $run_pid &&
    test_within 20 wait $sh_pid &&
    test "$(cat first.rc)" = 137 &&
    netns_wait_none_named ckpt-count.sh 20 1 2 3 4 &&
    before=$(cat steps.* | wc -l) &&
    test_within 15 netns_exec 1 "$SHOAL" daemon stop --dir "$SHOAL_DIR" &&
    test_within 15 daemon_start 1 &&
    wait_free 1 $ALL 20 &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.gone &&
    cat ls.gone &&
    grep "^  coordinator gone, run 0, restarts used 0 (its shoal run, pid $run_pid, is gone)" ls.gone &&
    grep "^  command: shoal run -n 3 --map-by node --checkpoint=1 --replicas 1 $COUNT 40" ls.gone &&
    grep "^  restart from version [1-9][0-9]* (every rank has a committed copy of it)" ls.gone &&
    grep "^  resume with: shoal run --resume $key" ls.gone &&
    netns_exec 1 "$SHOAL" ckpt ls --journal >ls.all &&
    cat ls.all &&
    grep "^$key  *coordinator gone  *0  *[1-9][0-9]*  -n 3 --map-by node" ls.all &&
    for r in 0 1 2; do
        grep -q "^  $r  *[1-9][0-9]*  .*, " ls.gone || { echo "rank $r has no two holders"; exit 1; }
    done &&
    netns_exec 1 "$SHOAL" ckpt ls --json "$key" >ls.json &&
    "$NETNS_PYTHON" -c "
import json, sys
j = json.load(open(\"ls.json\"))
assert j[\"key\"] == \"$key\" and j[\"coordinator\"] == \"gone\", j
assert j[\"nranks\"] == 3 and j[\"replicas\"] == 1 and j[\"version\"] >= 1, j
assert len(j[\"placement\"][\"nodes\"]) == 3, j[\"placement\"]
" &&
    echo "$before" >"$TRASH/before"
'

test_expect_success 'shoal run --resume runs it again from its version, output here, from elsewhere' '
    key=$(cat "$TRASH/key") &&
    v=$(journal_version "$key") && echo "resuming from version $v" &&
    mkdir elsewhere && cd elsewhere &&
    test_within 90 netns_exec 1 "$SHOAL" run --resume "$key" >out 2>err &&
    cd .. &&
    cat elsewhere/err elsewhere/out &&
    grep "^shoal: resuming job $key from checkpoint version $v (run 1)" elsewhere/err &&
    test "$(grep -c "resumes after step $v$" elsewhere/out)" = 3 &&
    test "$(grep -c "counted to 40" elsewhere/out)" = 3 &&
    ! test -e elsewhere/steps.0 &&
    for r in 0 1 2; do
        again=$(($(wc -l <job/steps.$r) - 40)) &&
        echo "rank $r did $again steps again" &&
        test "$again" -le 25 || exit 1
    done &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls "$key" 2>gone.err &&
    grep "neither a directory nor a job: no job .$key." gone.err
'

test_expect_success 'a job that checkpoints in a shared directory is resumed as well' '
    mkdir shared && cd shared &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 2 --map-by node --checkpoint=1 --replicas 0 \"$COUNT\" 30 >first.out 2>first.err; echo \$? >first.rc" &&
    sh_pid=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 16 ] && break; sleep 0.1
    done &&
    base=$(ls -d "$PWD"/shoal-ckpt/*) && key=job-${base##*/} &&
    echo "the job is $key, in $base" &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.running &&
    cat ls.running &&
    grep "^  running, run 0" ls.running &&
    grep "^  checkpoints in $base " ls.running &&
    run_pid=$(ps -o pid= --ppid $sh_pid | tr -d " ") &&
    kill -KILL $run_pid &&
    test_within 20 wait $sh_pid &&
    netns_wait_none_named ckpt-count.sh 20 1 2 3 4 &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.gone &&
    grep "^  resume with: shoal run --resume $key" ls.gone &&
    test_within 90 netns_exec 1 "$SHOAL" run --resume "$key" >out 2>err &&
    cat err out &&
    grep "^shoal: resuming job $key from checkpoint version [1-9][0-9]* (run 1)" err &&
    v=$(sed -n "s/.*from checkpoint version \([0-9]*\).*/\1/p" err) &&
    test "$(grep -c "resumes after step $v$" out)" = 2 &&
    test "$(grep -c "counted to 30" out)" = 2 &&
    ! test -e shoal-ckpt &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls "$key" 2>gone.err
'

test_expect_success 'shoal run and a host with a rank die: the resumed job fetches that rank from its copy' '
    mkdir job2 && cd job2 &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 3 --map-by node --oversubscribe --checkpoint=1 \"$COUNT\" 30 >first.out 2>first.err; echo \$? >first.rc" &&
    sh_pid=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 24 ] && break; sleep 0.1
    done &&
    key=$(job_key) && echo "the job is $key" &&
    for _ in $(seq 100); do
        v=$(journal_version "$key") && [ "${v:-0}" -ge 2 ] && break; sleep 0.1
    done &&
    victim=$(rank_host 2) && test "$victim" != 1 &&
    echo "$victim" >"$TRASH/victim" &&
    run_pid=$(ps -o pid= --ppid $sh_pid | tr -d " ") &&
    echo "shoal run (pid $run_pid) and host $victim (rank 2) go" &&
    kill -KILL $run_pid &&
    netns_kill_all "$(netns_name $victim)" &&
    test_within 20 wait $sh_pid &&
    netns_wait_none_named ckpt-count.sh 20 $(echo 1 2 3 4 | tr " " "\n" | grep -vx "$victim") &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.lost &&
    cat ls.lost &&
    test_within 90 netns_exec 1 "$SHOAL" run --resume "$key" >out 2>err &&
    cat err out &&
    grep "^shoal: resuming job $key from checkpoint version [1-9][0-9]* (run 1)" err &&
    v=$(sed -n "s/.*from checkpoint version \([0-9]*\).*/\1/p" err) &&
    grep -x "rank 2 resumes after step $v" out &&
    test "$(grep -c "counted to 30" out)" = 3
'

test_expect_success 'a failed job stays in the journal until resumed or removed' '
    mkdir job3 && cd job3 &&
    test_expect_code 3 netns_exec 1 "$SHOAL" run -n 2 --map-by node --checkpoint=1 \
        --replicas 1 --max-restarts 0 "$COUNT" 8 1 3 >out 2>err &&
    cat err &&
    key=$(sed -n "s/.*checkpoints kept on the pool.s nodes, as job \([^ ]*\) .*/\1/p" err) &&
    echo "the job is $key" && test -n "$key" &&
    grep "shoal run --resume $key. runs the job again" err &&
    netns_exec 1 "$SHOAL" ckpt ls "$key" >ls.failed &&
    cat ls.failed &&
    grep "^  failed, run 0, restarts used 0, exit status 3" ls.failed &&
    grep "^  resume with: shoal run --resume $key" ls.failed &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt rm "job-nosuch" 2>rm.err &&
    grep "not removed: .job-nosuch. is neither a directory nor a job: no job" rm.err &&
    netns_exec 1 "$SHOAL" ckpt rm "$key" &&
    test_expect_code 1 netns_exec 1 "$SHOAL" ckpt ls "$key" 2>gone.err &&
    grep "neither a directory nor a job: no job .$key." gone.err &&
    for i in 1 2 4; do
        test_within 10 netns_exec $i sh -c "until ! ls -d \"\$SHOAL_DIR\"/ckpt-jobs/$key \"\$SHOAL_DIR\"/ckpt/$key 2>/dev/null; do sleep 0.2; done" || exit 1
    done
'

test_expect_success 'the surviving daemons stop and nothing runs after them' '
    victim=$(cat "$TRASH/victim") && left= &&
    for i in 1 2 3 4; do
        [ "$i" = "$victim" ] && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
