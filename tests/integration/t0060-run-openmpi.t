#!/bin/sh
# SPDX-License-Identifier: MIT
# Unmodified Open MPI programs under shoal run on one node, wired up through
# the PMIx server (OpenPMIx); mpirun.openmpi runs the same binaries as the
# reference (differential).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

if [ -z "$MPICC_OPENMPI" ] || [ ! -x "$MPI_DIR/hello.ompi" ]; then
    test_skip 'Open MPI programs' 'Open MPI (mpicc.openmpi) is not installed'
    test_done
    exit 0
fi

# The programs run from a copy of this test's own: no_strays looks for
# their paths, and other tests (t0061) run the same programs at once.
mkdir "$TRASH/mpi"
cp "$MPI_DIR"/*.ompi "$TRASH/mpi/"
MPI_DIR="$TRASH/mpi"

# the PMIx server's directory goes under TMPDIR: the tests check it is
# removed
PMIX_TMP="$TRASH/tmp"
mkdir -p "$PMIX_TMP"

run() {
    TMPDIR="$PMIX_TMP" timeout -k 5 60 "$SHOAL" run --oversubscribe "$@"
}

# mpirun.openmpi forwards its stdin to rank 0: it must not eat the test's
ref() {
    timeout -k 5 60 "$MPIRUN_OPENMPI" --oversubscribe "$@" </dev/null
}

test_expect_success 'hello on 4 ranks is no set of singletons' '
    run -n 4 "$MPI_DIR/hello.ompi" | sort >out &&
    for r in 0 1 2 3; do echo "hello from rank $r of 4 on $HOST"; done >expect &&
    test_cmp expect out
'

for n in 1 2 3 4; do
    test_expect_success "hello on $n ranks prints what mpirun.openmpi prints" "
        run -n $n \"\$MPI_DIR/hello.ompi\" | sort >out &&
        ref -n $n \"\$MPI_DIR/hello.ompi\" | sort >expect &&
        test_cmp expect out
    "
done

grep -v '^#' "$SHOAL_SRCDIR/tests/mpi/testlist" | while read -r prog counts; do
    [ -n "$prog" ] || continue
    for n in $counts; do
        [ "$n" -le 4 ] && echo "$prog $n"
    done
done >"$TRASH/cases"

while read -r prog n; do
    test_expect_success "$prog on $n ranks, as under mpirun.openmpi" "
        run -n $n \"\$MPI_DIR/$prog.ompi\" >out 2>err &&
        echo ' No Errors' >expect && test_cmp expect out &&
        ref -n $n \"\$MPI_DIR/$prog.ompi\" >ref.out &&
        test_cmp ref.out out
    "
done <"$TRASH/cases"

test_expect_success 'a rank exiting non-zero: the status mpirun.openmpi gives' '
    test_within 30 test_expect_code 3 run -n 4 "$MPI_DIR/exit_code.ompi" 2>err &&
    grep "shoal: rank 3 on '"'"'$HOST'"'"' exited with status 3" err &&
    test_expect_code 3 ref -n 4 "$MPI_DIR/exit_code.ompi" 2>/dev/null &&
    no_strays "$MPI_DIR/exit_code.ompi"
'

test_expect_success 'MPI_Abort ends the job with its code, as under mpirun.openmpi' '
    test_within 30 test_expect_code 7 run -n 3 "$MPI_DIR/abort.ompi" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST'"'"' aborted the job with exit code 7" err &&
    test_expect_code 7 ref -n 3 "$MPI_DIR/abort.ompi" 2>/dev/null &&
    no_strays "$MPI_DIR/abort.ompi"
'

test_expect_success 'a rank killed before the fence fails the job, no hang' '
    test_within 30 test_expect_code 137 run -n 3 sh -c \
        "[ \$SHOAL_RANK = 1 ] && kill -9 \$\$; exec \"\$0\"" \
        "$MPI_DIR/ring.ompi" 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST'"'"' was killed by signal 9" err &&
    no_strays "$MPI_DIR/ring.ompi"
'

test_expect_success 'a rank killed after MPI_Init: the status mpirun.openmpi gives' '
    test_within 30 test_expect_code 137 run -n 3 "$MPI_DIR/killed.ompi" 2>err &&
    grep "shoal: rank 2 on '"'"'$HOST'"'"' was killed by signal 9" err &&
    test_expect_code 137 ref -n 3 "$MPI_DIR/killed.ompi" >/dev/null 2>&1 &&
    no_strays "$MPI_DIR/killed.ompi"
'

test_expect_success 'a client naming another namespace is refused, no hang' '
    test_within 60 test_expect_code 1 run -n 2 -x PMIX_NAMESPACE=bogus \
        "$MPI_DIR/hello.ompi" >out 2>err &&
    grep "shoal: rank [01] on .* exited with status 1" err &&
    test ! -s out
'

test_expect_success 'a client naming a rank the job does not have is refused, no hang' '
    test_within 60 test_expect_code 1 run -n 2 -x PMIX_RANK=7 \
        "$MPI_DIR/hello.ompi" >out 2>err &&
    grep "shoal: rank [01] on .* exited with status 1" err &&
    test ! -s out
'

test_expect_success 'a rank dying between its connect and the fence fails the job, named' '
    test_within 30 test_expect_code 137 run -n 3 "$MPI_DIR/jobctl.ompi" die \
        >out 2>err &&
    grep "shoal: rank 1 on '"'"'$HOST'"'"' was killed by signal 9" err &&
    ! grep "No Errors" out &&
    no_strays "$MPI_DIR/jobctl.ompi"
'

test_expect_success 'MPI_Comm_spawn is refused, not left hanging' '
    test_within 30 run -n 1 "$MPI_DIR/spawn.ompi" >out 2>err &&
    echo "spawn refused" >expect && test_cmp expect out
'

for n in 1 2 4; do
    test_expect_success "names published, looked up and unpublished on $n ranks" "
        run -n $n \"\$MPI_DIR/pubsub.ompi\" >out 2>err ||
        { cat out err; exit 1; }
        echo ' No Errors' >expect && test_cmp expect out
    "
done

test_expect_success 'a lookup that waits is answered by the publish' '
    run -n 3 "$MPI_DIR/jobctl.ompi" wait >out 2>err ||
    { cat out err; exit 1; }
    printf " No Errors\nrank 2 found value-of-0 from rank 0\n" | sort >expect &&
    sort out >sorted && test_cmp expect sorted
'

test_expect_success '--timeout ends a job whose rank waits for a name, with status 124' '
    test_within 30 test_expect_code 124 run -n 2 --timeout 2 \
        "$MPI_DIR/jobctl.ompi" hang >out 2>err &&
    grep "shoal: job timed out after 2 seconds" err &&
    no_strays "$MPI_DIR/jobctl.ompi"
'

test_expect_success '--output-filename: each rank'"'"'s output in its file' '
    run -n 2 --output-filename "$TRASH/oo" "$MPI_DIR/hello.ompi" >out &&
    test ! -s out &&
    echo "hello from rank 1 of 2 on $HOST" >expect &&
    test_cmp expect oo/1/rank.1/stdout
'

test_expect_success 'stdin reaches rank 0 of an Open MPI job' '
    echo "to rank 0" | run -n 2 sh -c \
        "\"\$0\" >/dev/null && [ \$SHOAL_RANK = 0 ] && cat || true" \
        "$MPI_DIR/hello.ompi" >out &&
    echo "to rank 0" >expect && test_cmp expect out
'

test_expect_success 'PMIx_Job_control signals the rank it names' '
    run -n 3 "$MPI_DIR/jobctl.ompi" signal >out 2>err ||
    { cat out err; exit 1; }
    printf " No Errors\nrank 2 got SIGUSR1\n" | sort >expect &&
    sort out >sorted && test_cmp expect sorted
'

test_expect_success 'PMIx_Job_control kills the job, its rank named' '
    test_within 30 test_expect_code 137 run -n 3 "$MPI_DIR/jobctl.ompi" kill \
        >out 2>err &&
    grep "shoal: rank 0 on '"'"'$HOST'"'"' aborted the job with exit code 137: PMIx_Job_control kill" err &&
    no_strays "$MPI_DIR/jobctl.ompi"
'

test_expect_success 'PMIx_Job_control of another namespace is refused' '
    run -n 2 "$MPI_DIR/jobctl.ompi" other >out 2>err ||
    { cat out err; exit 1; }
    printf "other job: refused\n No Errors\n" >expect && test_cmp expect out
'

test_expect_success 'Open MPI keeps the binding shoal applied' '
    run -n 2 --report-bindings "$MPI_DIR/affinity.ompi" >out 2>err &&
    for r in 0 1; do
        pus=$(sed -n "s/.*rank $r bound to PUs \([^ ]*\) .*/\1/p" err) &&
        test -n "$pus" && grep -x "rank $r cpus $pus" out || return 1
    done
