#!/bin/sh
# SPDX-License-Identifier: MIT
# Unmodified Open MPI programs on a pool of three simulated hosts: each
# node's proxy serves PMIx to its ranks, the fences' data crosses hosts in
# the job's barrier frames, and the ranks talk over the veth links (each
# host has its own IPC namespace and /dev/shm, so shared memory between
# hosts is impossible; the TCP connections are counted on the hosts).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

if [ -z "$MPICC_OPENMPI" ] || [ ! -x "$MPI_DIR/hello.ompi" ]; then
    test_skip 'Open MPI programs' 'Open MPI (mpicc.openmpi) is not installed'
    test_done
    exit 0
fi

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# The PMIx servers' directories go under TMPDIR: the test's own, so that a
# test running beside this one (its /tmp is the machine's) is not counted.
TMPDIR="$TRASH/tmp"
mkdir -p "$TMPDIR"
export TMPDIR

# tcp_opens I: TCP connections host I opened or accepted so far. The
# daemons keep theirs open, so new ones during a job are the ranks'.
tcp_opens() {
    netns_exec "$1" awk '/^Tcp:/ {
        if (!names) { for (i = 1; i <= NF; i++) name[i] = $i; names = 1 }
        else for (i = 1; i <= NF; i++)
            if (name[i] == "ActiveOpens" || name[i] == "PassiveOpens") n += $i
    } END { print n }' /proc/net/snmp
}

# The pool's cores: 2 + 4 + 3.
ALL=9
H1=$(netns_name 1) H2=$(netns_name 2) H3=$(netns_name 3)

run() {
    host=$1
    shift
    test_within 60 netns_exec "$host" "$SHOAL" run --timeout 50 "$@"
}

test_expect_success 'a daemon on each host, and the pool sees every core' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_free $i $ALL 20 || exit 1; done
'

test_expect_success 'an Open MPI ring over two hosts, connected over the link' '
    for i in 1 3; do tcp_opens $i; done >before &&
    run 1 -H $H1,$H3 -n 2 "$MPI_DIR/ring.ompi" >out 2>err ||
    { cat out err; exit 1; }
    echo " No Errors" >expect && test_cmp expect out &&
    for i in 1 3; do tcp_opens $i; done >after &&
    paste before after | while read b a; do
        echo "TCP connections opened: $b -> $a" &&
        test "$a" -gt "$b" || exit 1
    done
'

test_expect_success 'Open MPI programs wire up over three hosts' '
    run 2 -n 3 --map-by node "$MPI_DIR/hello.ompi" >out 2>err ||
    { cat out err; exit 1; }
    for i in 1 2 3; do grep " of 3 on $(netns_name $i)\$" out || exit 1; done
'

test_expect_success 'collectives of 4 ranks over three hosts, two on one host' '
    run 1 -n 4 --map-by node "$MPI_DIR/collectives.ompi" >out 2>err ||
    { cat out err; exit 1; }
    echo " No Errors" >expect && test_cmp expect out
'

test_expect_success 'ranks filling the home host, then the next one' '
    run 1 -n 4 "$MPI_DIR/split.ompi" >out 2>err ||
    { cat out err; exit 1; }
    echo " No Errors" >expect && test_cmp expect out
'

test_expect_success 'a rank exiting non-zero on another host ends the job with its status' '
    test_expect_code 3 run 1 -n 3 --map-by node "$MPI_DIR/exit_code.ompi" 2>err &&
    grep "rank 2 on '"'"'$H3'"'"' exited with status 3" err
'

test_expect_success 'MPI_Abort on another host ends the job with its code' '
    test_expect_code 7 run 1 -n 3 --map-by node "$MPI_DIR/abort.ompi" 2>err &&
    grep "rank 1 on '"'"'$H2'"'"' aborted the job with exit code 7" err
'

test_expect_success 'a rank killed on another host fails the job, no hang' '
    test_expect_code 137 run 1 -n 3 --map-by node "$MPI_DIR/killed.ompi" 2>err &&
    grep "rank 2 on '"'"'$H3'"'"' was killed by signal 9" err
'

test_expect_success 'names published on one host are found on the others' '
    run 1 -n 4 --map-by node "$MPI_DIR/pubsub.ompi" >out 2>err ||
    { cat out err; exit 1; }
    echo " No Errors" >expect && test_cmp expect out
'

test_expect_success 'a lookup on another host waits for the publish' '
    run 1 -n 3 --map-by node "$MPI_DIR/jobctl.ompi" wait >out 2>err ||
    { cat out err; exit 1; }
    printf " No Errors\nrank 2 found value-of-0 from rank 0\n" | sort >expect &&
    sort out >sorted && test_cmp expect sorted
'

test_expect_success 'PMIx_Job_control signals a rank on another host' '
    run 1 -n 3 --map-by node "$MPI_DIR/jobctl.ompi" signal >out 2>err ||
    { cat out err; exit 1; }
    printf " No Errors\nrank 2 got SIGUSR1\n" | sort >expect &&
    sort out >sorted && test_cmp expect sorted
'

test_expect_success 'PMIx_Job_control kills the job over three hosts' '
    test_expect_code 137 run 1 -n 3 --map-by node "$MPI_DIR/jobctl.ompi" kill \
        >out 2>err &&
    grep "rank 0 on '"'"'$H1'"'"' aborted the job with exit code 137: PMIx_Job_control kill" err
