#!/bin/sh
# SPDX-License-Identifier: MIT
# Faults of shoal's MPI on-node transport (mpi-shim/shm.c): a job killed
# with SIGKILL leaves no segment in /dev/shm (it is unlinked as soon as
# it is made), a rank killed halfway through a transfer ends the
# job instead of hanging its peer, and a segment that cannot be made
# (/dev/shm too small for it) falls back to libfabric with one warning
# per node.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PROG="$TRASH/shm_faults"

test_expect_success 'the fault program builds with shoal mpicc' '
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o "$PROG" \
        "$SHOAL_SRCDIR/tests/mpi-shim/shm_faults.c"
'

# Segments are named /dev/shm/shoal-mpi-<creator pid>-<nanoseconds>; only
# this job's are looked at (other jobs may run beside the test).
segments_of() {
    for p in $(cat "$1"); do
        ls /dev/shm/ 2>/dev/null | grep "^shoal-mpi-$p-"
    done
    return 0
}

test_expect_success 'a job killed with SIGKILL leaves nothing in /dev/shm' '
    rm -f pids &&
    touch pids &&
    { timeout -k 5 60 "$SHOAL" run --oversubscribe -n 4 "$PROG" hang \
        "$TRASH/pids" >out 2>err & } &&
    job=$! &&
    i=0 &&
    while [ "$(wc -l <pids)" -lt 4 ] && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done &&
    test "$(wc -l <pids)" -eq 4 &&
    sleep 0.5 &&
    kill -KILL $(cat pids) &&
    { wait $job || echo "job ended with $?"; } &&
    segments_of pids >left &&
    ! test -s left
'

test_expect_success 'a rank killed mid-transfer ends the job, the peer does not hang' '
    timeout -k 5 60 "$SHOAL" run -n 2 "$PROG" die >out 2>err
    rc=$? &&
    echo "job ended with $rc" && cat err &&
    test $rc -ne 0 && test $rc -ne 124 &&
    grep "rank 1" err
'

test_expect_success 'no room in /dev/shm: one warning per node, libfabric carries the job' '
    SHOAL_MPI_SHM_CELLS=1000000000 SHOAL_MPI_NODE=@block:2 \
        timeout -k 5 60 "$SHOAL" run --oversubscribe -n 4 "$PROG" pingpong >out 2>err &&
    echo "No Errors" >expect && test_cmp expect out &&
    grep -c "warning: no shared memory for node" err >count &&
    echo 2 >expect && test_cmp expect count &&
    grep "needs" err
'

test_expect_success 'SHOAL_MPI_SHM=0: no segment, no warning' '
    SHOAL_MPI_SHM=0 SHOAL_MPI_SHM_CELLS=1000000000 \
        timeout -k 5 60 "$SHOAL" run -n 2 "$PROG" pingpong >out 2>err &&
    echo "No Errors" >expect && test_cmp expect out &&
    ! test -s err
'

test_done
