# SPDX-License-Identifier: MIT
# netns.sh - simulated hosts for shoal's multi-host tests.
#
# Sourced after lib.sh. A "host" is a network namespace with its own IPC,
# mount and UTS namespaces: its own eth0 address, hostname, /dev/shm and
# state directory. A network namespace alone is not a separate machine: an
# MPI library would still find its peers' shared memory segments in the
# common /dev/shm and use them instead of the network. All hosts of a test
# hang off one bridge that lives in a hub namespace of its own, so nothing is
# added to the machine's own namespace:
#
#     shoal-PID-h1          shoal-PID-hub            shoal-PID-h2
#     eth0 10.213.X.1 ---- veth1   br0   veth2 ---- eth0 10.213.X.2
#
# PID is the test's process id and X a subnet number held by a lock while
# the test runs, so tests running in parallel never share a name or subnet.
#
# Each host has a long-lived holder process (sleep) that owns its
# namespaces; commands enter them with nsenter. The holder's mount namespace
# has private tmpfs mounts on /dev/shm and on $NETNS_STATE, a directory at
# the same path on every host (like /var/lib/shoal on real machines) whose
# content each host sees for itself; it survives daemon restarts and
# disappears with the host.
#
#   netns_setup N            make hosts 1..N (at the top level of the test,
#                            not inside a test body); returns 1 with the
#                            reason in $netns_skip_reason when it cannot
#   netns_setup_or_skip N    the same, but on failure records a skipped test
#                            with the reason and ends the test file
#   netns_exec I CMD...      run CMD on host I, in the current directory
#   netns_bg I CMD...        the same in the background; pid in
#                            $netns_bg_pid, ended at teardown
#   netns_name I             host I's name (its hostname and netns name)
#   netns_addr I             host I's address, 10.213.X.I
#   netns_topology I         a synthetic hwloc topology, different for each
#                            host, for SHOAL_TOPOLOGY
#   netns_cores I            the number of cores of netns_topology I
#   netns_link_down I        cut host I's link (silently: packets are lost)
#   netns_link_up I          restore it
#   netns_rx_bytes I [IF]    bytes received on host I's eth0 (or on its
#                            interface IF, such as lo)
#   netns_ping I ADDR [T]    whether ADDR answers an ICMP echo from host I
#                            within T seconds (default 2)
#   netns_pids I             pids of every process on host I
#   $NETNS_PYTHON $NETNS_TOOL  network probes (see nettool.py)
#   netns_teardown           end every process on the hosts, delete the
#                            namespaces (with them the veths and bridge) and
#                            free the subnet; idempotent, and run from the
#                            EXIT trap set by netns_setup
#
# Hosts share the machine's CPUs: give each its SHOAL_TOPOLOGY (netns_topology
# I), on which bindings are computed and reported but not applied, so two
# hosts never pin ranks to the same core.
#
# Only root can make namespaces; without root or a working `ip netns`, tests
# are skipped with the reason. A test killed with SIGKILL cannot clean up:
# the next netns_setup removes namespaces named after a test whose process
# is gone (and ends the processes in them).

NETNS_PREFIX="shoal-$$"
NETNS_HUB="$NETNS_PREFIX-hub"
NETNS_STATE="$TRASH/host-state"
NETNS_TOOL="$SHOAL_SRCDIR/tests/integration/nettool.py"
NETNS_LOCKS="${TMPDIR:-/tmp}/shoal-netns-subnets"
NETNS_DIR="$TRASH/.netns"
NETNS_NET=
NETNS_HOSTS=0
netns_skip_reason=
# A plain interpreter: wrappers such as pyenv's shims take seconds to start
# on a loaded machine, which tests polling a daemon cannot afford.
NETNS_PYTHON=$(command -v /usr/bin/python3 || command -v python3)

netns_name() {
    echo "$NETNS_PREFIX-h$1"
}

netns_addr() {
    echo "$NETNS_NET.$1"
}

