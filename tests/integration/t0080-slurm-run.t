#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run inside allocations of a real Slurm cluster of two nodes on this
# machine (slurm.sh): ranks land on the allocated nodes, two per node,
# through shoal's daemons started with srun; exit statuses, MPI_Abort codes
# and killed ranks end the job as on a pool; too many ranks, or a host
# outside the allocation, are refused naming it; SHOAL_SLURM=no ignores
# the allocation; nothing is left running or on disk.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/slurm.sh"

slurm_setup_or_skip

# the allocation's pool keeps its files here: each test checks it is empty
export TMPDIR="$TRASH/tmp"
mkdir -p "$TMPDIR"
export SHOAL_KILL_GRACE=1

# salloc ARGS... -- COMMAND...: within 60 s, never reading the test's stdin
alloc() {
    timeout -k 5 60 salloc --quiet "$@" </dev/null
}

# nothing of an allocation's pool is left once the allocation ended: no
# directory, no daemon, no step (the pool kept for the allocation stops
# when Slurm ends its step, within a few seconds)
nothing_left() {
    for _ in $(seq 50); do
        test -z "$(ls "$TMPDIR")" && test -z "$(squeue -h -o %i)" &&
            ! pgrep -f "slurm-node .*$TRASH" >/dev/null && return 0
        sleep 0.2
    done
    echo "left in TMPDIR: $(ls "$TMPDIR"); jobs: $(squeue -h)" >&2
    no_strays "slurm-node .*$TRASH"
    return 1
}

"$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o hello.shoal \
    "$SHOAL_SRCDIR/tests/mpi/hello.c" &&
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o abort.shoal \
        "$SHOAL_SRCDIR/tests/mpi/abort.c" &&
    "$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" -O1 -o exit_code.shoal \
        "$SHOAL_SRCDIR/tests/mpi/exit_code.c" || {
    echo "Bail out! cannot build the MPI programs with shoal's mpicc"
    exit 1
}

# where each rank of PROGRAM ran, then what it printed
cat >where.sh <<'SH'
#!/bin/sh
echo "rank $PMI_RANK on ${SLURMD_NODENAME:-no slurm node}"
exec "$@"
SH
chmod +x where.sh

expect_where() {
    printf 'hello from rank %d of 4 on %s\n' 0 "$HOST" 1 "$HOST" 2 "$HOST" \
        3 "$HOST" >expect &&
    printf 'rank %d on %s\n' 0 node1 1 node1 2 node2 3 node2 >>expect
}

test_expect_success 'shoal MPI: salloc -N2 -n4 shoal run -n 4, two ranks per node' '
    alloc -N2 -n4 "$SHOAL" run -n 4 ./where.sh ./hello.shoal >out 2>err &&
    sort out >sorted && expect_where && sort expect >e && test_cmp e sorted &&
    nothing_left
'

if [ -n "$MPICC_MPICH" ]; then
    test_expect_success 'MPICH: salloc -N2 -n4 shoal run -n 4, two ranks per node' '
        "$MPICC_MPICH" -O1 -o hello.mpich "$SHOAL_SRCDIR/tests/mpi/hello.c" &&
        alloc -N2 -n4 "$SHOAL" run -n 4 ./where.sh ./hello.mpich >out 2>err &&
        sort out >sorted && expect_where && sort expect >e &&
        test_cmp e sorted && nothing_left
    '
else
    test_skip 'MPICH programs in an allocation' 'mpicc.mpich is not installed'
fi

# Open MPI's ranks through shoal's PMIx server. Its Slurm component
# would take a rank started outside any step (SLURM_JOB_ID, no
# SLURM_STEP_ID) for a singleton: shoal leaves it out. The two nodes of
# this cluster are one machine whose host name both share, and Open MPI
# names its shared-memory segments after the host name and the node's
# local rank, so the ranks of node1 and node2 would open each other's:
# here they speak TCP alone (btl self,tcp), as across real nodes.
if [ -n "$MPICC_OPENMPI" ] && [ -x "$MPI_DIR/ring.ompi" ]; then
    test_expect_success 'Open MPI: salloc -N2 -n4 shoal run of a ring, two ranks per node' '
        sed "s/PMI_RANK/PMIX_RANK/" where.sh >where-pmix.sh &&
        chmod +x where-pmix.sh &&
        alloc -N2 -n4 "$SHOAL" run -n 4 -x OMPI_MCA_btl=self,tcp \
            ./where-pmix.sh "$MPI_DIR/ring.ompi" >out 2>err &&
        sort out >sorted &&
        { echo " No Errors" &&
          printf "rank %d on %s\n" 0 node1 1 node1 2 node2 3 node2; } |
            sort >expect &&
        test_cmp expect sorted && nothing_left
    '
