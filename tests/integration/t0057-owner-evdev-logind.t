#!/bin/sh
# SPDX-License-Identifier: MIT
# The owner's input devices and logind as a desktop daemon sees them: a
# directory of FIFOs stands for /dev/input (this machine has no input
# device nor uinput; a FIFO delivers struct input_event records as a
# device does), and a private dbus-daemon with a fake
# org.freedesktop.login1 stands for the system bus. A key record makes
# the owner present, SYN records do not; logind's IdleHint false makes
# the owner present, true (since long ago) lets the node lend again.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((29000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1" SHOAL_OWNER_UTMP=/dev/null
# other work on this machine must not look like the owner
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
unset DISPLAY
export SHOAL_OWNER_EVDEV_DIR="$TRASH/input"
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
    [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
    sleep 1
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -KILL "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
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

owner_in() {
    case " $* " in *" $("$SHOAL" status --json | python3 -c '
import json, sys
print([m for m in json.load(sys.stdin)["members"] if m["self"]][0]["owner"])') "*) return 0 ;; esac
    return 1
}
owner_is() {
    test "$("$SHOAL" status --json | python3 -c '
import json, sys
print([m for m in json.load(sys.stdin)["members"] if m["self"]][0]["owner"])')" = "$1"
}
# event TYPE CODE: one struct input_event record into event0
event() {
    timeout 5 python3 -c '
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("llHHi", 0, 0, int(sys.argv[2]), int(sys.argv[3]), 1))
' "$TRASH/input/event0" "$1" "$2"
}
EV_SYN=0 EV_KEY=1 EV_MSC=4 KEY_A=30
logind_idle() {
    dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.login1 \
        /org/freedesktop/login1 org.freedesktop.login1.Fake.SetIdle \
        "boolean:$1" "uint64:$2" >/dev/null
}
have_libsystemd() { ! grep -q "built without libsystemd" "$SHOAL_DIR/daemon.log"; }

mkdir "$TRASH/input" && mkfifo "$TRASH/input/event0"
dbus-daemon --session --nofork --print-address=1 >"$TRASH/bus" &
bus_pid=$!
wait_until 5 test -s "$TRASH/bus"
BUS=$(head -n1 "$TRASH/bus")
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
# /usr/bin/python3: the one with Debian's python3-dbus and python3-gi
/usr/bin/python3 "$SHOAL_SRCDIR/tests/unit/runtime/owner/fake_logind.py" "$BUS" >"$TRASH/fake" &
fake_pid=$!
wait_until 10 grep -q ready "$TRASH/fake" || echo "fake logind did not start" >&2
# logind: idle for the last 1000 s
logind_idle true $(( ($(date +%s) - 1000) * 1000000 ))

test_expect_success 'a desktop daemon watching the devices and logind lends once idle' '
    "$SHOAL" daemon start --key "$TRASH/pool.key" --listen "127.0.0.1:$PORT" \
        --name n1 --lend desktop --owner-idle 3 &&
    wait_until 10 owner_is away &&
    grep "source evdev: present" "$SHOAL_DIR/daemon.log"
'

test_expect_success 'SYN and MSC records are not the owner' '
    event $EV_MSC 4 && event $EV_SYN 0 &&
    sleep 1.5 &&
    owner_is away
'

test_expect_success 'a key on an input device: the owner is present, then away again' '
    event $EV_KEY $KEY_A &&
    wait_until 3 owner_in present suspended &&
    grep "owner: away -> suspended (suspend): owner input 0 s ago" "$SHOAL_DIR/daemon.log" &&
    wait_until 10 owner_is away
'

test_expect_success 'logind says in use: the owner is present; idle again: away' '
    if have_libsystemd; then
        grep "source logind: present" "$SHOAL_DIR/daemon.log" &&
        logind_idle false "$(($(date +%s) * 1000000))" &&
        wait_until 3 owner_in present suspended &&
        sleep 4 && owner_in present suspended &&
        logind_idle true "$(( ($(date +%s) - 100) * 1000000 ))" &&
        wait_until 5 owner_is away
    else
        grep "source logind: not present: shoal was built without libsystemd" \
            "$SHOAL_DIR/daemon.log"
    fi
'

# a call in flight when logind goes away fails with another reason than
# the next ones: each reason is said once, however many retries follow
test_expect_success 'logind gone: not present, said once, and the devices still count' '
    kill "$fake_pid" && wait "$fake_pid" 2>/dev/null; fake_pid= &&
    if have_libsystemd; then
        wait_until 12 grep -q "source logind: not present: no answer from logind.*not provided" \
            "$SHOAL_DIR/daemon.log" &&
        said=$(grep -c "source logind: not present" "$SHOAL_DIR/daemon.log") &&
        sleep $((2 * 5 + 1)) &&
        test "$(grep -c "source logind: not present" "$SHOAL_DIR/daemon.log")" = "$said"
    fi &&
    owner_is away &&
    event $EV_KEY $KEY_A &&
    wait_until 3 owner_in present suspended
'

test_expect_success 'stop the daemon' '
    "$SHOAL" daemon stop
'

test_done
