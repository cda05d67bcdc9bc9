#!/bin/bash
# SPDX-License-Identifier: MIT
# shoal's MPI conformance programs (tests/mpi-shim/testlist) on two
# simulated hosts, each with its own network, IPC and mount namespace (so
# its own /dev/shm): every job spreads its ranks 2+2, 2+2 round robin or
# 1+2 over the hosts, so ranks on one host talk through shoal's shared
# memory and ranks on the other through libfabric over the veth link, in
# one job. Each run is judged as tests/mpi-shim/mpi-shim.t judges it
# (shim-lib.sh: status, last line, no FAIL, the reference MPI's output);
# the hosts' /dev/shm must be empty after each program. Then: the bytes
# between hosts cross the veth link (its counters), on-node bytes do not
# take the network when shared memory is on, the stress program over both
# transports, a rank killed mid-transfer on either host ends the job with
# nothing left behind, and so does a rank failing while the others wait in
# MPI_Init with their segments made.
#
# Two layouts per program (the run would take too long with all of them
# on two shared cores): 2+2 and 1+2 where the program takes 4 and 3 ranks,
# 2+2 block and round robin where it takes 4 only, 1+2 and 1+1 where it
# takes 3 and 2, 1+1 where it takes 2 only; programs of one rank have no
# peer to cross to and run only in mpi-shim.t. SHIM_TESTS="a b" keeps
# only the named programs; SHIM_PATH=tcp runs them over libfabric alone
# (SHOAL_MPI_SHM=0) instead of both transports (shm, the default);
# SHIM_LAYOUTS="3+1 1+3/rr" runs each program on those of the layouts
# whose number of ranks its testlist line names.
#
# A test of its own rather than a mode of mpi-shim.t: it needs root, the
# hosts of netns.sh and a pool of daemons (pool.sh), where mpi-shim.t
# runs anywhere with shoal run alone.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 2

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

src=$SHOAL_SRCDIR
build=$SHOAL_BUILDDIR
bin="$TRASH/bin"
mkdir -p "$bin"
RUN_TIMEOUT=90
SHIM_PATH=${SHIM_PATH:-shm}
. "$SHOAL_SRCDIR/tests/mpi-shim/shim-lib.sh"

H1=$(netns_name 1) H2=$(netns_name 2)
CORES=$(($(netns_cores 1) + $(netns_cores 2)))

# layout_args LAYOUT: shoal run's options for a layout "A+B" (A ranks on
# host 1 then B on host 2) or "A+B/rr" (the same hosts, ranks dealt round
# robin: rank 0 on host 1, rank 1 on host 2, ...).
layout_args() {
    local l a b
    l=${1%/rr}
    a=${l%+*} b=${l#*+}
    echo "--oversubscribe -H $H1:$a,$H2:$b -n $((a + b))"
    [ "$l" != "$1" ] && echo "--map-by node"
    return 0
}

layout_np() {
    local l
    l=${1%/rr}
    echo $((${l%+*} + ${l#*+}))
}

# layouts RANKS: the two layouts (or one) of a program given its testlist
# rank counts, as the header says.
layouts() {
    local counts has4 has3 has2 out
    counts=" $(echo "$1" | tr ',' '\n' | sed 's|/.*||' | sort -u | tr '\n' ' ')"
    has4=no has3=no has2=no
    case "$counts" in *" 4 "*) has4=yes ;; esac
    case "$counts" in *" 3 "*) has3=yes ;; esac
    case "$counts" in *" 2 "*) has2=yes ;; esac
    out=
    [ $has4 = yes ] && out="$out 2+2"
    [ $has3 = yes ] && out="$out 1+2"
    [ $has4 = yes ] && [ $has3 = no ] && out="$out 2+2/rr"
    [ $has2 = yes ] && [ $has4 = no ] && out="$out 1+1"
    if [ -n "${SHIM_LAYOUTS:-}" ]; then
        out=
        for l in $SHIM_LAYOUTS; do
            case "$counts" in *" $(layout_np $l) "*) out="$out $l" ;; esac
        done
        echo $out
        return 0
    fi
    echo $out | cut -d' ' -f1-2
}

# shim_run LAYOUT PATH NAME OUT ERR [ARG...]: run a program from host 1,
# its status in $run_rc.
shim_run() {
    local layout prov name out err
    layout=$1 prov=$2 name=$3 out=$4 err=$5
    shift 5
    netns_exec 1 env SHOAL_OFI_PROVIDER="$(provider_name "$prov")" \
        SHOAL_MPI_SHM="$(shm_switch "$prov")" \
        timeout -k 10 $((RUN_TIMEOUT + 10)) "$SHOAL" run \
        --timeout $RUN_TIMEOUT $(layout_args "$layout") \
        "$bin/$name.shim" "$@" </dev/null >"$out" 2>"$err"
    run_rc=$?
}

