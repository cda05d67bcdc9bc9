#!/bin/sh
# SPDX-License-Identifier: MIT
# The multi-host harness itself: simulated hosts are joined by a network
# they alone share, are separate machines as far as shared memory and names
# go, and leave nothing behind.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

# Marks this run's processes, apart from a parallel run's.
MARK=9$$

test_expect_success 'hosts reach each other over their links' '
    test_within 10 netns_ping 1 "$(netns_addr 2)" &&
    test_within 10 netns_ping 2 "$(netns_addr 3)" &&
    test_within 10 netns_ping 3 "$(netns_addr 1)"
'

test_expect_success 'an address no host has does not answer' '
    ! netns_ping 1 "$NETNS_NET.99" 1
'

test_expect_success 'hosts have no route off their own subnet' '
    for i in 1 2 3; do
        netns_exec $i ip -4 route show | sed "s/ *\$//" >routes &&
        echo "$NETNS_NET.0/24 dev eth0 proto kernel scope link src $(netns_addr $i)" >expect &&
        test_cmp expect routes || exit 1
    done
'

test_expect_success 'each host has its own hostname, the machine keeps its own' '
    for i in 1 2 3; do netns_exec $i hostname; done >out &&
    printf "%s\n" "$(netns_name 1)" "$(netns_name 2)" "$(netns_name 3)" >expect &&
    test_cmp expect out &&
    test "$(hostname)" = "$HOST"
'

test_expect_success '/dev/shm is per host and lasts as long as the host' '
    netns_exec 1 sh -c "echo one >/dev/shm/shoal-netns-$$" &&
    test "$(netns_exec 1 cat /dev/shm/shoal-netns-$$)" = one &&
    netns_exec 2 test ! -e /dev/shm/shoal-netns-$$ &&
    test ! -e /dev/shm/shoal-netns-$$
'

test_expect_success 'System V IPC is per host' '
    netns_exec 1 ipcmk -M 4096 &&
    test "$(netns_exec 1 ipcs -m | grep -c "^0x")" -eq 1 &&
    test "$(netns_exec 2 ipcs -m | grep -c "^0x")" -eq 0
'

test_expect_success 'the state directory is per host' '
    netns_exec 1 sh -c "echo h1 >\"$NETNS_STATE/who\"" &&
    netns_exec 2 sh -c "echo h2 >\"$NETNS_STATE/who\"" &&
    test "$(netns_exec 1 cat "$NETNS_STATE/who")" = h1 &&
    test "$(netns_exec 2 cat "$NETNS_STATE/who")" = h2 &&
    test ! -e "$NETNS_STATE/who"
'

test_expect_success 'commands run in the current directory' '
    mkdir -p sub && cd sub &&
    test "$(netns_exec 2 pwd)" = "$TRASH/sub"
'

test_expect_success 'a TCP connection between two hosts' '
    netns_bg 2 "$NETNS_PYTHON" "$NETNS_TOOL" tcp-serve "$(netns_addr 2)" 7000 10 >served &&
    test_within 10 netns_exec 1 "$NETNS_PYTHON" "$NETNS_TOOL" tcp-send \
        "$(netns_addr 2)" 7000 hello >answer &&
    echo "echo $(netns_name 2) hello" >expect &&
    test_cmp expect answer &&
    wait $netns_bg_pid &&
    echo "from $(netns_addr 1): hello" >expect &&
    test_cmp expect served
'

test_expect_success 'traffic between two hosts crosses the veth link' '
    before2=$(netns_rx_bytes 2) && before3=$(netns_rx_bytes 3) &&
    netns_bg 2 "$NETNS_PYTHON" "$NETNS_TOOL" tcp-serve "$(netns_addr 2)" 7001 10 >/dev/null &&
    head -c 200000 /dev/zero | netns_exec 1 "$NETNS_PYTHON" "$NETNS_TOOL" \
        tcp-send "$(netns_addr 2)" 7001 - >/dev/null &&
    wait $netns_bg_pid &&
    after2=$(netns_rx_bytes 2) && after3=$(netns_rx_bytes 3) &&
    echo "host 2: $before2 -> $after2, host 3: $before3 -> $after3" &&
    test $((after2 - before2)) -ge 200000 &&
    test $((after3 - before3)) -lt 10000
'

test_expect_success 'traffic inside one host does not touch its link' '
    before=$(netns_rx_bytes 1) &&
    netns_bg 1 "$NETNS_PYTHON" "$NETNS_TOOL" tcp-serve 127.0.0.1 7002 10 >/dev/null &&
    head -c 200000 /dev/zero |
        netns_exec 1 "$NETNS_PYTHON" "$NETNS_TOOL" tcp-send 127.0.0.1 7002 - >/dev/null &&
    wait $netns_bg_pid &&
    after=$(netns_rx_bytes 1) &&
    test $((after - before)) -lt 10000
'

test_expect_success 'a cut link makes a host unreachable, restoring it brings it back' '
    netns_ping 1 "$(netns_addr 2)" &&
    netns_link_down 2 &&
    ! netns_ping 1 "$(netns_addr 2)" 1 &&
    ! netns_ping 2 "$(netns_addr 3)" 1 &&
    netns_ping 1 "$(netns_addr 3)" &&
    netns_link_up 2 &&
    test_within 10 netns_ping 1 "$(netns_addr 2)" 5 &&
    test_within 10 netns_ping 2 "$(netns_addr 3)" 5
'

