#!/bin/sh
# SPDX-License-Identifier: MIT
# Faults of jobs whose checkpoints live on the nodes' own disks
# (--checkpoint --replicas 1), on three hosts without a shared state
# directory: a rank that never commits keeps the job at no version, and the
# restart says so; a version damaged on every node that holds it is never
# restored: the one before it is, and the user is told which and why; an
# MPICH-built program restarts from the copies as shoal's MPI does.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/pool.sh"
. "$SHOAL_SRCDIR/tests/integration/restart.sh"

COUNT="$SHOAL_SRCDIR/tests/fixtures/ckpt-count.sh"
# The pool's cores: 2 + 4 + 3.
ALL=9

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_free $i $ALL 20 || exit 1; done
'

# never.sh: rank 0 commits a version every 0.2 s, rank 1 never does; on
# the first run rank 1 fails after 2 s, on the next both finish.
cat >never.sh <<\EOF
#!/bin/sh
if [ "$SHOAL_RANK" = 1 ]; then
    sleep 2
    [ "${SHOAL_RESTART_COUNT:-0}" = 0 ] && exit 3
    echo "rank 1 done, restart $SHOAL_RESTART_COUNT version ${SHOAL_CKPT_VERSION:-none}"
    exit 0
fi
i=0
while [ $i -lt 10 ]; do
    i=$((i + 1))
    mkdir -p "$SHOAL_CKPT_DIR/v$i" && : >"$SHOAL_CKPT_DIR/v$i/COMMITTED"
    sleep 0.2
done
echo "rank 0 done, restart $SHOAL_RESTART_COUNT version ${SHOAL_CKPT_VERSION:-none}"
EOF
chmod +x never.sh

test_expect_success 'a rank that never commits: no version, the restart starts afresh and says why' '
    netns_exec 1 "$SHOAL" run -n 2 --map-by node --checkpoint=1 --replicas 1 \
        --max-restarts 1 ./never.sh >never.out 2>never.err &&
    cat never.err never.out &&
    grep "^shoal: restarting from the beginning (no version that every rank committed and had copied is left) (restart 1 of 1)" never.err &&
    grep -x "rank 0 done, restart 1 version none" never.out &&
    grep -x "rank 1 done, restart 1 version none" never.out
'

# damage_all KEY RANK VERSION: change the count of RANK's VERSION on every
# host that holds it (originals and copies), as a failing disk might; its
# MANIFEST no longer matches.
damage_all() {
    n=0
    for i in 1 2 3; do
        for f in $(netns_exec $i sh -c "ls \"\$SHOAL_DIR\"/ckpt-jobs/$1/run*/rank$2/v$3/count \"\$SHOAL_DIR\"/ckpt/$1/rank$2/v$3/count 2>/dev/null"); do
            netns_exec $i sh -c "echo 999 >$f" && n=$((n + 1)) &&
                echo "damaged $f on host $i"
        done
    done
    test $n -ge 2
}

# job_key: the key of the running ckpt-count job, from a rank's
# SHOAL_CKPT_DIR (STATE/ckpt-jobs/KEY/runK/rankR).
job_key() {
    local key
    for i in 1 2 3; do
        for p in $(netns_pids $i); do
            grep -q ckpt-count "/proc/$p/cmdline" 2>/dev/null || continue
            key=$(tr "\0" "\n" <"/proc/$p/environ" 2>/dev/null |
                sed -n "s|^SHOAL_CKPT_DIR=.*/ckpt-jobs/\([^/]*\)/.*|\1|p")
            [ -n "$key" ] && echo "$key" && return 0
        done
    done
    return 1
}

test_expect_success 'a version damaged on every holder: the one before is restored, and the user is told' '
    mkdir damaged && cd damaged &&
    netns_bg 1 env CKPT_COUNT_MANIFEST=1 sh -c "\"$SHOAL\" run -n 2 --map-by node --checkpoint=1 --replicas 1 --max-restarts 2 \"$COUNT\" 30 >first.out 2>first.err; echo \$? >first.rc" &&
    sh_pid=$netns_bg_pid &&
    for _ in $(seq 150); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 20 ] && break; sleep 0.1
    done &&
    key=$(job_key) &&
    echo "the job is $key" && test -n "$key" &&
    for _ in $(seq 100); do
        v=$(netns_exec 1 "$SHOAL" ckpt ls --json "$key" |
            "$NETNS_PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"version\"])") &&
            [ "$v" -ge 3 ] && break
        sleep 0.1
    done &&
    run_pid=$(ps -o pid= --ppid $sh_pid | tr -d " ") &&
    kill -KILL $run_pid &&
    test_within 20 wait $sh_pid &&
    netns_wait_none_named ckpt-count.sh 20 1 2 3 &&
    v=$(netns_exec 1 "$SHOAL" ckpt ls --json "$key" |
        "$NETNS_PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"version\"])") &&
    echo "the job is at version $v: rank 1 loses it everywhere" &&
    damage_all "$key" 1 "$v" &&
    test_within 90 netns_exec 1 "$SHOAL" run --resume "$key" >out 2>err &&
    cat err out &&
    grep "^shoal: resuming job $key from checkpoint version $v (run 1)" err &&
    grep "version $v of rank 1 is lost with nodes .*: .*its copy is corrupt" err &&
    grep "^shoal: restarting from checkpoint version [1-9][0-9]* (restart 1 of 2)" err &&
    w=$(sed -n "s/^shoal: restarting from checkpoint version \([0-9]*\).*/\1/p" err) &&
    echo "restarted from version $w" &&
    test "$w" -lt "$v" &&
    grep -x "rank 1 resumes after step $w" out &&
    ! grep "resumes after step 999" out &&
    test "$(grep -c "counted to 30" out)" = 2
'

if test -n "$MPICC_MPICH"; then
    test_expect_success 'an MPICH-built MPI job with --replicas loses a host: resumed from the copies, same answer' '
        # in the sanitized build: what MPICH leaves allocated at exit is
        # not ours to free
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" &&
        solver_build "$MPICC_MPICH" "$TRASH/ckpt_solver.mpich" &&
        solver_loses_a_host "$TRASH/ckpt_solver.mpich" mpich 2 --replicas 1
    '
else
    test_skip 'an MPICH-built MPI job with --replicas loses a host: resumed from the copies, same answer' \
        'no MPICH mpicc'
fi

test_expect_success 'the daemons left stop and nothing runs after them' '
    left= && victims=$(cat "$TRASH"/victim.* 2>/dev/null) &&
    for i in 1 2 3; do
        echo " $victims " | tr "\n" " " | grep -q " $i " && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