# shm_empty: nothing is left in either host's /dev/shm.
shm_empty() {
    local i left
    for i in 1 2; do
        left=$(netns_exec $i ls -A /dev/shm) || return 1
        if [ -n "$left" ]; then
            echo "left in /dev/shm of host $i: $left"
            return 1
        fi
    done
}

test_expect_success 'a daemon on each host, and the pool sees every core' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2; do wait_free $i $CORES 20 || exit 1; done
'

test_expect_success 'the layouts place the ranks on the hosts they name' '
    for layout in 2+2 2+2/rr 1+2; do
        netns_exec 1 "$SHOAL" run --timeout 60 $(layout_args $layout) \
            sh -c "echo \$SHOAL_RANK \$(hostname)" >where || exit 1
        sort where >got
        case $layout in
        2+2) printf "0 %s\n1 %s\n2 %s\n3 %s\n" $H1 $H1 $H2 $H2 ;;
        2+2/rr) printf "0 %s\n1 %s\n2 %s\n3 %s\n" $H1 $H2 $H1 $H2 ;;
        1+2) printf "0 %s\n1 %s\n2 %s\n" $H1 $H2 $H2 ;;
        esac >expect
        test_cmp expect got || exit 1
    done
'

FAULTS_SUM=1154584 # the bytes of one way of shm_faults pingpong, per peer

# rx_bytes: the bytes received on host 1's eth0 and lo and host 2's eth0.
rx_bytes() {
    echo $(netns_rx_bytes 1) $(netns_rx_bytes 1 lo) $(netns_rx_bytes 2)
}

test_expect_success 'bytes between hosts cross the veth link, on-node ones do not' '
    "$mpicc" -O1 -o "$bin/shm_faults.shim" \
        "$SHOAL_SRCDIR/tests/mpi-shim/shm_faults.c" &&
    for prov in shm tcp; do
        set -- $(rx_bytes)
        shim_run 2+2 $prov shm_faults pp.out pp.err pingpong
        set -- "$@" $(rx_bytes)
        echo "$prov: host 1 eth0 +$(($4 - $1)), lo +$(($5 - $2)); host 2 eth0 +$(($6 - $3))"
        shim_verdict "No Errors" $prov $run_rc pp.out pp.err || exit 1
        # rank 0 on host 1 sends every size to ranks 2 and 3 on host 2,
        # which send it back; rank 1 is beside rank 0
        test $(($4 - $1)) -ge $((2 * FAULTS_SUM)) || exit 1
        test $(($6 - $3)) -ge $((2 * FAULTS_SUM)) || exit 1
        if [ $prov = shm ]; then
            test $(($5 - $2)) -lt $FAULTS_SUM || exit 1
        else
            test $(($5 - $2)) -ge $((2 * FAULTS_SUM)) || exit 1
        fi
    done &&
    shm_empty
'

# Per program and layout one test: run from host 1 and judged, the hosts'
# /dev/shm empty after it; then per layout one comparison with the
# reference MPI, run on this machine with as many ranks (its output does
# not depend on where the ranks are) while the hosts run shoal's.
while read -r name ranks provs expect; do
    shim_selected "$name" || continue
    lays=$(layouts "$ranks")
    [ -z "$lays" ] && continue
    if ! shim_build "$name" >"$bin/$name.diag"; then
        test_expect_success "build $name" 'cat "$bin/$name.diag"; false'
        continue
    fi
    refpid=
    if [ "$shim_ref_built" = yes ] && [ "$expect" != FATAL ]; then
        for layout in $lays; do layout_np $layout; done | sort -u >"$bin/$name.nps"
        (for np in $(cat "$bin/$name.nps"); do shim_ref_run "$name" "$np"; done) &
        refpid=$!
    fi
    for layout in $lays; do
        tag=$(echo "$layout" | tr '+/' 'p_')
        test_expect_success "$name on $layout ranks over $SHIM_PATH" '
            out="$bin/$name.$tag.out" err="$bin/$name.$tag.err" &&
            shim_run "$layout" $SHIM_PATH "$name" "$out" "$err" &&
            # a FATAL program names libfabric'"'"'s provider: every job
            # here has an off-node rank
            shim_verdict "$expect" tcp $run_rc "$out" "$err" &&
            shm_empty
        '
    done
    [ -n "$refpid" ] || continue
    wait $refpid
    for layout in $lays; do
        tag=$(echo "$layout" | tr '+/' 'p_')
        np=$(layout_np "$layout")
        test_expect_success "$name on $layout ranks matches the reference" '
            shim_ref_cmp "$name" "$np" "$bin/$name.$tag.out"
        '
    done
done < <(shim_testlist)