# Heterogeneous machines: core counts 2, 4, 3, 8, 1, 6, ... so that a test
# can tell every host's record apart.
netns_topology() {
    case $(( ($1 - 1) % 6 + 1 )) in
    1) echo "package:1 core:2 pu:1" ;;
    2) echo "package:2 core:2 pu:2" ;;
    3) echo "package:1 core:3 pu:1" ;;
    4) echo "package:2 numa:1 core:4 pu:2" ;;
    5) echo "package:1 core:1 pu:1" ;;
    6) echo "package:2 core:3 pu:1" ;;
    esac
}

netns_cores() {
    case $(( ($1 - 1) % 6 + 1 )) in
    1) echo 2 ;; 2) echo 4 ;; 3) echo 3 ;; 4) echo 8 ;; 5) echo 1 ;; 6) echo 6 ;;
    esac
}

netns_holder() {
    cat "$NETNS_DIR/h$1.holder" 2>/dev/null || {
        echo "netns: no host $1" >&2
        return 1
    }
}

netns_exec() {
    local holder
    holder=$(netns_holder "$1") || return 1
    shift
    # Entering a mount namespace moves to its root: come back to $PWD.
    nsenter -t "$holder" -n -i -m -u -- \
        sh -c 'cd "$1" || exit 125; shift; exec "$@"' netns-exec "$PWD" "$@"
}

netns_bg() {
    local holder
    holder=$(netns_holder "$1") || return 1
    shift
    # nsenter and sh exec the command, so $! is the command's pid.
    nsenter -t "$holder" -n -i -m -u -- \
        sh -c 'cd "$1" || exit 125; shift; exec "$@"' netns-exec "$PWD" "$@" &
    netns_bg_pid=$!
    echo "$netns_bg_pid" >>"$NETNS_DIR/bg-pids"
}

netns_pids() {
    ip netns pids "$(netns_name "$1")" 2>/dev/null
}

# netns_count_named I NAME: processes named NAME on host I. The hosts share
# one pid namespace, so count those in host I's network namespace.
netns_count_named() {
    local pid
    for pid in $(netns_pids "$1"); do
        cat "/proc/$pid/comm" 2>/dev/null
    done | grep -cx "$2"
}

# netns_wait_none_named NAME SECONDS I...: within SECONDS, none of hosts
# I... runs a process named NAME.
netns_wait_none_named() {
    local name end i n
    name=$1
    end=$(($(date +%s) + $2))
    shift 2
    while :; do
        n=0
        for i in "$@"; do n=$((n + $(netns_count_named "$i" "$name"))); done
        [ "$n" -eq 0 ] && return 0
        [ "$(date +%s)" -ge "$end" ] && {
            echo "$n processes named $name still run" >&2
            return 1
        }
        sleep 0.2
    done
}

# netns_idle I...: hosts I... run nothing but the process that holds their
# namespaces; the first that runs more is named, with its pids.
netns_idle() {
    local i
    for i in "$@"; do
        [ "$(netns_pids "$i" | wc -l)" -eq 1 ] || {
            echo "host $i runs:" $(netns_pids "$i") >&2
            return 1
        }
    done
}

netns_link_down() {
    ip -n "$NETNS_HUB" link set "veth$1" down
}

netns_link_up() {
    ip -n "$NETNS_HUB" link set "veth$1" up
}

netns_rx_bytes() {
    local holder
    holder=$(netns_holder "$1") || return 1
    # The holder's mount namespace has the sysfs of its network namespace.
    nsenter -t "$holder" -n -m -- \
        cat "/sys/class/net/${2:-eth0}/statistics/rx_bytes"
}

netns_ping() {
    if command -v ping >/dev/null 2>&1; then
        netns_exec "$1" ping -q -c 1 -W "${3:-2}" "$2" >/dev/null
    else
        netns_exec "$1" "$NETNS_PYTHON" "$NETNS_TOOL" ping "$2" "${3:-2}"
    fi
}

# netns_stale_sweep: delete the namespaces of tests that are gone (killed
# before their teardown could run), ending the processes left in them.
# Sweeps take $NETNS_LOCKS/.sweep, so a test that inspects what a killed
# test left can hold them off (netns_hold_sweeps).
netns_stale_sweep() {
    mkdir -p "$NETNS_LOCKS" 2>/dev/null
    (
        flock -w 60 9 || true
        netns_stale_sweep_locked
    ) 9>"$NETNS_LOCKS/.sweep"
}

