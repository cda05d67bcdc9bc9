#!/bin/sh
# SPDX-License-Identifier: MIT
# A pool of node daemons on four simulated hosts, each a different machine:
# membership converges with every node's topology, a killed daemon or a cut
# link is detected by all the others, and strangers' datagrams (wrong key,
# garbage, replays) are counted and change nothing.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

if ! "$SHOAL" daemon --help >/dev/null 2>&1; then
    test_skip 'a pool on simulated hosts' 'shoal has no daemon command'
    test_done
    exit
fi
netns_setup_or_skip 4

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# members I: host I's view, one "NAME STATE CORES" line per member.
members() {
    netns_exec "$1" "$SHOAL" status --json >"status.$1" &&
        "$NETNS_PYTHON" "$POOLQ" members <"status.$1"
}

# counter I NAME...: the sum of host I's counters called NAME.
counter() {
    local i
    i=$1
    shift
    netns_exec "$i" "$SHOAL" status --stats --json >"stats.$i" &&
        "$NETNS_PYTHON" "$POOLQ" counter "$@" <"stats.$i"
}

# udp_rcvbuf_errors I: datagrams host I's kernel dropped, its socket
# buffers being full.
udp_rcvbuf_errors() {
    netns_exec "$1" awk '/^Udp:/ {
        if (!names) { for (i = 1; i <= NF; i++) name[i] = $i; names = 1 }
        else for (i = 1; i <= NF; i++) if (name[i] == "RcvbufErrors") print $i
    }' /proc/net/snmp
}

# line I STATE: the member line of host I in state STATE.
line() {
    echo "$(netns_name "$1") $2 $(netns_cores "$1")"
}

# wait_members SECONDS EXPECT I...: within SECONDS, every host I lists
# exactly the members in file EXPECT.
wait_members() {
    local limit want end i
    limit=$1
    want=$2
    shift 2
    end=$(($(date +%s) + limit))
    for i in "$@"; do
        while :; do
            members "$i" >"got.$i" 2>&1 && cmp -s "$want" "got.$i" && break
            if [ "$(date +%s)" -ge "$end" ]; then
                echo "host $i after ${limit}s:" >&2
                diff -u "$want" "got.$i" >&2
                return 1
            fi
            sleep 0.2
        done
    done
}

# all_alive: the file "alive" holds the four hosts, alive.
all_alive() {
    for i in 1 2 3 4; do line $i alive; done >alive
}

started=$(date +%s)
test_expect_success 'a daemon starts on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do
        test_within 15 daemon_start $i || exit 1
    done &&
    for i in 1 2 3 4; do
        netns_exec $i test -S "$SHOAL_DIR/control.sock" || exit 1
    done
'

test_expect_success 'every host sees the four hosts alive, with their cores' '
    all_alive &&
    wait_members 20 alive 1 2 3 4
'

test_expect_success 'a member'"'"'s age is the time since it entered its state' '
    for i in 1 4; do
        netns_exec $i "$SHOAL" status --json >status &&
        for j in 1 4; do
            age=$("$NETNS_PYTHON" "$POOLQ" age "$(netns_name $j)" <status) &&
            echo "host $i: age of $j is $age ms" &&
            test "$age" -ge 0 && test "$age" -le $(( ($(date +%s) - started + 1) * 1000 )) ||
            exit 1
        done
    done
'

test_expect_success 'the daemons talk over the links' '
    for i in 1 2 3 4; do netns_rx_bytes $i; done >before &&
    sleep 2 &&
    for i in 1 2 3 4; do netns_rx_bytes $i; done >after &&
    paste before after | while read b a; do
        test $((a - b)) -gt 1000 || { echo "rx $b -> $a" >&2; exit 1; }
    done
'

test_expect_success 'a daemon killed with SIGKILL is declared dead by all others' '
    pid=$(netns_exec 4 cat "$SHOAL_DIR/daemon.pid") &&
    netns_pids 4 | grep -qx "$pid" &&
    kill -KILL "$pid" &&
    { for i in 1 2 3; do line $i alive; done; line 4 dead; } >expect &&
    test_within 12 wait_members 10 expect 1 2 3
'

