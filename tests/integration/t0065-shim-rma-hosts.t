#!/bin/sh
# SPDX-License-Identifier: MIT
# benchmarks/shim-rma.sh across two simulated hosts (SHIM_HOSTS=1): one
# round of shoal's MPI and of Open MPI's TCP transport (osc pt2pt) under
# the same `shoal run`, one rank per host. Every run must finish, move at
# least shim_rma's payload over the hosts' links (the script checks the
# veth counters and records each run), and give a ratio against Open MPI
# for every operation and epoch kind.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
    test_skip 'shim-rma.sh across hosts' 'not root: simulated hosts need network namespaces'
    test_done
    exit 0
fi
if [ -z "$MPICC_OPENMPI" ]; then
    test_skip 'shim-rma.sh across hosts' 'Open MPI (mpicc.openmpi) is not installed'
    test_done
    exit 0
fi

test_expect_success 'one round across hosts, shoal against Open MPI over TCP' '
    timeout -k 10 500 env SHIM_HOSTS=1 ROUNDS=1 RUN_TIMEOUT=200 \
        SHIM_BENCH_OUT="$TRASH/results" \
        "$SHOAL_SRCDIR/benchmarks/shim-rma.sh" "$SHOAL_BUILDDIR" >bench.out 2>bench.err ||
    { cat bench.out bench.err; exit 1; }
    test ! -s "$TRASH/results/errors.json" || { cat "$TRASH/results/errors.json"; exit 1; }
    for c in put,8,latency_us put,1048576,bandwidth_MBps \
             get,8,latency_us get,1048576,bandwidth_MBps \
             acc,8,latency_us acc,1048576,bandwidth_MBps \
             fence,0,epoch_us lock_unlock,0,epoch_us lock_put_unlock,8,epoch_us; do
        b=${c%%,*} && r=${c#*,} && s=${r%%,*} && m=${r#*,} &&
        grep "\"compare\":\"$b\",\"impl\":\"shoal-ofi\",\"ref\":\"openmpi-tcp\",\"size\":$s,\"metric\":\"$m\",.*\"ratio\":[0-9]" bench.err ||
        { echo "no ratio for $c"; cat bench.err; exit 1; }
    done
'

test_expect_success 'both runs crossed the links with at least their payload' '
    for impl in shoal-ofi openmpi-tcp; do
        line=$(grep "\"impl\":\"$impl\"" "$TRASH/results/link.json") &&
        echo "$line" &&
        rx=$(echo "$line" | sed "s/.*\"rx_bytes\":\([0-9]*\).*/\1/") &&
        payload=$(echo "$line" | sed "s/.*\"payload\":\([0-9]*\).*/\1/") &&
        test "$payload" -gt 0 && test "$rx" -ge "$payload" || exit 1
    done
'

test_done
