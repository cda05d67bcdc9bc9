#!/bin/sh
# SPDX-License-Identifier: MIT
# Lending windows: a daemon whose --lend-window excludes the present time
# lends nothing and says so (owner "closed"), one whose window includes it
# lends; a task running when the window closes is suspended and vacated
# as for an owner who came back (a task with retries left is queued
# again, and not started while the window stays closed).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((27000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1" SHOAL_OWNER_UTMP=/dev/null
export SHOAL_OWNER_VACATE_GRACE=2
# other work on this machine must not look like the owner
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
unset DISPLAY
# nor input devices, nor logind
export SHOAL_OWNER_EVDEV_DIR=/nonexistent/input
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    sleep 1
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -KILL "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
}
test_atexit stop_all

wait_until() {
    deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

status_field() {
    "$SHOAL" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["members"] if m["self"]][0]
print(eval(sys.argv[1]))' "$1"
}
owner_is() { test "$(status_field 'm["owner"]')" = "$1"; }
free_cores() { status_field 'm["summary"]["cores_free"]'; }
cores_lent() { test "$(free_cores)" -gt 0; }
proc_state() { sed 's/.*) //' "/proc/$1/stat" | cut -c1; }
state_is() { test "$(proc_state "$1")" = "$2"; }
gone() { ! kill -0 "$1" 2>/dev/null || state_is "$1" Z; }

# hm HOURS-FROM-NOW: that hour of the local clock, as HH:00
hm() { printf '%02d:00' $(( ($(date +%-H) + 24 + $1) % 24 )); }
# a window excluding the present time, and one including it (by a wide
# margin either side, so the hour turning over changes neither)
OUT="$(hm 3)-$(hm 5)"
IN="$(hm -2)-$(hm 3)"

start() {
    "$SHOAL" daemon start --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$PORT" --name n1 "$@"
}

test_expect_success 'a bad window is refused naming the option and the fault' '
    test_expect_code 2 "$SHOAL" daemon start --lend-window "Mon-Fry" 2>err &&
    grep -F "bad value '"'"'Mon-Fry'"'"' for option '"'"'--lend-window'"'"': unknown day '"'"'Fry'"'"'" err &&
    printf "lend-window = \"Mon 18:00\"\n" >"$TRASH/w.conf" &&
    test_expect_code 2 "$SHOAL" daemon start --config "$TRASH/w.conf" 2>err &&
    grep -F "w.conf:1: bad value '"'"'Mon 18:00'"'"' for key '"'"'lend-window'"'"': bad time span" err &&
    test ! -e "$SHOAL_DIR/daemon.pid"
'

test_expect_success "dedicated, outside its window ($OUT): lends nothing, owner closed" '
    start --lend-window "$OUT" &&
    owner_is closed &&
    test "$(free_cores)" -eq 0 &&
    "$SHOAL" status | grep -w n1 | grep -w closed &&
    grep "owner: dedicated -> closed (none): outside the lending window $OUT" \
        "$SHOAL_DIR/daemon.log" &&
    "$SHOAL" submit --range 1-1 -- sleep 100 >id &&
    sleep 3 &&
    ! pgrep -P "$(cat "$SHOAL_DIR/daemon.pid")" -x sleep &&
    "$SHOAL" cancel "$(cat id)" &&
    "$SHOAL" daemon stop
'

test_expect_success "dedicated, inside its window ($IN, from DIR/shoal.conf): lends" '
    mkdir -p "$SHOAL_DIR" &&
    printf "lend-window = %s\n" "$IN" >"$SHOAL_DIR/shoal.conf" &&
    start &&
    sleep 1.5 &&
    owner_is dedicated &&
    cores_lent &&
    grep "owner: lending: dedicated, window .$IN., owner dedicated" \
        "$SHOAL_DIR/daemon.log" &&
    "$SHOAL" submit --range 1-1 -- sleep 100 >id &&
    wait_until 10 pgrep -P "$(cat "$SHOAL_DIR/daemon.pid")" -x sleep &&
    "$SHOAL" cancel "$(cat id)" &&
    "$SHOAL" daemon stop
'

test_expect_success "desktop, outside its window: closed though its owner is away" '
    rm -f "$SHOAL_DIR/shoal.conf" &&
    start --lend desktop --owner-idle 1 --lend-window "$OUT" &&
    sleep 3 &&
    owner_is closed &&
    test "$(free_cores)" -eq 0 &&
    ! grep "owner: .* -> away" "$SHOAL_DIR/daemon.log" &&
    "$SHOAL" daemon stop
'

test_expect_success "desktop, inside its window, owner away: lends" '
    start --lend desktop --owner-idle 1 --lend-window "$IN" &&
    wait_until 10 owner_is away &&
    wait_until 5 cores_lent &&
    "$SHOAL" daemon stop
'

# the current minute only: "HH:MM-HH:MM+1", taken in the first 15 s of a
# minute: the daemon's start, the submit and the task's start get at least
# 45 s before the window closes, on a loaded machine too
minute_window() {
    while [ "$(date +%-S)" -gt 15 ]; do sleep 1; done
    now=$(date +%s)
    printf '%s-%s' "$(date -d "@$now" +%H:%M)" "$(date -d "@$((now + 60))" +%H:%M)"
}

test_expect_success 'the window closes on a running task: suspended, vacated, not run again while closed' '
    W=$(minute_window) &&
    echo "window $W" &&
    start --lend-window "$W" --vacate-after 2 &&
    owner_is dedicated &&
    "$SHOAL" submit --retries 1 --range 1-1 -- sleep 100 >id &&
    dpid=$(cat "$SHOAL_DIR/daemon.pid") &&
    # a sanitized daemon on a loaded machine takes seconds to pull it
    { wait_until 30 sh -c "pgrep -P $dpid -x sleep >$TRASH/task.pid" ||
        { ps -o pid,ppid,stat,comm --ppid "$dpid"; "$SHOAL" job "$(cat id)"; false; }; } &&
    pid=$(cat "$TRASH/task.pid") &&
    state_is "$pid" S &&
    wait_until 65 state_is "$pid" T &&
    grep "owner: dedicated -> suspended (suspend): outside the lending window $W: the work here is suspended" \
        "$SHOAL_DIR/daemon.log" &&
    wait_until 10 gone "$pid" &&
    wait_until 10 owner_is closed &&
    grep "owner: suspended -> vacating (vacate)" "$SHOAL_DIR/daemon.log" &&
    grep "owner: vacating -> closed (kill)" "$SHOAL_DIR/daemon.log" &&
    test "$(free_cores)" -eq 0 &&
    sleep 2 &&
    ! pgrep -P "$dpid" -x sleep &&
    "$SHOAL" job "$(cat id)" >job.out &&
    cat job.out &&
    grep "^running *0$" job.out &&
    grep "^failed *0$" job.out &&
    "$SHOAL" cancel "$(cat id)" &&
    "$SHOAL" daemon stop
'

test_done
