#!/bin/sh
# SPDX-License-Identifier: MIT
# The owner comes back and stays: a gang job with a rank on that
# workstation is suspended there, then vacated (asked to checkpoint and
# stop), and `shoal run --checkpoint` restarts it from its last version on
# the nodes whose owners are away, where it finishes. Three daemons on
# loopback ports: n2 is a desktop with a pty as its owner's keyboard, n1
# and n3 are dedicated.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

BASE=$((25000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_OWNER_UTMP=/dev/null
unset DISPLAY
# nor input devices, nor logind
export SHOAL_OWNER_EVDEV_DIR=/nonexistent/input
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket
# other work on this machine must not look like the owner
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
export SHOAL_OWNER_VACATE_GRACE=2
COUNT="$SHOAL_SRCDIR/tests/fixtures/ckpt-count.sh"
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    [ -n "$typist" ] && kill "$typist" 2>/dev/null
    [ -p "$TRASH/owner/cmd" ] && echo quit >"$TRASH/owner/cmd"
    for i in 1 2 3; do
        [ -f "$TRASH/d$i/daemon.pid" ] &&
            kill -TERM "$(cat "$TRASH/d$i/daemon.pid")" 2>/dev/null
    done
    sleep 1
    for i in 1 2 3; do
        [ -f "$TRASH/d$i/daemon.pid" ] &&
            kill -KILL "$(cat "$TRASH/d$i/daemon.pid")" 2>/dev/null
    done
    rm -rf "$TRASH"
}
trap stop_all EXIT

wait_until() {
    deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# owner_of N: node nN's owner state, as n1 sees it
owner_of() {
    SHOAL_DIR="$TRASH/d1" "$SHOAL" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["members"] if m["name"] == sys.argv[1]]
print(m[0].get("owner", "?") if m else "none")' "n$1"
}
owner_is() { test "$(owner_of "$1")" = "$2"; }
alive_count() {
    SHOAL_DIR="$TRASH/d1" "$SHOAL" status --json | python3 -c '
import json, sys
print(sum(m["state"] == "alive" for m in json.load(sys.stdin)["members"]))'
}
type_now() { echo "$1" >"$TRASH/owner/cmd"; }

mkdir "$TRASH/owner"
python3 "$SHOAL_SRCDIR/tests/integration/ptyowner.py" "$TRASH/owner" &
wait_until 5 test -s "$TRASH/owner/tty"
TTY=$(cat "$TRASH/owner/tty")
type_now old

test_expect_success 'three daemons; the desktop lends while its owner is away' '
    for i in 1 2 3; do
        extra= &&
        [ $i = 2 ] && extra="--lend desktop --owner-idle 10 --owner-ttys $TTY --vacate-after 4"
        "$SHOAL" daemon start --dir "$TRASH/d$i" --key "$TRASH/pool.key" \
            --name n$i --listen "127.0.0.1:$((BASE + i))" \
            --join "127.0.0.1:$((BASE + 1 + (i == 1)))" $extra || exit 1
    done &&
    wait_until 20 sh -c "test \"\$(SHOAL_DIR=$TRASH/d1 $SHOAL status --json | grep -c '\"alive\"')\" -ge 3" &&
    wait_until 20 owner_is 2 away
'

test_expect_success 'the owner returns and stays: the job is vacated there and finishes on the others' '
    export SHOAL_DIR="$TRASH/d1" &&
    test_bg sh -c "\"$SHOAL\" run -n 3 --map-by node --checkpoint=1 --checkpoint-dir \"$TRASH/ck\" \"$COUNT\" 50 >run.out 2>run.err; echo \$? >run.rc" &&
    wait_until 20 test -s steps.2 &&
    sleep 2 &&
    # the owner types every second from now on
    test_bg sh -c "while :; do echo again >\"$TRASH/owner/cmd\"; sleep 1; done" &&
    typist=$bg_pid &&
    wait_until 10 owner_is 2 suspended &&
    wait_until 60 test -s run.rc &&
    cat run.err run.out &&
    test "$(cat run.rc)" = 0 &&
    grep "owner: suspended -> vacating" "$TRASH/d2/daemon.log" &&
    grep "shoal: restarting from checkpoint version [1-9][0-9]*, on nodes whose owners are away" run.err &&
    # the rank there took its last checkpoint when asked, and the vacate
    # used up no restart
    grep "checkpointed step [0-9]* and exits, as asked" run.out &&
    ! grep "(restart 1 of" run.err &&
    grep "shoal: job stopped on every node: the owner of node .n2. is back" run.err &&
    grep "shoal: the owner of node .n2. takes it back: .*its ranks there will end" run.err &&
    test "$(grep -c "counted to 50" run.out)" = 3 &&
    test "$(grep -c "resumes after step" run.out)" = 3
'

test_expect_success 'the daemons stop' '
    kill "$typist" 2>/dev/null; typist=
    for i in 1 2 3; do
        "$SHOAL" daemon stop --dir "$TRASH/d$i" || exit 1
    done
'

test_done
