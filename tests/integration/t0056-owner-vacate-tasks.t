#!/bin/sh
# SPDX-License-Identifier: MIT
# The owner comes back and stays while tasks run on the workstation: the
# tasks are stopped, then vacated (ended), and queued again without using
# up a retry; once the owner is gone they run again and succeed. No
# result is lost, although the job allows no retry at all.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((21000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_DIR="$TRASH/d1" SHOAL_OWNER_UTMP=/dev/null
unset DISPLAY
# nor input devices, nor logind
export SHOAL_OWNER_EVDEV_DIR=/nonexistent/input
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket
export SHOAL_OWNER_LEND_LOAD=100 SHOAL_OWNER_SUSPEND_LOAD=100
export SHOAL_OWNER_VACATE_GRACE=2
"$SHOAL" keygen -o "$TRASH/pool.key"

stop_all() {
    [ -n "$typist" ] && kill "$typist" 2>/dev/null
    [ -p "$TRASH/owner/cmd" ] && echo quit >"$TRASH/owner/cmd"
    [ -f "$SHOAL_DIR/daemon.pid" ] && kill -TERM "$(cat "$SHOAL_DIR/daemon.pid")" 2>/dev/null
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
owner_is() {
    test "$("$SHOAL" status --json | python3 -c '
import json, sys
print([m for m in json.load(sys.stdin)["members"] if m["self"]][0]["owner"])')" = "$1"
}
running_tasks() {
    n=0
    for p in /proc/[0-9]*; do
        grep -q "vacate-me" "$p/cmdline" 2>/dev/null && n=$((n + 1))
    done
    test "$n" = "$1"
}

mkdir "$TRASH/owner"
python3 "$SHOAL_SRCDIR/tests/integration/ptyowner.py" "$TRASH/owner" &
wait_until 5 test -s "$TRASH/owner/tty"
TTY=$(cat "$TRASH/owner/tty")
echo old >"$TRASH/owner/cmd"

test_expect_success 'a desktop that lends while its owner is away' '
    "$SHOAL" daemon start --key "$TRASH/pool.key" --listen "127.0.0.1:$PORT" \
        --name n1 --lend desktop --owner-idle 3 --owner-ttys "$TTY" \
        --vacate-after 2 &&
    wait_until 10 owner_is away
'

test_expect_success 'two tasks (no retry allowed) run; the owner stays: vacated, queued again' '
    "$SHOAL" submit --retries 0 --range 1-2 -- sh -c "
        if [ \$SHOAL_TASK_ATTEMPT = 1 ]; then sleep 100; : vacate-me; fi
        echo task {} done at attempt \$SHOAL_TASK_ATTEMPT" >id &&
    wait_until 10 running_tasks 2 &&
    test_bg sh -c "while :; do echo again >\"$TRASH/owner/cmd\"; sleep 1; done" &&
    typist=$bg_pid &&
    echo "$typist" >typist.pid &&
    wait_until 10 owner_is vacating &&
    wait_until 10 running_tasks 0 &&
    grep "owner: suspended -> vacating" "$SHOAL_DIR/daemon.log" &&
    # queued again, nothing failed, nothing runs while the owner is here
    "$SHOAL" job "$(cat id)" >job.txt &&
    cat job.txt &&
    { grep "^queued  *2$" job.txt || { cat "$SHOAL_DIR/daemon.log"; false; }; } &&
    grep "^failed  *0$" job.txt &&
    grep "^leased  *0$" job.txt
'

test_expect_success 'the owner leaves: the tasks run again and the job succeeds' '
    kill "$(cat typist.pid)" && typist= &&
    echo old >"$TRASH/owner/cmd" &&
    test_within 60 "$SHOAL" wait "$(cat id)" &&
    "$SHOAL" results "$(cat id)" --json >results.json &&
    cat results.json &&
    python3 -c "
import json, sys
rows = json.load(open(\"results.json\"))
rows = rows if isinstance(rows, list) else rows[\"tasks\"]
assert len(rows) == 2, rows
for r in rows:
    assert r[\"state\"] == \"done\", r
    assert r[\"attempts\"] == 2, r
" &&
    for t in 0 1; do
        "$SHOAL" output "$(cat id)" $t | grep "task $((t + 1)) done at attempt 2" || exit 1
    done
'

test_expect_success 'the daemon stops' '
    "$SHOAL" daemon stop
'

test_done
