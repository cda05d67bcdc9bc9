#!/bin/sh
# SPDX-License-Identifier: MIT
# Unmodified MPICH programs under shoal run, wired up through PMI-1.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

if [ -z "$MPICC_MPICH" ] || [ ! -x "$MPI_DIR/hello.mpich" ]; then
    test_skip 'MPICH programs' 'MPICH (mpicc.mpich) is not installed'
    test_done
    exit 0
fi

run() {
    timeout -k 5 60 "$SHOAL" run --oversubscribe "$@"
}

test_expect_success 'hello on 4 ranks' '
    run -n 4 "$MPI_DIR/hello.mpich" | sort >out &&
    for r in 0 1 2 3; do echo "hello from rank $r of 4 on $HOST"; done >expect &&
    test_cmp expect out
'

grep -v '^#' "$SHOAL_SRCDIR/tests/mpi/testlist" | while read -r prog counts; do
    [ -n "$prog" ] || continue
    for n in $counts; do
        echo "$prog $n"
    done
done >"$TRASH/cases"

while read -r prog n; do
    test_expect_success "$prog on $n ranks" "
        run -n $n \"\$MPI_DIR/$prog.mpich\" >out 2>err &&
        echo ' No Errors' >expect && test_cmp expect out
    "
done <"$TRASH/cases"

test_expect_success 'a rank exiting non-zero ends the job with its status' '
    test_within 30 test_expect_code 3 run -n 4 "$MPI_DIR/exit_code.mpich" 2>err &&
    grep "shoal: rank 3 on '"'"'$HOST'"'"' exited with status 3" err &&
    no_strays "$MPI_DIR/exit_code.mpich"
'

test_expect_success 'MPI_Abort propagates its exit code' '
    test_within 30 test_expect_code 7 run -n 3 "$MPI_DIR/abort.mpich" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST'"'"' aborted the job with exit code 7" err &&
    no_strays "$MPI_DIR/abort.mpich"
'

test_expect_success 'MPICH programs bound per core run correctly' '
    run -n 2 --report-bindings "$MPI_DIR/collectives.mpich" >out 2>err &&
    echo " No Errors" >expect && test_cmp expect out &&
    grep -c "bound to PUs" err
'

test_expect_success 'a malformed PMI message aborts the job with a clear error' '
    test_expect_code 1 run -n 2 bash -c \
        "[ \$PMI_RANK = 0 ] && printf \"cmd=put key\\n\" >&\$PMI_FD; sleep 1234.9" 2>err &&
    grep "shoal: rank 0 on '"'"'$HOST'"'"': .*malformed" err &&
    no_strays "sleep 1234.9"
'

test_expect_success 'an oversized PMI message aborts the job' '
    test_expect_code 1 run -n 1 bash -c \
        "head -c 100000 /dev/zero | tr \"\\\\0\" x >&\$PMI_FD; sleep 1234.9" 2>err &&
    grep "shoal: rank 0 on .*too long" err &&
    no_strays "sleep 1234.9"
'

test_expect_success 'a rank that exits 0 without finalizing fails the job' '
    test_expect_code 1 run -n 1 bash -c \
        "printf \"cmd=init pmi_version=1 pmi_subversion=1\\n\" >&\$PMI_FD; read -r reply <&\$PMI_FD; exit 0" 2>err &&
    grep "rank 0 on .* exited without finalizing" err
'
test_done
