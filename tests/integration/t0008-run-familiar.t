#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run as Open MPI users know mpirun: --version, --mca, OMPI_MCA_*,
# a program in the current directory, and the errors they expect.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

test_expect_success 'mpirun --version, mpiexec -V and shoal run --version' '
    version=$("$SHOAL" version | sed "s/^shoal //") &&
    "$SHOAL_BUILDDIR/cmd/mpirun" --version >out &&
    printf "%s\n%s\n" "mpirun (shoal) $version" \
        "MPI libraries launched: shoal'"'"'s MPI via PMI-1, MPICH via PMI-1, Open MPI via PMIx" >expect &&
    test_cmp expect out &&
    "$SHOAL" run --version >out && test_cmp expect out &&
    "$SHOAL_BUILDDIR/cmd/mpiexec" -V >out &&
    sed "1s/^mpirun/mpiexec/" expect >expect.mpiexec &&
    test_cmp expect.mpiexec out
'

test_expect_success '--version wins over a program and other options' '
    "$SHOAL_BUILDDIR/cmd/mpirun" -np 2 -version ./no-such-program >out &&
    head -1 out | grep "^mpirun (shoal) "
'

test_done