else
    test_skip 'Open MPI programs in an allocation' 'mpicc.openmpi is not installed'
fi

test_expect_success 'without -n, one rank per task Slurm gave' '
    alloc -N2 -n4 "$SHOAL" run sh -c "echo \$SLURMD_NODENAME \$SHOAL_SIZE" |
        sort >out &&
    printf "node1 4\nnode1 4\nnode2 4\nnode2 4\n" >expect &&
    test_cmp expect out && nothing_left
'

test_expect_success 'a rank exit status ends the job with it' '
    test_within 40 test_expect_code 3 \
        alloc -N2 -n4 "$SHOAL" run -n 4 ./exit_code.shoal 2>err &&
    grep "shoal: rank 3 on '"'"'node2'"'"' exited with status 3" err &&
    no_strays "$TRASH/exit_code.shoal" && nothing_left
'

test_expect_success 'MPI_Abort codes end the job with them' '
    test_within 40 test_expect_code 7 \
        alloc -N2 -n4 "$SHOAL" run -n 4 ./abort.shoal 2>err &&
    grep "shoal: rank 1 on '"'"'node1'"'"' aborted the job with exit code 7" err &&
    no_strays "$TRASH/abort.shoal" && nothing_left
'

cp "$(command -v sleep)" sleeper
test_expect_success 'a killed rank ends the job at once' '
    test_within 20 test_expect_code 137 \
        alloc -N2 -n4 "$SHOAL" run -n 4 sh -c \
        "test \$SHOAL_RANK = 3 && kill -9 \$\$; exec ./sleeper 100" 2>err &&
    grep "shoal: rank 3 on '"'"'node2'"'"' was killed by signal 9" err &&
    no_strays "sleeper 100" && nothing_left
'

test_expect_success '--timeout ends the job with status 124' '
    test_within 20 test_expect_code 124 \
        alloc -N2 -n4 "$SHOAL" run -n 4 --timeout 1 ./sleeper 102 2>err &&
    no_strays "sleeper 102" && nothing_left
'

test_expect_success 'shoal run ended by SIGTERM ends the ranks' '
    cat >term.sh <<-SH &&
	#!/bin/sh
	"$SHOAL" run -n 4 ./sleeper 103 &
	pid=\$!
	for _ in \$(seq 100); do
	    test "\$(pgrep -fc "^./sleeper 103")" = 4 && break
	    sleep 0.1
	done
	kill -TERM \$pid
	wait \$pid
	SH
    chmod +x term.sh &&
    test_within 30 test_expect_code 143 alloc -N2 -n4 ./term.sh &&
    no_strays "sleeper 103" && nothing_left
'

# the allocation's steps named NAME, counted (squeue -s)
cat >steps.sh <<'SH'
#!/bin/sh
squeue -h -s -j "$SLURM_JOB_ID" -o %j | grep -c "^$1\$"
SH
# two jobs at once as the allocation's first (one of them starts the pool,
# the other waits for it), then one more: the SHOAL_DIR their ranks see,
# and the steps of shoal's daemons after each
cat >twice.sh <<SH
#!/bin/sh
: >dir1
"$SHOAL" run -n 2 sh -c 'echo \$SHOAL_DIR' >>dir1 &
"$SHOAL" run -n 2 sh -c 'echo \$SHOAL_DIR' >>dir1 &
wait && ./steps.sh shoal-daemons >steps &&
"$SHOAL" run -n 2 -H node2:2 sh -c 'echo \$SHOAL_DIR' >>dir1 &&
./steps.sh shoal-daemons >>steps
SH
# one job with a pool of its own: nothing left after it, in the allocation
cat >own.sh <<SH
#!/bin/sh
"$SHOAL" run -n 4 true || exit 1
# shoal run returns its status first; a detached process ends the step
# and removes the pool's directory right after, within the allocation
for i in \$(seq 50); do
    test -z "\$(ls "$TMPDIR")" && test "\$(./steps.sh shoal-daemons)" = 0 && break
    sleep 0.1
done
ls "$TMPDIR" && ./steps.sh shoal-daemons
SH
chmod +x steps.sh twice.sh own.sh

test_expect_success 'the shoal runs of an allocation share one pool, kept until it ends' '
    test_within 60 alloc -N2 -n4 ./twice.sh &&
    test "$(wc -l <dir1)" = 6 && test "$(sort -u dir1 | wc -l)" = 1 &&
    printf "1\n1\n" >expect && test_cmp expect steps && nothing_left
'

