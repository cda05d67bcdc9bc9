#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon's configuration files: DIR/shoal.conf and --config FILE give
# the options of `shoal daemon start` as `key = value` lines; the command
# line wins over them; an unknown key, a duplicate, a malformed line or a
# bad value stops the start with FILE:LINE and the key.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

PORT=$((25000 + ($$ % 2000)))
export SHOAL_SPEED=1000 SHOAL_OWNER_UTMP=/dev/null
unset DISPLAY
# nor input devices, nor logind
export SHOAL_OWNER_EVDEV_DIR=/nonexistent/input
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/system_bus_socket
"$SHOAL" keygen -o "$TRASH/pool.key"
D="$TRASH/d1"
mkdir -p "$D"

stop_all() {
    for pidfile in "$TRASH"/d*/daemon.pid; do
        [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null
    done
    sleep 1
    for pidfile in "$TRASH"/d*/daemon.pid; do
        [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
    done
}
test_atexit stop_all

# self FIELD: this node's member record's field, as daemon D sees it
self() {
    "$SHOAL" status --dir "$D" --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["members"] if m["self"]][0]
print(m[sys.argv[1]])' "$1"
}

# refused CONF-TEXT MESSAGE: a start with DIR/shoal.conf holding the text
# fails with exit status 2 and the message, and leaves no daemon
refused() {
    printf "$1" >"$D/shoal.conf"
    test_expect_code 2 "$SHOAL" daemon start --dir "$D" \
        --listen "127.0.0.1:$PORT" 2>err &&
    cat err &&
    grep -F "shoal: daemon: $D/shoal.conf:$2" err &&
    test ! -e "$D/daemon.pid"
}

test_expect_success 'DIR/shoal.conf sets the options: name, key, listen, lend' '
    cat >"$D/shoal.conf" <<-CONF &&
	# a test node
	name = "conf node"   # quoted: a blank inside
	key = $TRASH/pool.key
	listen = 127.0.0.1:$PORT

	lend = never
	owner-idle = 30
	discover = no
	CONF
    "$SHOAL" daemon start --dir "$D" &&
    test "$(self name)" = "conf node" &&
    test "$(self addr)" = "127.0.0.1:$PORT" &&
    test "$(self owner)" = present &&
    grep "daemon: configuration: $D/shoal.conf" "$D/daemon.log" &&
    grep "owner: lending: never" "$D/daemon.log" &&
    "$SHOAL" daemon stop --dir "$D"
'

test_expect_success 'the command line wins over the file' '
    "$SHOAL" daemon start --dir "$D" --lend dedicated --name flagged &&
    test "$(self name)" = flagged &&
    test "$(self owner)" = dedicated &&
    test "$(self addr)" = "127.0.0.1:$PORT" &&
    "$SHOAL" daemon stop --dir "$D"
'

test_expect_success '--config FILE is read instead of DIR/shoal.conf' '
    printf "frob = 1\n" >"$D/shoal.conf" &&
    printf "lend = desktop\nowner-idle = 1000\nname = other\n" >"$TRASH/x.conf" &&
    "$SHOAL" daemon start --dir "$D" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$PORT" --config "$TRASH/x.conf" &&
    test "$(self name)" = other &&
    test "$(self owner)" = present &&
    grep "daemon: configuration: $TRASH/x.conf" "$D/daemon.log" &&
    grep "owner: lending: desktop" "$D/daemon.log" &&
    "$SHOAL" daemon stop --dir "$D"
'

test_expect_success 'a missing --config file is an error; a missing DIR/shoal.conf is not' '
    test_expect_code 2 "$SHOAL" daemon start --dir "$D" \
        --config "$TRASH/none.conf" 2>err &&
    grep -F "cannot read '"'"'$TRASH/none.conf'"'"'" err &&
    test ! -e "$D/daemon.pid" &&
    rm "$D/shoal.conf" &&
    "$SHOAL" daemon start --dir "$D" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$PORT" --name plain &&
    test "$(self name)" = plain &&
    grep "daemon: configuration: no file" "$D/daemon.log" &&
    "$SHOAL" daemon stop --dir "$D"
'

test_expect_success 'an unknown key fails the start with FILE:LINE and the key' '
    refused "lend = desktop\n\nowner-idel = 60\n" "3: unknown key '"'"'owner-idel'"'"'"
'

test_expect_success 'a bad value fails the start, checked as the option is' '
    refused "# comment\nowner-idle = soon\n" \
        "2: bad value '"'"'soon'"'"' for key '"'"'owner-idle'"'"': expected a number of seconds above 0" &&
    refused "lend = laptop\n" \
        "1: bad value '"'"'laptop'"'"' for key '"'"'lend'"'"': expected desktop, dedicated or never" &&
    refused "listen = 127.0.0.1:99999\n" \
        "1: bad value '"'"'127.0.0.1:99999'"'"' for key '"'"'listen'"'"'" &&
    refused "discover = maybe\n" "1: bad value '"'"'maybe'"'"' for key '"'"'discover'"'"'"
'

test_expect_success 'a bad value fails the start even when a flag overrides it' '
    printf "vacate-after = -5\n" >"$D/shoal.conf" &&
    test_expect_code 2 "$SHOAL" daemon start --dir "$D" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$PORT" --vacate-after 5 2>err &&
    grep -F "$D/shoal.conf:1: bad value '"'"'-5'"'"' for key '"'"'vacate-after'"'"'" err
'

test_expect_success 'a duplicate key, a malformed line, a bad quote fail the start' '
    refused "lend = never\nlend = desktop\n" \
        "2: duplicate key '"'"'lend'"'"' (first set on line 1)" &&
    refused "lend never\n" "1: expected '"'"'key = value'"'"'" &&
    refused "name = \"open\n" "1: key '"'"'name'"'"': unterminated quote" &&
    refused "dir = /tmp\n" "1: key '"'"'dir'"'"' is not allowed"
'

test_expect_success 'stop needs no configuration: a broken file does not prevent it' '
    rm -f "$D/shoal.conf" &&
    "$SHOAL" daemon start --dir "$D" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$PORT" &&
    printf "frob = 1\n" >"$D/shoal.conf" &&
    "$SHOAL" daemon stop --dir "$D" &&
    test_expect_code 1 "$SHOAL" status --dir "$D"
'

test_done