'

test_expect_success 'ranks take the topology the server shares, not discover their own' '
    OMPI_MCA_hwloc_base_verbose=5 run -n 2 -x OMPI_MCA_hwloc_base_verbose \
        "$MPI_DIR/hello.ompi" >out 2>err &&
    test "$(grep -c "hwloc:base: topology in shared memory" out err |
        awk -F: "{ n += \$2 } END { print n }")" -ge 2 &&
    ! grep "discovering topology" out err
'

test_expect_success 'and stays unbound with --bind-to none' '
    all=$(sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status) &&
    run -n 2 --bind-to none "$MPI_DIR/affinity.ompi" >out &&
    printf "rank 0 cpus %s\nrank 1 cpus %s\n" "$all" "$all" >expect &&
    test_cmp expect out
'

# PMIX_MAPBY, PMIX_BINDTO and PMIX_RANKBY as prterun spells them (run
# gives --oversubscribe)
test_expect_success 'the job'"'"'s mapping, binding and ranking policies in its namespace' '
    run -n 2 --map-by slot --bind-to none "$MPI_DIR/policy.ompi" | sort >out &&
    printf "%s\n" " No Errors" \
        "rank 0 mapby BYSLOT:OVERSUBSCRIBE bindto NONE rankby SLOT" \
        "rank 1 mapby BYSLOT:OVERSUBSCRIBE bindto NONE rankby SLOT" >expect &&
    test_cmp expect out &&
    run -n 1 "$MPI_DIR/policy.ompi" >out &&
    printf "%s\n" "rank 0 mapby BYCORE:OVERSUBSCRIBE bindto CORE rankby SLOT" \
        " No Errors" >expect &&
    test_cmp expect out &&
    TMPDIR="$PMIX_TMP" timeout -k 5 60 "$SHOAL" run -n 1 --map-by numa:span \
        --bind-to core:overload-allowed "$MPI_DIR/policy.ompi" >out &&
    printf "%s\n" "rank 0 mapby BYNUMA:SPAN bindto CORE:OVERLOAD-ALLOWED rankby SPAN" \
        " No Errors" >expect &&
    test_cmp expect out
