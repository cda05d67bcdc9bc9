#!/bin/sh
# SPDX-License-Identifier: MIT
# Programs built with shoal's mpicc under launchers other than shoal run:
# under srun --mpi=pmi2 (PMI-1) and srun --mpi=pmix (PMIx, through
# OpenPMIx's client library) of a real Slurm cluster (slurm.sh) they run
# correctly; under a launcher that says the job has several ranks but
# gives no wire-up shoal's MPI speaks (srun --mpi=none, PMI_SIZE,
# OMPI_COMM_WORLD_SIZE without PMI_FD), MPI_Init fails saying what to do
# rather than running each rank alone; a rank that exits with a non-zero
# status before MPI_Finalize ends the step even when srun would let the
# others wait for it (--kill-on-bad-exit=0).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

for p in hello ring collectives split exit_code; do
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o $p.shoal \
        "$SHOAL_SRCDIR/tests/mpi/$p.c" || {
        echo "Bail out! cannot build $p with shoal's mpicc"
        exit 1
    }
done

refusal="shoal mpi: MPI_Init: the launcher says this job has several ranks"
hint="Under Slurm run it with 'srun --mpi=pmi2' (or set MpiDefault=pmi2 in slurm.conf), or start it with 'shoal run'"

test_expect_success 'alone, a program is rank 0 of 1' '
    ./hello.shoal >out &&
    echo "hello from rank 0 of 1 on $HOST" >expect && test_cmp expect out
'

for var in PMI_SIZE=2 OMPI_COMM_WORLD_SIZE=4 \
    "SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2" "SLURM_STEP_ID=3 SLURM_NTASKS=2"; do
    test_expect_success "$var without PMI_FD is refused, saying what to do" "
        test_expect_code 1 env $var ./hello.shoal >out 2>err &&
        test ! -s out && grep -F \"\$refusal\" err && grep -F \"\$hint\" err &&
        grep -F \"(\${var##* })\" err
    "
done

test_expect_success 'PMIX_NAMESPACE without a PMIx server fails MPI_Init' '
    test_expect_code 1 env PMIX_NAMESPACE=job.1 ./hello.shoal >out 2>err &&
    test ! -s out &&
    grep "^shoal mpi: rank 0: MPI_Init: PMI wire-up: " err
'

test_expect_success 'one rank by its launcher is not refused' '
    PMI_SIZE=1 OMPI_COMM_WORLD_SIZE=1 SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=1 \
        ./hello.shoal >out &&
    echo "hello from rank 0 of 1 on $HOST" >expect && test_cmp expect out &&
    SLURM_NTASKS=4 ./hello.shoal >out &&
    test_cmp expect out
'

. "$SHOAL_SRCDIR/tests/integration/slurm.sh"
slurm_setup_or_skip

# srun ARGS...: within 60 s, never reading the test's stdin
run_srun() {
    timeout -k 5 60 srun --quiet "$@" </dev/null
}

test_expect_success 'srun --mpi=pmi2 -N2 -n2: ranks 0 and 1 of 2' '
    run_srun --mpi=pmi2 -N2 -n2 ./hello.shoal | sort >out &&
    printf "hello from rank %d of 2 on $HOST\n" 0 1 >expect &&
    test_cmp expect out
'

grep -v '^#' "$SHOAL_SRCDIR/tests/mpi/testlist" | while read -r prog counts; do
    [ -n "$prog" ] || continue
    for n in $counts; do
        # the cluster holds 4 CPUs
        [ "$n" -le 4 ] && echo "$prog $n"
    done
done >cases

while read -r prog n; do
    test_expect_success "srun --mpi=pmi2: $prog on $n ranks" "
        run_srun --mpi=pmi2 -n $n ./$prog.shoal >out 2>err &&
        echo ' No Errors' >expect && test_cmp expect out
    "
done <cases

if srun --mpi=list 2>&1 | grep -q pmix; then
    test_expect_success 'srun --mpi=pmix -N2 -n2: ranks 0 and 1 of 2' '
        run_srun --mpi=pmix -N2 -n2 ./hello.shoal | sort >out &&
        printf "hello from rank %d of 2 on $HOST\n" 0 1 >expect &&
        test_cmp expect out
    '
    while read -r prog n; do
        test_expect_success "srun --mpi=pmix: $prog on $n ranks" "
            run_srun --mpi=pmix -n $n ./$prog.shoal >out 2>err &&
            echo ' No Errors' >expect && test_cmp expect out
        "
    done <cases
else
    test_skip 'srun --mpi=pmix' "Slurm has no pmix plugin here"
fi

# srun lets the other ranks run on when one exits, unless KillOnBadExit
# (the cluster's is on: the step turns it off); they wait in a barrier
for mpi in pmi2 pmix; do
    if [ $mpi = pmix ] && ! srun --mpi=list 2>&1 | grep -q pmix; then
        continue
    fi
    test_expect_success "srun --mpi=$mpi --kill-on-bad-exit=0: a rank's exit 3 ends the step" "
        test_within 20 sh -c 'timeout -k 5 30 srun --mpi=$mpi -N2 -n2 \\
            --kill-on-bad-exit=0 ./exit_code.shoal </dev/null; test \$? != 124' \\
            2>err &&
        grep 'shoal mpi: rank 1 exited with status 3 before MPI_Finalize: ending the job' err
    "
done

test_expect_success 'srun --mpi=none -n 2 is refused with what to do' '
    { run_srun --mpi=none -N2 -n2 ./hello.shoal >out 2>err; echo $? >rc; } &&
    { test "$(cat rc)" = 1 && test ! -s out && grep -F "$refusal" err &&
        grep -F "$hint" err && grep -F "(SLURM_STEP_NUM_TASKS=2)" err ||
        { echo "srun exited $(cat rc)"; cat out err; false; }; }
'


test_expect_success 'a batch script runs a program alone, not refused' '
    printf "#!/bin/sh\n./hello.shoal\n" >job.sh && chmod +x job.sh &&
    timeout -k 5 60 sbatch --wait -n4 -o batch.out ./job.sh </dev/null &&
    echo "hello from rank 0 of 1 on $HOST" >expect && test_cmp expect batch.out
'

test_done
