#!/bin/sh
# SPDX-License-Identifier: MIT
# A gang job outlives a host: with --checkpoint, the loss of a host that
# runs one of its ranks (daemon, proxy and rank killed at once, as a
# machine that goes away) restarts the job on the hosts that are left,
# from the newest version every rank committed, and it finishes with the
# right answer; `shoal run` stays attached and says what happened.
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

test_expect_success 'a host lost mid-job: the job restarts on the others from its checkpoint' '
    rm -f steps.* &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n 4 --map-by node --checkpoint=1 --checkpoint-dir \"$TRASH/ck\" \"$COUNT\" 40 >lost.out 2>lost.err; echo \$? >lost.rc" &&
    p=$netns_bg_pid &&
    for _ in $(seq 100); do
        [ "$(cat steps.* 2>/dev/null | wc -l)" -ge 40 ] && break; sleep 0.1
    done &&
    victim=$(rank_host 2) &&
    test "$victim" != 1 &&
    echo "$victim" >"$TRASH/victim.script" &&
    echo "rank 2 runs on host $victim; it goes" &&
    netns_kill_all "$(netns_name $victim)" &&
    test_within 60 wait $p &&
    cat lost.err && cat lost.out &&
    test "$(cat lost.rc)" = 0 &&
    grep "node .$(netns_name $victim). was lost" lost.err &&
    grep "shoal: restarting from checkpoint version [1-9][0-9]* (restart 1 of 3)" lost.err &&
    test "$(grep -c "counted to 40" lost.out)" = 4 &&
    test "$(grep -c "resumes after step" lost.out)" = 4 &&
    ! test -e "$TRASH/ck/"* &&
    for r in 0 1 2 3; do
        # work lost: steps done twice, at most the steps of a few seconds
        again=$(($(wc -l <steps.$r) - 40)) &&
        echo "rank $r did $again steps again" &&
        test "$again" -le 15 || exit 1
    done
'

SOLVER="$TRASH/ckpt_solver"

test_expect_success 'the solver with shoal MPI builds' '
    solver_build "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" "$SOLVER"
'

test_expect_success 'an MPI job (shoal MPI) that loses a host restarts on the others, same answer' '
    solver_loses_a_host "$SOLVER" shim 4 --checkpoint-dir ck
'

if test -n "$MPICC_MPICH"; then
    test_expect_success 'an MPICH-built MPI job that loses a host restarts, same answer' '
        # in the sanitized build: what MPICH leaves allocated at exit is
        # not ours to free
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" &&
        solver_build "$MPICC_MPICH" "$SOLVER.mpich" &&
        solver_loses_a_host "$SOLVER.mpich" mpich 2 --checkpoint-dir ck
    '
else
    test_skip 'an MPICH-built MPI job that loses a host restarts, same answer' \
        'no MPICH mpicc'
fi

test_expect_success 'the surviving daemons stop and nothing runs after them' '
    left= && victims=$(cat "$TRASH"/victim.*) &&
    for i in 1 2 3 4; do
        echo " $victims " | tr "\n" " " | grep -q " $i " && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