'

test_expect_success 'and through the launch message of local proxies' '
    SHOAL_PROXY_NODES=2 run -n 2 --map-by slot --bind-to hwthread \
        "$MPI_DIR/policy.ompi" | sort >out &&
    printf "%s\n" " No Errors" \
        "rank 0 mapby BYSLOT:OVERSUBSCRIBE bindto HWTHREAD rankby SLOT" \
        "rank 1 mapby BYSLOT:OVERSUBSCRIBE bindto HWTHREAD rankby SLOT" >expect &&
    test_cmp expect out
'

# Open MPI's asynchronous modex: MPI_Init does not wait for the fence's
# exchange, and a rank asks for a peer's data when it first needs it. On
# one node OpenPMIx answers; between two proxies (one rank each: two
# ranks of one proxy would share Open MPI's shared-memory segment names
# with the other proxy's on this one machine) the request goes through
# the coordinator to the peer's proxy (direct modex), every time.
test_expect_success 'async modex: on one node and across two proxies, every run' '
    run -n 2 -x OMPI_MCA_pmix_base_async_modex=1 "$MPI_DIR/ring.ompi" >out &&
    echo " No Errors" >expect && test_cmp expect out &&
    for i in 1 2 3 4 5; do
        test_within 30 env SHOAL_PROXY_NODES=2 TMPDIR="$PMIX_TMP" \
            timeout -k 5 60 "$SHOAL" run -n 2 \
            -x OMPI_MCA_pmix_base_async_modex=1 "$MPI_DIR/ring.ompi" \
            >out 2>err || { cat err; exit 1; }
        test_cmp expect out || exit 1
    done &&
    no_strays "$MPI_DIR/ring.ompi"