test_expect_success 'each host has a different synthetic topology' '
    for i in 1 2 3 4 5 6; do netns_topology $i; done | sort -u | wc -l >n &&
    test "$(cat n)" -eq 6 &&
    for i in 1 2 3; do
        SHOAL_TOPOLOGY=$(netns_topology $i) "$SHOAL" run --bind-to none \
            sh -c "echo \$SHOAL_SIZE" | sort -u >size &&
        netns_cores $i >expect && test_cmp expect size || exit 1
    done
'

test_expect_success 'processes started with netns_bg or detached are on their host' '
    netns_bg 3 sleep 7$$0 &&
    netns_exec 3 setsid sh -c "sleep 7$$5 </dev/null >/dev/null 2>&1 &" &&
    sleep 0.2 &&
    netns_pids 3 >pids &&
    grep -qx "$netns_bg_pid" pids &&
    test "$(pgrep -f "^sleep 7$$5")" != "" &&
    grep -qx "$(pgrep -f "^sleep 7$$5")" pids
'

test_expect_success 'a host'"'"'s processes are counted by name, and waited for' '
    cp /bin/sleep idlecheck &&
    netns_bg 2 "$TRASH/idlecheck" 60 &&
    p=$netns_bg_pid &&
    test_within 5 sh -c "until grep -qx idlecheck /proc/$p/comm; do sleep 0.1; done" &&
    test "$(netns_count_named 2 idlecheck)" -eq 1 &&
    test "$(netns_count_named 1 idlecheck)" -eq 0 &&
    ! netns_idle 2 &&
    ! netns_wait_none_named idlecheck 1 1 2 &&
    kill $p &&
    { wait $p || :; } &&
    netns_wait_none_named idlecheck 5 1 2 &&
    netns_idle 2
'

# child SCRIPT: write child.t, a test file of its own that sets up 2 hosts,
# starts a process on each (one detached) and runs SCRIPT. It writes its
# namespace prefix, subnet and trash directory to child.prefix.
child() {
    cat >child.t <<-EOF
	#!/bin/sh
	. "\$SHOAL_SRCDIR/tests/integration/lib.sh"
	. "\$SHOAL_SRCDIR/tests/integration/netns.sh"
	netns_setup_or_skip 2
	echo "\$NETNS_PREFIX \$NETNS_NET \$TRASH" >"$TRASH/child.prefix"
	netns_bg 1 sleep ${MARK}1
	netns_exec 2 setsid sh -c "sleep ${MARK}2 </dev/null >/dev/null 2>&1 &"
	$1
	EOF
    rm -f child.prefix child.up && chmod +x child.t
}

# child_bg: start child.t in the background, pid in $child_pid; wait until
# it says it is up.
child_bg() {
    ./child.t >child.out 2>&1 &
    child_pid=$!
    i=0
    while [ ! -f child.up ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    test -f child.up
}

# left_behind PREFIX NET: what a test with that prefix and subnet left.
left_behind() {
    ip netns list | grep "^$1-"
    pgrep -af "^sleep $MARK"
    ls -d "$NETNS_LOCKS/${2##*.}" 2>/dev/null
    return 0
}

test_expect_success 'a test that ends leaves no namespace, process or lock' '
    child "touch $TRASH/child.ran" &&
    test_within 20 ./child.t >child.out 2>&1 &&
    test -f child.ran && read prefix net trash <child.prefix &&
    left_behind $prefix $net >left && test_cmp /dev/null left &&
    test ! -e "$trash"
'

test_expect_success 'a test that fails cleans up' '
    child "exit 3" &&
    test_within 20 test_expect_code 3 ./child.t >child.out 2>&1 &&
    read prefix net trash <child.prefix &&
    left_behind $prefix $net >left && test_cmp /dev/null left
'

test_expect_success 'a test interrupted by a signal cleans up' '
    child "netns_bg 1 sleep ${MARK}3; touch $TRASH/child.up; wait \$netns_bg_pid" &&
    child_bg && read prefix net trash <child.prefix &&
    ip netns list | grep -q "^$prefix-h1" &&
    kill -TERM $child_pid &&
    test_within 20 test_expect_code 143 wait $child_pid &&
    left_behind $prefix $net >left && test_cmp /dev/null left &&
    test ! -e "$trash"
'

test_expect_success 'what a killed test left is removed by the next one' '
    child "netns_bg 1 sleep ${MARK}4; touch $TRASH/child.up; wait \$netns_bg_pid" &&
    child_bg && read prefix net trash <child.prefix &&
    netns_hold_sweeps 8 &&
    kill -KILL $child_pid && test_expect_code 137 wait $child_pid &&
    rm -rf "$trash" &&
    ip netns list | grep -q "^$prefix-h1" &&
    test -d "$NETNS_LOCKS/${net##*.}" &&
    pgrep -f "^sleep ${MARK}4" &&
    exec 8>&- &&
    child "touch $TRASH/child.ran" &&
    test_within 20 ./child.t >child.out 2>&1 &&
    left_behind $prefix $net >left && test_cmp /dev/null left
'

test_expect_success 'without root, multi-host tests are skipped with the reason' '
    if ! unshare --user --map-user=1000 true 2>/dev/null; then
        echo "no user namespaces: cannot check" && exit 0
    fi &&
    child "" &&
    unshare --user --map-user=1000 --map-group=1000 ./child.t >child.out 2>&1 &&
    grep "^ok 1 - multi-host tests on 2 simulated hosts # SKIP not root" child.out &&
    test ! -e child.prefix
'

test_done