'

test_expect_success 'a rank dying between connect and fence on another host: the job fails, named' '
    test_expect_code 137 run 1 -n 3 --map-by node "$MPI_DIR/jobctl.ompi" die \
        >out 2>err &&
    grep "rank 1 on '"'"'$H2'"'"' was killed by signal 9" err
'

# Open MPI's asynchronous modex (MPI_Init does not wait for the fence's
# exchange): a rank asks for a peer's data when it first talks to it, and
# the peer's proxy answers through the coordinator (direct modex). Every
# run must succeed, with what mpirun.openmpi prints for the same program.
# The reference runs with Open MPI's default (full) modex: mpirun.openmpi
# 4.1.4 with pmix_base_async_modex=1 fails itself in most runs on one
# machine ("PML add procs failed", 8 of 12 runs), which the program's
# output does not depend on.
test_expect_success 'async modex over three hosts: ring and collectives, every run, as under mpirun.openmpi' '
    for p in ring collectives; do
        timeout -k 5 60 "$MPIRUN_OPENMPI" --oversubscribe -n 4 \
            "$MPI_DIR/$p.ompi" </dev/null >$p.ref || exit 1
        echo " No Errors" >expect && test_cmp expect $p.ref || exit 1
    done &&
    for i in 1 2 3 4 5; do
        for p in ring collectives; do
            run 1 -n 4 --map-by node -x OMPI_MCA_pmix_base_async_modex=1 \
                "$MPI_DIR/$p.ompi" >out 2>err ||
            { echo "run $i of $p"; cat out err; exit 1; }
            test_cmp $p.ref out || exit 1
        done
    done
'

test_expect_success 'direct modex: values committed on other hosts, read with no fence' '
    run 1 -n 3 --map-by node "$MPI_DIR/dmodex.ompi" get >out 2>err ||
    { cat out err; exit 1; }
    printf "%s\n" "rank 0 got value-of-1 from rank 1" \
        "rank 0 got value-of-2 from rank 2" " No Errors" >expect &&
    test_cmp expect out
'

test_expect_success 'direct modex: PMIX_TIMEOUT gives a timeout, then the value comes' '
    run 1 -n 2 -H $H1,$H3 "$MPI_DIR/dmodex.ompi" timeout >out 2>err ||
    { cat out err; exit 1; }
    printf "%s\n" "rank 0 get of rank 1: TIMEOUT" \
        "rank 0 got value-of-1 from rank 1" " No Errors" >expect &&
    test_cmp expect out
'

test_expect_success 'direct modex: the asked rank killed before it answers fails the job, named, no hang' '
    test_expect_code 137 run 1 -n 3 --map-by node "$MPI_DIR/dmodex.ompi" dead \
        >out 2>err &&
    grep "rank 2 on '"'"'$H3'"'"' was killed by signal 9" err &&
    echo "rank 0 get of rank 2: NOT-FOUND" >expect &&
    test_cmp expect out
'

if [ -x "$MPI_DIR/ring.mpich" ]; then
    test_expect_success 'an MPICH job (PMI-1) and an Open MPI job (PMIx) side by side on the daemons' '
        run 1 -n 2 --map-by node "$MPI_DIR/ring.mpich" >mpich.out 2>mpich.err &
        mpich=$!
        run 1 -n 2 --map-by node "$MPI_DIR/ring.ompi" >ompi.out 2>ompi.err ||
        { cat ompi.out ompi.err; exit 1; }
        wait $mpich || { cat mpich.out mpich.err; exit 1; }
        echo " No Errors" >expect &&
        test_cmp expect mpich.out && test_cmp expect ompi.out
    '
fi

test_expect_success 'every host registers the job'"'"'s PMIX_MAPBY, PMIX_BINDTO and PMIX_RANKBY' '
    run 1 -n 3 --map-by node --bind-to core "$MPI_DIR/policy.ompi" >out 2>err ||
    { cat out err; exit 1; }
    sort out >sorted &&
    printf "%s\n" " No Errors" \
        "rank 0 mapby BYNODE bindto CORE rankby NODE" \
        "rank 1 mapby BYNODE bindto CORE rankby NODE" \
        "rank 2 mapby BYNODE bindto CORE rankby NODE" >expect &&
    test_cmp expect sorted &&
    run 2 -n 2 -H $H1,$H3 "$MPI_DIR/policy.ompi" >out 2>err ||
    { cat out err; exit 1; }
    sort out >sorted &&
    printf "%s\n" " No Errors" "rank 0 mapby BYCORE bindto CORE rankby SLOT" \
        "rank 1 mapby BYCORE bindto CORE rankby SLOT" >expect &&
    test_cmp expect sorted
'

test_expect_success 'no rank and no PMIx directory is left on any host' '
    sleep 0.5 &&
    for i in 1 2 3; do
        for pid in $(netns_pids $i); do
            cat /proc/$pid/comm 2>/dev/null
        done | grep "\.omp" && exit 1
        netns_exec $i sh -c "ls -d \${TMPDIR:-/tmp}/shoal-pmix.* 2>/dev/null" &&
            exit 1
    done
    true
'
test_done
