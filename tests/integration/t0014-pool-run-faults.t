#!/bin/sh
# SPDX-License-Identifier: MIT
# A job on the pool outlives none of what it depends on, and leaves
# nothing behind: when `shoal run` itself is killed, or the daemon of the
# host it was typed on, every rank on every host ends and the cores are
# given back.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# The job's processes are sleeps named nap (the hosts are held open by
# sleeps of their own).

# two_ranks_each: the job runs two ranks on every host.
two_ranks_each() {
    local i
    for i in 1 2 3; do
        echo "host $i runs $(netns_count_named $i nap) ranks"
        test "$(netns_count_named $i nap)" -eq 2 || return 1
    done
}

# The pool's cores: 2 + 4 + 3.
ALL=9

# The proxies' scratch directories (shoal-pmix.PID, shoal-ranks.PID.X),
# in a TMPDIR of this test's own
mkdir "$TRASH/tmp"
export TMPDIR="$TRASH/tmp"
# scratch_of PID: the scratch directories proxy PID left
scratch_of() { ls "$TMPDIR" | grep -E "^shoal-(pmix|ranks)\.$1(\.|\$)"; }

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    cp /bin/sleep nap &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_free $i $ALL 20 || exit 1; done
'

test_expect_success 'shoal run killed with SIGKILL: its ranks end on every host' '
    netns_bg 1 "$SHOAL" run -n 6 --map-by node "$TRASH/nap" 60 &&
    p=$netns_bg_pid &&
    sleep 2 &&
    two_ranks_each &&
    kill -KILL $p &&
    test_within 15 netns_wait_none_named nap 12 1 2 3 &&
    for i in 1 2 3; do wait_free $i $ALL 10 || exit 1; done
'

# proxy_pid I: the pid of the `shoal proxy` running on host I
proxy_pid() {
    for p in $(netns_pids "$1"); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "^[^ ]*shoal proxy" &&
            echo "$p" && return 0
    done
    return 1
}

test_expect_success 'a proxy killed on a host that stays up: the user is told so' '
    netns_bg 1 sh -c "\"$SHOAL\" run -n 6 --map-by node \"$TRASH/nap\" 60 >proxy.out 2>proxy.err; echo \$? >proxy.rc" &&
    p=$netns_bg_pid &&
    sleep 2 &&
    two_ranks_each &&
    pp=$(proxy_pid 2) &&
    echo "$pp" >killed-proxy &&
    kill -KILL "$pp" &&
    test_within 15 wait $p &&
    cat proxy.err &&
    test "$(cat proxy.rc)" = 1 &&
    grep "the proxy on node .$(netns_name 2). ended before its ranks were done (the node is up)" proxy.err &&
    test_within 15 netns_wait_none_named nap 12 1 2 3 &&
    for i in 1 2 3; do wait_free $i $ALL 15 || exit 1; done &&
    # a SIGKILL gives no time to clean up: its PMIx and counters
    # directories are left ...
    test "$(scratch_of "$pp" | wc -l)" = 2
'

test_expect_success 'the home daemon killed: the job fails, its ranks end everywhere' '
    netns_bg 1 sh -c "\"$SHOAL\" run -n 6 --map-by node \"$TRASH/nap\" 60 >home.out 2>home.err; echo \$? >home.rc" &&
    p=$netns_bg_pid &&
    sleep 2 &&
    two_ranks_each &&
    # ... until the next proxy starts
    ! scratch_of "$(cat killed-proxy)" &&
    kill -KILL "$(netns_exec 1 cat "$SHOAL_DIR/daemon.pid")" &&
    test_within 15 wait $p &&
    cat home.err &&
    test "$(cat home.rc)" = 1 &&
    grep "was lost" home.err &&
    test_within 15 netns_wait_none_named nap 12 1 2 3 &&
    for i in 2 3; do wait_free $i $((ALL - 2)) 15 || exit 1; done
'

test_expect_success 'daemons stop and nothing runs after them' '
    for i in 2 3; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2 3
'

test_done
