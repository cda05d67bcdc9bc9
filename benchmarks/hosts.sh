# SPDX-License-Identifier: MIT
# hosts.sh - the across-hosts machinery of the MPI benchmarks
# (shim-bench.sh, shim-rma.sh with SHIM_HOSTS=1), sourced by them.
#
# Contract:
#   hosts_setup NAME         root only: two namespace hosts of
#                            tests/integration/netns.sh (each with its own
#                            network, IPC and mount namespace, so no library
#                            can take shared memory from one to the other),
#                            a daemon on each, both seen by host 1. Needs
#                            src and build set; sets SHOAL, TRASH, enters
#                            TRASH; the hosts and TRASH go at exit (netns.sh's
#                            EXIT trap). Exits the script with a message
#                            naming NAME when the hosts cannot be made.
#   hosts_rx                 bytes received so far on the eth0 of the hosts
#                            in HOSTS_RX ("2" unless set; "1 2" sums both).
#   hosts_run IMPL MIN ARGS...
#                            `shoal run --map-by node ARGS` from host 1
#                            through the caller's run() (which bounds the
#                            command and records its output), then appends
#                            to $out/link.json the bytes hosts_rx grew by;
#                            fails if the run failed, or if fewer than MIN
#                            bytes crossed (an error object goes to
#                            $out/errors.json and stderr).

hosts_setup() {
    SHOAL_BUILDDIR=$build SHOAL_SRCDIR=$src SHOAL="$build/cmd/shoal"
    export SHOAL_BUILDDIR SHOAL_SRCDIR
    TRASH=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench-hosts.XXXXXX")
    cd "$TRASH" || exit 1
    . "$src/tests/integration/netns.sh"
    if ! netns_setup 2; then
        echo "$1: cannot make hosts: $netns_skip_reason" >&2
        exit 1
    fi
    . "$src/tests/integration/pool.sh"
    "$SHOAL" keygen -o pool.key >/dev/null || exit 1
    for i in 1 2; do daemon_start $i || exit 1; done
    # Host 1 has 2 cores, host 2 has 4 (netns_topology).
    wait_free 1 6 30 || exit 1
}

hosts_rx() {
    local h sum=0
    for h in ${HOSTS_RX:-2}; do
        sum=$((sum + $(netns_rx_bytes "$h")))
    done
    echo $sum
}

hosts_run() {
    local impl=$1 min=$2 before after rc label
    shift 2
    before=$(hosts_rx)
    # run() bounds a command, not a function: enter host 1 with nsenter.
    run nsenter -t "$(netns_holder 1)" -n -i -m -u -w"$TRASH" -- \
        "$SHOAL" run --timeout "${RUN_TIMEOUT:-300}" --map-by node "$@"
    rc=$?
    after=$(hosts_rx)
    label=$(echo "${HOSTS_RX:-2}" | sed 's/ /+/g')
    echo "{\"link\":\"host$label-eth0\",\"impl\":\"$impl\",\"rx_bytes\":$((after - before)),\"payload\":$min}" \
        >>"$out/link.json"
    if [ $rc -eq 0 ] && [ $((after - before)) -lt "$min" ]; then
        echo "{\"error\":\"traffic did not cross the link\",\"impl\":\"$impl\",\"rx_bytes\":$((after - before))}" \
            | tee -a "$out/errors.json" >&2
        return 1
    fi
    return $rc
}