# netns_hold_sweeps FD: no test sweeps until FD, opened on the sweep lock
# here, is closed (or the calling shell ends).
netns_hold_sweeps() {
    mkdir -p "$NETNS_LOCKS" 2>/dev/null
    eval "exec $1>\"\$NETNS_LOCKS/.sweep\"" && flock "$1"
}

netns_stale_sweep_locked() {
    local ns owner
    for ns in $(ip netns list 2>/dev/null | sed -n \
        's/^\(shoal-[0-9][0-9]*-\(hub\|h[0-9][0-9]*\)\)\( .*\)\{0,1\}$/\1/p'); do
        owner=${ns#shoal-}
        owner=${owner%%-*}
        kill -0 "$owner" 2>/dev/null && continue
        netns_kill_all "$ns"
        ip netns del "$ns" 2>/dev/null
    done
    for owner in $(ls "$NETNS_LOCKS" 2>/dev/null); do
        case $owner in *[!0-9]*) continue ;; esac
        ns=$(cat "$NETNS_LOCKS/$owner/pid" 2>/dev/null) || continue
        [ -n "$ns" ] && ! kill -0 "$ns" 2>/dev/null &&
            mv "$NETNS_LOCKS/$owner" "$NETNS_LOCKS/stale.$$.$owner" 2>/dev/null &&
            rm -rf "$NETNS_LOCKS/stale.$$.$owner"
    done
}

# netns_kill_all NS...: end every process in the given namespaces, TERM
# first, KILL after 3 s; returns when none is left (or after 5 s).
netns_kill_all() {
    local ns pids i
    for ns in "$@"; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
    done
    i=0
    while [ $i -lt 50 ]; do
        pids=
        for ns in "$@"; do
            pids="$pids$(ip netns pids "$ns" 2>/dev/null)"
        done
        [ -z "$pids" ] && return 0
        if [ $i -eq 30 ]; then
            for ns in "$@"; do
                kill -KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
            done
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "netns: processes left in $*" >&2
    return 1
}

# netns_pick_subnet: take a free 10.213.X.0/24, X in 1..254, under a lock
# directory that holds our pid.
netns_pick_subnet() {
    local i x
    i=0
    while [ $i -lt 254 ]; do
        x=$(( ($$ + i) % 254 + 1 ))
        # again each time: a test ending removes the directory when empty
        mkdir -p "$NETNS_LOCKS" 2>/dev/null
        if mkdir "$NETNS_LOCKS/$x" 2>/dev/null; then
            echo $$ >"$NETNS_LOCKS/$x/pid"
            echo "$NETNS_LOCKS/$x" >"$NETNS_DIR/subnet-lock"
            NETNS_NET=10.213.$x
            return 0
        fi
        i=$((i + 1))
    done
    netns_skip_reason="no free subnet in 10.213.0.0/16 (locks in $NETNS_LOCKS)"
    return 1
}

netns_setup() {
    local n i ns holder
    n=$1
    netns_skip_reason=
    if [ "$(id -u)" != 0 ]; then
        netns_skip_reason="not root: simulated hosts need network namespaces"
        return 1
    fi
    for i in ip unshare nsenter mount hostname; do
        if ! command -v $i >/dev/null 2>&1; then
            netns_skip_reason="no '$i' command"
            return 1
        fi
    done
    if [ -z "$NETNS_PYTHON" ]; then
        netns_skip_reason="no 'python3' command"
        return 1
    fi
    mkdir -p "$NETNS_DIR" "$NETNS_STATE" || return 1
    trap 'netns_teardown; rm -rf "$TRASH"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
    netns_stale_sweep
    netns_pick_subnet || return 1
    if ! ip netns add "$NETNS_HUB" 2>"$NETNS_DIR/err"; then
        netns_skip_reason="ip netns does not work here: $(cat "$NETNS_DIR/err")"
        netns_teardown
        return 1
    fi
    echo "$NETNS_HUB" >>"$NETNS_DIR/names"
    if ! netns_setup_hub; then
        netns_skip_reason="cannot make a bridge: $(cat "$NETNS_DIR/err")"
        netns_teardown
        return 1
    fi
    i=1
    while [ $i -le "$n" ]; do
        if ! netns_setup_host $i 2>"$NETNS_DIR/err"; then
            netns_skip_reason="cannot make host $i: $(cat "$NETNS_DIR/err")"
            netns_teardown
            return 1
        fi
        NETNS_HOSTS=$i
        i=$((i + 1))
    done
    # Wait for every holder to have made its mounts and hostname.
    i=1
    while [ $i -le "$n" ]; do
        netns_wait_ready $i || {
            netns_skip_reason="host $i did not start: $(cat "$NETNS_DIR/h$i.log")"
            netns_teardown
            return 1
        }
        i=$((i + 1))
    done
}