test_expect_success 'SHOAL_SLURM_POOL=run stops the pool with the job' '
    SHOAL_SLURM_POOL=run alloc -N2 -n4 ./own.sh >out;
    echo 0 >expect && test_cmp expect out &&
    (SHOAL_SLURM_POOL=job && export SHOAL_SLURM_POOL &&
        test_expect_code 2 alloc -N1 "$SHOAL" run true 2>err) &&
    grep "^shoal: invalid SHOAL_SLURM_POOL='"'"'job'"'"': expected allocation or run$" err &&
    nothing_left
'

test_expect_success 'more ranks than the allocation holds are refused naming it' '
    test_expect_code 1 alloc -N2 -n4 sh -c \
        "\"$SHOAL\" run -n 6 hostname 2>err; s=\$?; echo \$SLURM_JOB_ID >id; exit \$s" &&
    grep "^shoal: not enough slots: 6 ranks requested but the nodes of Slurm job $(cat id)'"'"'s allocation (node\[1-2\]) hold 4$" err &&
    grep "^hint: .*--oversubscribe" err && nothing_left
'

test_expect_success '... and run with --oversubscribe' '
    alloc -N2 -n4 "$SHOAL" run -n 6 --oversubscribe sh -c \
        "echo \$SLURMD_NODENAME" | sort | uniq -c | awk "{print \$2, \$1}" >out &&
    printf "node1 3\nnode2 3\n" >expect && test_cmp expect out && nothing_left
'

test_expect_success '-H names nodes of the allocation' '
    alloc -N2 -n4 "$SHOAL" run -n 2 -H node2:2 sh -c \
        "echo \$SLURMD_NODENAME \$SHOAL_RANK" | sort >out &&
    printf "node2 0\nnode2 1\n" >expect && test_cmp expect out &&
    printf "node1 slots=1\n" >hosts &&
    alloc -N2 -n4 "$SHOAL" run --hostfile hosts sh -c \
        "echo \$SLURMD_NODENAME" >out &&
    echo node1 >expect && test_cmp expect out && nothing_left
'

test_expect_success '... and a host outside it is refused naming the allocation' '
    test_expect_code 1 alloc -N2 -n4 "$SHOAL" run -H node3 hostname 2>err &&
    grep "^shoal: host '"'"'node3'"'"' is not in Slurm job [0-9]*'"'"'s allocation (node\[1-2\])$" err &&
    nothing_left
'

test_expect_success 'SHOAL_SLURM=no ignores the allocation' '
    SHOAL_SLURM=no alloc -N2 -n4 "$SHOAL" run -n 2 --oversubscribe sh -c \
        "echo \${SLURMD_NODENAME:-here}" >out &&
    printf "here\nhere\n" >expect && test_cmp expect out &&
    SHOAL_SLURM=off alloc -N1 "$SHOAL" run -n 1 true 2>err;
    grep "^shoal: invalid SHOAL_SLURM='"'"'off'"'"': expected auto or no$" err &&
    nothing_left
'

test_expect_success 'stdin reaches rank 0 and --tag-output names the ranks' '
    echo "from stdin" >in &&
    timeout -k 5 60 salloc --quiet -N2 -n2 "$SHOAL" run -n 2 --tag-output \
        sh -c "test \$SHOAL_RANK = 0 && cat || echo rank \$SHOAL_RANK" <in |
        sort >out &&
    printf "[0] from stdin\n[1] rank 1\n" >expect && test_cmp expect out &&
    nothing_left
'

test_expect_success '--output-filename writes each rank'"'"'s files where shoal run runs' '
    alloc -N2 -n4 "$SHOAL" run -n 4 --output-filename ofn sh -c \
        "echo out \$SHOAL_RANK \$SLURMD_NODENAME; echo err \$SHOAL_RANK >&2" \
        >out 2>err &&
    for r in 0 1 2 3; do
        cat ofn/1/rank.$r/stdout ofn/1/rank.$r/stderr || exit 1
    done >files &&
    printf "out 0 node1\nerr 0\nout 1 node1\nerr 1\nout 2 node2\nerr 2\nout 3 node2\nerr 3\n" >expect &&
    test_cmp expect files && nothing_left
'

test_expect_success 'in a batch script, each rank has its own node name' '
    cat >job.sh <<-SH &&
	#!/bin/sh
	"$SHOAL" run -n 4 ./where.sh ./hello.shoal
	SH
    chmod +x job.sh &&
    timeout -k 5 90 sbatch --wait -N2 -n4 -o batch.out ./job.sh </dev/null &&
    sort batch.out >sorted && expect_where && sort expect >e &&
    test_cmp e sorted && nothing_left
'

test_done
