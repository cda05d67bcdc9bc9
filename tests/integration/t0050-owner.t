#!/bin/sh
# SPDX-License-Identifier: MIT
# The owner of a workstation: a daemon in desktop mode lends its cores
# while the owner's terminal (a real pty) is idle, stops a running task
# within a second or two of the owner typing, continues it once the
# owner is quiet again, and counts a busy loop outside shoal as the
# owner's load.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((23000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1"
# only the test's pty is the owner's keyboard: no utmp sessions, no X
export SHOAL_OWNER_UTMP=/dev/null
unset DISPLAY
# nor input devices, nor logind
export SHOAL_OWNER_EVDEV_DIR=/nonexistent/input
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket
# other work on this shared machine must not look like the owner: the
# load thresholds are raised here, and the load is checked on its own
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    [ -p "$TRASH/owner/cmd" ] && echo quit >"$TRASH/owner/cmd"
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    [ -n "$busy" ] && kill "$busy" 2>/dev/null
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

# status_field PYTHON-EXPR: over this node's member record m
status_field() {
    "$SHOAL" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["members"] if m["self"]][0]
print(eval(sys.argv[1]))' "$1"
}
owner_is() { test "$(status_field 'm["owner"]')" = "$1"; }
owner_in() { case " $* " in *" $(status_field 'm["owner"]') "*) return 0 ;; esac; return 1; }
free_cores() { status_field 'm["summary"]["cores_free"]'; }
cores_lent() { test "$(free_cores)" -gt 0; }
owner_stat() {
    "$SHOAL" status --stats --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["owner"][sys.argv[1]])' "$1"
}
# the state letter of pid in /proc/PID/stat
proc_state() { sed 's/.*) //' "/proc/$1/stat" | cut -c1; }
state_is() { test "$(proc_state "$1")" = "$2"; }
owner_loaded() { test "$(owner_stat load_milli)" -ge 700; }
type_now() { echo "$1" >"$TRASH/owner/cmd"; }

test_expect_success 'bad owner options are usage errors naming the option' '
    test_expect_code 2 "$SHOAL" daemon run --lend laptop 2>err &&
    grep "bad value .laptop. for option .--lend." err &&
    test_expect_code 2 "$SHOAL" daemon run --owner-idle soon 2>err &&
    grep "option .--owner-idle." err &&
    test_expect_code 2 "$SHOAL" daemon run --vacate-after -5 2>err &&
    grep "option .--vacate-after." err
'

mkdir "$TRASH/owner"
python3 "$SHOAL_SRCDIR/tests/integration/ptyowner.py" "$TRASH/owner" &
wait_until 5 test -s "$TRASH/owner/tty"
TTY=$(cat "$TRASH/owner/tty")
type_now old

test_expect_success 'a desktop daemon starts with its owner present, lending nothing' '
    "$SHOAL" daemon start --key "$TRASH/pool.key" --listen "127.0.0.1:$PORT" \
        --name n1 --lend desktop --owner-idle 3 --owner-ttys "$TTY" &&
    owner_in present away
'

test_expect_success 'with the pty idle, it lends its cores: owner away' '
    wait_until 10 owner_is away &&
    wait_until 5 cores_lent &&
    grep "owner: present -> away (lend)" "$SHOAL_DIR/daemon.log"
'

test_expect_success 'the sources that cannot be read are logged once, with why' '
    grep "source tty: present" "$SHOAL_DIR/daemon.log" &&
    grep "source evdev: not present: cannot read ./nonexistent/input.: No such file" "$SHOAL_DIR/daemon.log" &&
    test "$(grep -c "source evdev:" "$SHOAL_DIR/daemon.log")" = 1 &&
    grep -E "source logind: not present: (cannot connect to the system bus .unix:path=/nonexistent/system_bus_socket.|shoal was built without libsystemd)" "$SHOAL_DIR/daemon.log" &&
    test "$(grep -c "source logind:" "$SHOAL_DIR/daemon.log")" = 1
'

test_expect_success 'a task runs: sleep 100' '
    "$SHOAL" submit --range 1-1 -- sleep 100 >id &&
    dpid=$(cat "$SHOAL_DIR/daemon.pid") &&
    # a sanitized daemon on a loaded machine takes seconds to pull it
    { wait_until 30 sh -c "pgrep -P $dpid -x sleep >$TRASH/task.pid" ||
        { ps -o pid,ppid,stat,comm --ppid "$dpid"; "$SHOAL" job "$(cat id)"; false; }; } &&
    state_is "$(cat "$TRASH/task.pid")" S &&
    # a guest of a lent workstation runs SCHED_IDLE (policy 5): only CPU
    # time the owner does not want
    test "$(cut -d" " -f41 "/proc/$(cat "$TRASH/task.pid")/stat")" = 5
'

test_expect_success 'the owner types: suspended within 2 s, the task stopped (T), no core lent' '
    pid=$(cat "$TRASH/task.pid") &&
    type_now type && start=$(date +%s%N) &&
    wait_until 3 state_is "$pid" T &&
    echo "stopped after $(( ($(date +%s%N) - start) / 1000000 )) ms" &&
    test $(( ($(date +%s%N) - start) / 1000000 )) -le 2500 &&
    owner_in present suspended &&
    test "$(free_cores)" -eq 0 &&
    # since when: within the last few seconds
    since=$(owner_stat since) &&
    test $(( $(date +%s) - since )) -le 5 &&
    grep "owner: away -> suspended (suspend): owner input" "$SHOAL_DIR/daemon.log"
'

test_expect_success 'the owner is quiet again: the task continues (S), cores lent' '
    pid=$(cat "$TRASH/task.pid") &&
    wait_until 10 state_is "$pid" S &&
    wait_until 5 owner_is away &&
    wait_until 5 cores_lent &&
    grep "owner: suspended -> away (continue)" "$SHOAL_DIR/daemon.log" &&
    test "$(owner_stat suspends)" -eq 1 && test "$(owner_stat continues)" -eq 1
'

test_expect_success 'the owner types again: stopped again, once' '
    pid=$(cat "$TRASH/task.pid") &&
    type_now old && sleep 0.2 && type_now type &&
    wait_until 3 state_is "$pid" T &&
    test "$(owner_stat suspends)" -eq 2 &&
    wait_until 10 state_is "$pid" S
'

test_expect_success 'a busy loop outside shoal is the owner load' '
    sh -c "while :; do :; done" & busy=$! &&
    echo $busy >>"$TRASH/.bg-pids" &&
    wait_until 8 owner_loaded
'

test_expect_success 'cancel the job, stop the daemon' '
    "$SHOAL" cancel "$(cat id)" &&
    "$SHOAL" daemon stop
'

test_done