# shmstress on the other data path: libfabric alone (SHOAL_MPI_SHM=0),
# over the loopback within a host and the link between them.
test_expect_success 'shmstress on 2+2/rr ranks over libfabric alone (tcp)' '
    shim_selected shmstress || exit 0
    test -x "$bin/shmstress.shim" &&
    out="$bin/shmstress.tcp.out" err="$bin/shmstress.tcp.err" &&
    shim_run 2+2/rr tcp shmstress "$out" "$err" &&
    shim_verdict "No Errors" tcp $run_rc "$out" "$err" &&
    shm_empty
'

# The path one-sided operations take between hosts: rma_fence's
# contiguous puts and gets from one host to the other go as fi_write and
# fi_read when the provider offers RMA (tcp;ofi_rxm does), and as active
# messages only when SHOAL_MPI_RMA_OFI=0 says so; SHOAL_MPI_RMA_STATS=1
# makes each rank print its count per path at MPI_Finalize.
rma_ops() {
    sed -n "s/^shoal mpi: rank $1: rma ops: .* $2 \([0-9]*\).*/\1/p" "$3"
}
for rma_ofi in 1 0; do
    test_expect_success "rma_fence on 1+1 ranks with SHOAL_MPI_RMA_OFI=$rma_ofi takes the path it names" '
        shim_selected rma_fence || exit 0
        test -x "$bin/rma_fence.shim" &&
        out="$bin/rma_fence.path$rma_ofi.out" &&
        err="$bin/rma_fence.path$rma_ofi.err" &&
        SHOAL_MPI_RMA_STATS=1 SHOAL_MPI_RMA_OFI=$rma_ofi \
            shim_run 1+1 $SHIM_PATH rma_fence "$out" "$err" &&
        shim_verdict "No Errors" tcp $run_rc "$out" "$err" &&
        grep "rma ops" "$err" &&
        ofi=$(rma_ops 0 ofi "$err") && am=$(rma_ops 0 am "$err") &&
        test -n "$ofi" && test -n "$am" &&
        if [ $rma_ofi = 1 ]; then
            test "$ofi" -gt 0
        else
            test "$ofi" -eq 0 && test "$am" -gt 0
        fi
    '
done

# shm_faults die: rank 1 streams 1 MiB messages to rank 0 and kills itself
# halfway, the other ranks wait in MPI_Finalize. On 2+2 rank 1 is beside
# rank 0 (shared memory) with ranks 2 and 3 on the other host; on 2+2/rr
# it is on the other host (libfabric).
for layout in 2+2 2+2/rr; do
    test_expect_success "a rank killed mid-transfer on $layout ranks ends the job, nothing left" '
        test_within 60 shim_run $layout shm shm_faults die.out die.err die &&
        echo "job ended with $run_rc" && cat die.err &&
        test $run_rc -ne 0 && test $run_rc -ne 124 &&
        grep "rank 1 on .* was killed by signal 9" die.err &&
        netns_wait_none_named shm_faults.shim 10 1 2 &&
        shm_empty
    '
done

# segment_mapped I: a rank of shm_faults on host I has mapped its node's
# segment (it is in MPI_Init, past making or opening it).
segment_mapped() {
    local pid
    for pid in $(netns_pids "$1"); do
        [ "$(cat /proc/$pid/comm 2>/dev/null)" = shm_faults.shim ] &&
            grep -q /shoal-mpi- /proc/$pid/maps 2>/dev/null && return 0
    done
    return 1
}

# Rank 3 never starts MPI_Init: it waits until the segments of both hosts
# are made and mapped (ranks 0 and 2 make them, then wait for rank 3 in
# the wire-up), then exits. The job ends with its status, killing ranks
# that were inside MPI_Init; nothing may stay in /dev/shm.
test_expect_success 'a rank failing while the others are in MPI_Init leaves no segment' '
    cat >early.sh <<-EOF &&
	#!/bin/sh
	if [ "\$SHOAL_RANK" = 3 ]; then
	    while [ ! -e "$TRASH/go" ]; do sleep 0.1; done
	    exit 3
	fi
	exec "$bin/shm_faults.shim" pingpong
	EOF
    chmod +x early.sh && rm -f go &&
    netns_bg 1 "$SHOAL" run --timeout 60 $(layout_args 2+2) ./early.sh \
        >early.out 2>early.err &&
    p=$netns_bg_pid &&
    i=0 &&
    until segment_mapped 1 && segment_mapped 2; do
        i=$((i + 1)) && test $i -lt 300 || exit 1
        sleep 0.1
    done &&
    touch go &&
    set +e && test_within 30 wait $p; rc=$? && set -e &&
    cat early.err && test $rc = 3 &&
    netns_wait_none_named shm_faults.shim 10 1 2 &&
    shm_empty
'

test_expect_success 'daemons stop and nothing runs after them' '
    for i in 1 2; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2
'

test_done