test_expect_success 'the restarted daemon is the same node and is alive again' '
    id=$(netns_exec 4 cat "$SHOAL_DIR/node-id") &&
    test_within 15 daemon_start 4 &&
    test "$(netns_exec 4 cat "$SHOAL_DIR/node-id")" = "$id" &&
    all_alive &&
    wait_members 20 alive 1 2 3 4
'

test_expect_success 'a host whose link is cut is declared dead, and sees the others dead' '
    netns_link_down 3 &&
    { line 1 alive; line 2 alive; line 3 dead; line 4 alive; } >expect &&
    test_within 12 wait_members 10 expect 1 2 4 &&
    { line 1 dead; line 2 dead; line 3 alive; line 4 dead; } >expect3 &&
    test_within 12 wait_members 10 expect3 3
'

test_expect_success 'when the link is restored the pool heals' '
    netns_link_up 3 &&
    all_alive &&
    test_within 35 wait_members 30 alive 1 2 3 4
'

test_expect_success 'a daemon with another key is never a member, and is counted' '
    "$SHOAL" keygen -o other.key &&
    before=$(counter 1 auth-failed) &&
    netns_exec 4 env SHOAL_TOPOLOGY="$(netns_topology 4)" "$SHOAL" daemon start \
        --dir "$SHOAL_DIR/stranger" --key "$TRASH/other.key" \
        --listen "$(netns_addr 4):7912" --join "$(netns_addr 1):$PORT" &&
    sleep 3 &&
    all_alive && wait_members 1 alive 1 2 3 4 &&
    after=$(counter 1 auth-failed) &&
    echo "auth-failed: $before -> $after" &&
    test "$after" -gt "$before" &&
    netns_exec 4 "$SHOAL" status --json --dir "$SHOAL_DIR/stranger" |
        "$NETNS_PYTHON" "$POOLQ" members >stranger &&
    line 4 alive >expect && test_cmp expect stranger &&
    test_within 15 netns_exec 4 "$SHOAL" daemon stop --dir "$SHOAL_DIR/stranger"
'

test_expect_success 'garbage datagrams are counted as dropped, membership stays healthy' '
    before=$(counter 1 short bad-magic bad-version auth-failed) &&
    kbefore=$(udp_rcvbuf_errors 1) &&
    netns_exec 2 "$NETNS_PYTHON" "$NETNS_TOOL" udp-garbage "$(netns_addr 1)" $PORT 200 &&
    sleep 1 &&
    after=$(counter 1 short bad-magic bad-version auth-failed) &&
    kafter=$(udp_rcvbuf_errors 1) &&
    echo "dropped: $before -> $after, by the kernel: $kbefore -> $kafter" &&
    test $((after - before + kafter - kbefore)) -ge 200 &&
    test $((after - before)) -ge 100 &&
    all_alive && wait_members 5 alive 1 2 3 4
'

test_expect_success 'replayed datagrams are counted as dropped, membership stays healthy' '
    netns_bg 1 "$NETNS_PYTHON" "$NETNS_TOOL" sniff-udp eth0 $PORT 5 10 >captured &&
    test_within 15 wait $netns_bg_pid &&
    test "$(wc -l <captured)" -eq 5 &&
    before=$(counter 1 replay too-old) &&
    netns_exec 2 "$NETNS_PYTHON" "$NETNS_TOOL" udp-send "$(netns_addr 1)" $PORT \
        $(cat captured) &&
    sleep 1 &&
    after=$(counter 1 replay too-old) &&
    echo "replayed: $before -> $after" &&
    test $((after - before)) -ge 5 &&
    all_alive && wait_members 5 alive 1 2 3 4
'

test_expect_success 'stopped daemons leave the pool and nothing runs after them' '
    test_within 15 netns_exec 4 "$SHOAL" daemon stop --dir "$SHOAL_DIR" &&
    { for i in 1 2 3; do line $i alive; done; line 4 left; } >expect &&
    wait_members 10 expect 1 2 3 &&
    for i in 1 2 3; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2 3 4 &&
    for i in 1 2 3 4; do
        netns_exec $i test ! -e "$SHOAL_DIR/daemon.pid" || exit 1
    done
'

test_done
