# SPDX-License-Identifier: MIT
# restart.sh - helpers of the tests where a job restarts from its
# checkpoints. solver_build needs lib.sh only; the others need netns.sh and
# pool.sh too ($NETNS_HOSTS is the number of hosts).

# solver_build MPICC OUT: build tests/mpi-shim/ckpt_solver.c with MPICC
# (shoal's mpicc, or MPICH's) against the build tree's libshoal. A program
# of another MPI that links libshoal takes the flags libshoal was built
# with ($SHOAL_WRAPPER_FLAGS: the sanitizers' runtime in that build).
solver_build() {
    $1 $SHOAL_WRAPPER_FLAGS -O1 -Wall -Werror -I"$SHOAL_SRCDIR/include" \
        -o "$2" "$SHOAL_SRCDIR/tests/mpi-shim/ckpt_solver.c" \
        -L"$SHOAL_BUILDDIR/.libs" -Wl,-rpath,"$SHOAL_BUILDDIR/.libs" -lshoal
}

# rank_host R: the host running rank R of tests/fixtures/ckpt-count.sh, by
# the ranks' SHOAL_RANK in their environment.
rank_host() {
    for i in $(seq "$NETNS_HOSTS"); do
        for p in $(netns_pids $i); do
            tr "\0" "\n" <"/proc/$p/environ" 2>/dev/null |
                grep -qx "SHOAL_RANK=$1" &&
                grep -q ckpt-count "/proc/$p/cmdline" 2>/dev/null &&
                echo $i && return 0
        done
    done
    return 1
}

# solver_host R: the host running rank R of tests/mpi-shim/ckpt_solver.c
solver_host() {
    for i in $(seq "$NETNS_HOSTS"); do
        for p in $(netns_pids $i); do
            grep -q ckpt_solver "/proc/$p/cmdline" 2>/dev/null &&
                tr "\0" "\n" <"/proc/$p/environ" 2>/dev/null |
                grep -qx "SHOAL_RANK=$1" && echo $i && return 0
        done
    done
    return 1
}

# solver_loses_a_host BINARY NAME N OPTION...: run the solver BINARY as N
# ranks, one per host, with checkpoints (and the given options of shoal
# run), in a directory NAME, and kill the host of rank 1 (never the home)
# mid-run; the job must restart on the hosts left and print the result of
# a run that was never interrupted. The lost host is noted in
# $TRASH/victim.NAME.
solver_loses_a_host() {
    local bin=$1 name=$2 n=$3
    shift 3
    rm -rf "$name" && mkdir "$name" && cd "$name" &&
    SHOAL_POOL=no "$SHOAL" run --timeout 120 -n $n --oversubscribe "$bin" 400 20 >expect &&
    # bounded: a rank that never ends (an MPI_Finalize waiting on a peer of
    # the lost run) fails the test instead of holding the suite
    netns_bg 1 env SOLVER_STEP_MS=30 sh -c "\"$SHOAL\" run --timeout 240 -n $n --map-by node --checkpoint=2 $* \"$bin\" 400 20 >out 2>err; echo \$? >rc" &&
    p=$netns_bg_pid &&
    sleep 5 &&
    victim=$(solver_host 1) &&
    test "$victim" != 1 &&
    echo "$victim" >"$TRASH/victim.$name" &&
    netns_kill_all "$(netns_name $victim)" &&
    test_within 90 wait $p &&
    cat err out &&
    test "$(cat rc)" = 0 &&
    grep "node .$(netns_name $victim). was lost" err &&
    grep "shoal: restarting from checkpoint version [1-9][0-9]* (restart 1 of 3)" err &&
    grep "^resumed from version [1-9][0-9]* at step" out &&
    tail -n 1 out >got &&
    test_cmp expect got
}