netns_setup_or_skip() {
    if ! netns_setup "$1"; then
        test_skip "multi-host tests on $1 simulated hosts" "$netns_skip_reason"
        test_done
        exit
    fi
}

# No IPv6: its neighbour discovery would add traffic to the links that
# tests count.
netns_no_ipv6() {
    ip netns exec "$1" sh -c '
        for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
                 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
            [ -w $f ] && echo 1 >$f
        done; exit 0'
}

netns_setup_hub() {
    netns_no_ipv6 "$NETNS_HUB" 2>"$NETNS_DIR/err" &&
        ip -n "$NETNS_HUB" link add br0 type bridge 2>"$NETNS_DIR/err" &&
        ip -n "$NETNS_HUB" link set br0 up 2>"$NETNS_DIR/err"
}

netns_setup_host() {
    local ns
    ns=$(netns_name "$1")
    ip netns add "$ns" || return 1
    echo "$ns" >>"$NETNS_DIR/names"
    netns_no_ipv6 "$ns" &&
        ip -n "$ns" link set lo up &&
        ip -n "$NETNS_HUB" link add "veth$1" type veth peer name eth0 \
            netns "$ns" &&
        ip -n "$NETNS_HUB" link set "veth$1" master br0 &&
        ip -n "$NETNS_HUB" link set "veth$1" up &&
        ip -n "$ns" addr add "$(netns_addr "$1")/24" dev eth0 &&
        ip -n "$ns" link set eth0 up || return 1
    # The holder: ip netns exec and unshare exec, so $! is the sleep.
    ip netns exec "$ns" unshare --ipc --mount --uts --propagation private \
        sh -c 'mount -t tmpfs -o mode=1777,size=256m shoal-shm /dev/shm &&
               mount -t tmpfs -o mode=0755,size=256m shoal-state "$1" &&
               hostname "$2" && : >"$3" && exec sleep 2147483647' \
        netns-holder "$NETNS_STATE" "$ns" "$NETNS_DIR/h$1.ready" \
        </dev/null >"$NETNS_DIR/h$1.log" 2>&1 &
    echo $! >"$NETNS_DIR/h$1.holder"
}

netns_wait_ready() {
    local i
    i=0
    while [ ! -e "$NETNS_DIR/h$1.ready" ]; do
        [ $i -ge 100 ] && return 1
        sleep 0.05
        i=$((i + 1))
    done
}

netns_teardown() {
    local p ns names
    [ -d "$NETNS_DIR" ] || return 0
    if [ -f "$NETNS_DIR/bg-pids" ]; then
        for p in $(cat "$NETNS_DIR/bg-pids"); do
            kill -TERM "$p" 2>/dev/null
        done
    fi
    names=$(cat "$NETNS_DIR/names" 2>/dev/null)
    # Daemons detach from the test, so they are found by namespace.
    [ -n "$names" ] && netns_kill_all $names
    if [ -f "$NETNS_DIR/bg-pids" ]; then
        for p in $(cat "$NETNS_DIR/bg-pids"); do
            wait "$p" 2>/dev/null
        done
    fi
    for ns in $names; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ -f "$NETNS_DIR/subnet-lock" ]; then
        rm -rf "$(cat "$NETNS_DIR/subnet-lock")"
        rmdir "$NETNS_LOCKS" 2>/dev/null
    fi
    rm -rf "$NETNS_DIR"
    NETNS_HOSTS=0
    return 0
}
