#!/bin/sh
# SPDX-License-Identifier: MIT
# benchmarks/shim-bench.sh across two simulated hosts (SHIM_HOSTS=1): one
# short round of shoal's MPI and of Open MPI's TCP transport under the
# same `shoal run`, one rank per host. Every run must finish, move at
# least its ping-pong's payload over host 2's link (the script checks the
# veth counters and records each run), and give a ratio against Open MPI
# for the latency of 8 bytes and the bandwidth of 64 KiB.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

if [ "$(id -u)" != 0 ]; then
    test_skip 'shim-bench.sh across hosts' 'not root: simulated hosts need network namespaces'
    test_done
    exit 0
fi
if [ -z "$MPICC_OPENMPI" ]; then
    test_skip 'shim-bench.sh across hosts' 'Open MPI (mpicc.openmpi) is not installed'
    test_done
    exit 0
fi

test_expect_success 'one round across hosts, shoal against Open MPI over TCP' '
    timeout -k 10 400 env SHIM_HOSTS=1 ROUNDS=1 SIZES="8 65536" \
        PINGPONG_DIV=20 RUN_TIMEOUT=100 SHIM_BENCH_OUT="$TRASH/results" \
        "$SHOAL_SRCDIR/benchmarks/shim-bench.sh" "$SHOAL_BUILDDIR" >bench.out 2>bench.err ||
    { cat bench.out bench.err; exit 1; }
    test ! -s "$TRASH/results/errors.json" || { cat "$TRASH/results/errors.json"; exit 1; }
    grep "\"compare\":\"pingpong\",\"impl\":\"shoal-ofi\",\"ref\":\"openmpi-tcp\",\"ranks\":2,\"size\":8,\"metric\":\"latency_us\"" bench.out &&
    grep "\"compare\":\"pingpong\",\"impl\":\"shoal-ofi\",\"ref\":\"openmpi-tcp\",\"ranks\":2,\"size\":65536,\"metric\":\"bandwidth_GBps\"" bench.out
'

test_expect_success 'both runs crossed the link with at least their payload' '
    for impl in shoal-ofi openmpi-tcp; do
        line=$(grep "\"impl\":\"$impl\"" "$TRASH/results/link.json") &&
        echo "$line" &&
        rx=$(echo "$line" | sed "s/.*\"rx_bytes\":\([0-9]*\).*/\1/") &&
        payload=$(echo "$line" | sed "s/.*\"payload\":\([0-9]*\).*/\1/") &&
        test "$payload" -gt 0 && test "$rx" -ge "$payload" || exit 1
    done
'

# The system calls that move a message, counted with strace (load skews
# times and the number of polls, not these): over libfabric 1.17's
# tcp;ofi_rxm a ping-pong message costs the sender one sendto and the
# receiver one recvfrom, plus the tcp provider's completion signal (one
# write and one read on a socket pair: mpi-shim/README.md, "Between
# nodes"), about 4 in all; Open MPI's TCP transport makes 2 (writev,
# readv). More than 5 means the shim added calls of its own.
if ! command -v strace >/dev/null 2>&1; then
    test_skip 'the calls that move a message, under strace' 'strace is not installed'
else
    test_expect_success 'the calls that move a message, under strace' '
        timeout -k 10 400 env SHIM_HOSTS=1 SHIM_STRACE=1 ROUNDS=1 SIZES=0 \
            PINGPONG_DIV=10 RUN_TIMEOUT=150 SHIM_BENCH_OUT="$TRASH/strace" \
            "$SHOAL_SRCDIR/benchmarks/shim-bench.sh" "$SHOAL_BUILDDIR" >strace.out 2>strace.err ||
        { cat strace.out strace.err; exit 1; }
        grep "^{\"strace\"" strace.out &&
        io=$(sed -n "s/^{\"strace\":\"shoal-ofi\",\"syscall\":\"io\".*\"per_message\":\([0-9.]*\)}$/\1/p" strace.out) &&
        ref=$(sed -n "s/^{\"strace\":\"openmpi-tcp\",\"syscall\":\"io\".*\"per_message\":\([0-9.]*\)}$/\1/p" strace.out) &&
        echo "io calls per message: shoal $io, Open MPI $ref" &&
        awk -v io="$io" -v ref="$ref" "BEGIN { exit !(io >= 1.5 && ref >= 1.5 && io <= 5) }"
    '
fi

test_done