'

test_expect_success 'direct modex between proxies: values, PMIX_TIMEOUT, a dead rank' '
    SHOAL_PROXY_NODES=2 run -n 2 "$MPI_DIR/dmodex.ompi" get >out 2>err ||
    { cat err; exit 1; }
    printf "%s\n" "rank 0 got value-of-1 from rank 1" " No Errors" >expect &&
    test_cmp expect out &&
    SHOAL_PROXY_NODES=2 run -n 2 "$MPI_DIR/dmodex.ompi" timeout >out 2>err ||
    { cat err; exit 1; }
    printf "%s\n" "rank 0 get of rank 1: TIMEOUT" \
        "rank 0 got value-of-1 from rank 1" " No Errors" >expect &&
    test_cmp expect out &&
    test_within 30 test_expect_code 137 env SHOAL_PROXY_NODES=2 \
        TMPDIR="$PMIX_TMP" timeout -k 5 60 "$SHOAL" run --oversubscribe \
        -n 2 "$MPI_DIR/dmodex.ompi" dead >out 2>err &&
    grep "shoal: rank 1 on .* was killed by signal 9" err &&
    echo "rank 0 get of rank 1: NOT-FOUND" >expect &&
    test_cmp expect out &&
    no_strays "$MPI_DIR/dmodex.ompi"
'

test_expect_success 'output tagged per rank' '
    run -n 2 --tag-output "$MPI_DIR/hello.ompi" | sort >out &&
    printf "[0] hello from rank 0 of 2 on %s\n[1] hello from rank 1 of 2 on %s\n" \
        "$HOST" "$HOST" >expect &&
    test_cmp expect out
'

test_expect_success 'the PMIx server leaves no directory behind' '
    run -n 2 "$MPI_DIR/hello.ompi" >/dev/null &&
    test -z "$(ls "$PMIX_TMP")"
'

test_expect_success 'the directory of a server that crashed is removed' '
    mkdir -p "$PMIX_TMP/shoal-pmix.999999999/x" &&
    run -n 1 "$MPI_DIR/hello.ompi" >/dev/null &&
    test -z "$(ls "$PMIX_TMP")"
'

test_expect_success 'shoal info names the wire-ups and the PMIx library' '
    "$SHOAL" info >out &&
    grep -x "wire-up: PMI-1 (MPICH, shoal'"'"'s MPI), PMIx (Open MPI)" out &&
    v=$(pkg-config --modversion pmix) &&
    grep "^PMIx: OpenPMIx $v " out
'

test_expect_success 'no PSM component is opened where its device is missing' '
    run -n 1 sh -c "echo \$OMPI_MCA_mtl" >out &&
    want=$(sed -n "s/^mtl *= *\^\([^ #]*\).*/\1/p" \
        /etc/openmpi/openmpi-mca-params.conf 2>/dev/null | tail -n 1) &&
    ls /dev/hfi1_[0-9]* >/dev/null 2>&1 || want="${want:+$want,}psm2"
    ls /dev/ipath* >/dev/null 2>&1 || want="${want:+$want,}psm"
    echo "^$want" >expect && test_cmp expect out
'

test_expect_success 'a user'"'"'s OMPI_MCA_mtl is the one the ranks get' '
    OMPI_MCA_mtl=ofi run -n 1 sh -c "echo \$OMPI_MCA_mtl" >out 2>/dev/null &&
    echo ofi >expect && test_cmp expect out
'

test_expect_success 'every rank gets PMI-1 and PMIx side by side' '
    run -n 2 sh -c "test -n \"\$PMI_FD\" && test -n \"\$PMIX_NAMESPACE\""
'
test_done
