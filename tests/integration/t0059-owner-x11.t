#!/bin/sh
# SPDX-License-Identifier: MIT
# The owner at an X display: a desktop daemon watches an X server (Xvfb)
# through the XScreenSaver extension, lends while the display is idle,
# and stops a running task within a second or two of the owner moving
# the pointer (XTEST, as a real mouse would). No terminal and no other
# input source counts here.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then
    test_skip 'the owner at an X display' 'Xvfb or xdotool is not installed'
    test_done
    exit
fi

PORT=$((19000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1" SHOAL_OWNER_UTMP=/dev/null
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
# nothing but the display: no input devices, no logind
export SHOAL_OWNER_EVDEV_DIR="$TRASH/no-input"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TRASH/no-bus"
"$SHOAL" keygen -o "$TRASH/pool.key"

# a display number nobody uses
N=$((60 + ($$ % 200)))
while [ -e "/tmp/.X$N-lock" ] || [ -e "/tmp/.X11-unix/X$N" ]; do
    N=$((N + 1))
done
Xvfb ":$N" -nolisten tcp -screen 0 640x480x24 >"$TRASH/xvfb.log" 2>&1 &
xvfb=$!
export DISPLAY=":$N"

stop_all() {
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    sleep 1
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -KILL "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    kill "$xvfb" 2>/dev/null
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
owner_is() {
    test "$("$SHOAL" status --json | python3 -c '
import json, sys
print([m for m in json.load(sys.stdin)["members"] if m["self"]][0]["owner"])')" = "$1"
}
proc_state() { sed 's/.*) //' "/proc/$1/stat" | cut -c1; }
state_is() { test "$(proc_state "$1")" = "$2"; }

test_expect_success 'an X server answers' '
    wait_until 10 xdotool getmouselocation
'

test_expect_success 'a desktop daemon watching the display lends while it is idle' '
    "$SHOAL" daemon start --key "$TRASH/pool.key" --listen "127.0.0.1:$PORT" \
        --name n1 --lend desktop --owner-idle 3 --owner-display "$DISPLAY" &&
    grep "source x11: present" "$SHOAL_DIR/daemon.log" &&
    wait_until 15 owner_is away
'

test_expect_success 'the owner moves the mouse: the task is stopped within 2 s, and goes on once idle' '
    "$SHOAL" submit --range 1-1 -- sleep 100 >id &&
    dpid=$(cat "$SHOAL_DIR/daemon.pid") &&
    # a sanitized daemon on a loaded machine takes seconds to pull it
    { wait_until 30 sh -c "pgrep -P $dpid -x sleep >$TRASH/task.pid" ||
        { ps -o pid,ppid,stat,comm --ppid "$dpid"; "$SHOAL" job "$(cat id)"; false; }; } &&
    pid=$(cat "$TRASH/task.pid") &&
    state_is "$pid" S &&
    xdotool mousemove 100 100 && start=$(date +%s%N) &&
    wait_until 3 state_is "$pid" T &&
    ms=$(( ($(date +%s%N) - start) / 1000000 )) &&
    echo "stopped after $ms ms" &&
    test "$ms" -le 2500 &&
    grep "owner: away -> suspended (suspend): owner input" "$SHOAL_DIR/daemon.log" &&
    wait_until 15 state_is "$pid" S &&
    wait_until 5 owner_is away
'

test_expect_success 'the display goes away: the daemon says the source is not present' '
    kill "$xvfb" && wait "$xvfb" 2>/dev/null;
    wait_until 10 grep "source x11: not present" "$SHOAL_DIR/daemon.log" &&
    "$SHOAL" cancel "$(cat id)" &&
    "$SHOAL" daemon stop
'

test_done
