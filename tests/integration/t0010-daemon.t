#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal daemon: several daemons on loopback ports form a pool, see nodes
# die and leave, refuse strangers and garbage, and answer shoal status.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

# Ports of this run, away from those of a parallel run.
BASE=$((20000 + ($$ % 2000) * 10))
export SHOAL_SPEED=1000
"$SHOAL" keygen -o "$TRASH/pool.key"
"$SHOAL" keygen -o "$TRASH/other.key"

# Every daemon of the test runs in $TRASH/dN; all are ended at exit.
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

# start_daemon N [OPTION...]: daemon N on port BASE+N, joining daemon 1.
start_daemon() {
    n=$1
    shift
    "$SHOAL" daemon start --dir "$TRASH/d$n" --key "$TRASH/pool.key" \
        --listen "127.0.0.1:$((BASE + n))" --name "n$n" \
        --join "127.0.0.1:$((BASE + 1))" "$@"
}

# jq, or python3 where jq is missing: json_query DIR FILTER
if command -v jq >/dev/null; then
    json_query() { "$SHOAL" status --dir "$1" --json | jq -r "$2"; }
else
    json_query() {
        "$SHOAL" status --dir "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1], {"d": d}))' "$3"
    }
fi

# count DIR STATE: members of the state as daemon DIR sees them
count() {
    json_query "$TRASH/$1" "[.members[] | select(.state == \"$2\")] | length" \
        "sum(1 for m in d['members'] if m['state'] == '$2')"
}

# state_of DIR NAME
state_of() {
    json_query "$TRASH/$1" ".members[] | select(.name == \"$2\") | .state" \
        "''.join(m['state'] for m in d['members'] if m['name'] == '$2')"
}

state_is() { test "$(state_of "$1" "$2")" = "$3"; }
count_is() { test "$(count "$1" "$2")" = "$3"; }

# drops DIR REASON
drops() {
    "$SHOAL" status --dir "$TRASH/$1" --stats --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"][sys.argv[1]])' "$2"
}

# wait_until SECONDS COMMAND...: poll until the command succeeds, for at
# most SECONDS of wall-clock time.
wait_until() {
    deadline=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

test_expect_success 'without a daemon, status says so' '
    test_expect_code 1 "$SHOAL" status --dir "$TRASH/none" 2>err &&
    grep -F "shoal: status: no daemon running in" err
'

test_expect_success 'bad arguments are usage errors' '
    test_expect_code 2 "$SHOAL" daemon 2>err &&
    grep -F "missing action" err &&
    test_expect_code 2 "$SHOAL" daemon frob 2>err &&
    grep -F "unknown action '"'"'frob'"'"'" err &&
    test_expect_code 2 "$SHOAL" daemon start --listen 2>err &&
    grep -F "needs a value" err &&
    test_expect_code 2 "$SHOAL" status --frob 2>err &&
    grep -F "unexpected argument '"'"'--frob'"'"'" err
'

test_expect_success 'start reports a bad key file and a bad address' '
    echo nonsense >"$TRASH/bad.key" && chmod 600 "$TRASH/bad.key" &&
    test_expect_code 1 "$SHOAL" daemon start --dir "$TRASH/dx" \
        --key "$TRASH/bad.key" --listen 127.0.0.1:$((BASE + 9)) 2>err &&
    grep -F "bad.key" err &&
    test_expect_code 2 "$SHOAL" daemon start --dir "$TRASH/dx" \
        --key "$TRASH/pool.key" --listen 127.0.0.1:99999 2>err &&
    grep -F "bad value '"'"'127.0.0.1:99999'"'"' for option '"'"'--listen'"'"'" err &&
    test ! -e "$TRASH/dx/daemon.pid"
'

test_expect_success 'four daemons converge to one pool' '
    SHOAL_TOPOLOGY="package:2 numa:1 core:2 pu:2" start_daemon 1 &&
    start_daemon 2 && start_daemon 3 && start_daemon 4 &&
    for d in d1 d2 d3 d4; do
        wait_until 15 count_is $d alive 4 || exit 1
    done &&
    test "$(json_query "$TRASH/d2" \
        ".members[] | select(.name == \"n1\") | .summary.pus" \
        "[m[\"summary\"][\"pus\"] for m in d[\"members\"] if m[\"name\"] == \"n1\"][0]")" = 8 &&
    "$SHOAL" status --dir "$TRASH/d1" >table &&
    grep -E "^n1 +127.0.0.1:$((BASE + 1)) +alive +dedicated +4/4 +2/2/4/8" table &&
    test "$(grep -c alive table)" = 4
'

test_expect_success 'a second daemon in the same directory is refused' '
    test_expect_code 1 "$SHOAL" daemon start --dir "$TRASH/d1" \
        --key "$TRASH/pool.key" --listen 127.0.0.1:$((BASE + 8)) 2>err &&
    grep -F "already" err
'

test_expect_success 'a port in use is reported' '
    test_expect_code 1 "$SHOAL" daemon start --dir "$TRASH/dy" \
        --key "$TRASH/pool.key" --listen 127.0.0.1:$((BASE + 2)) 2>err &&
    grep -iF "address already in use" err
'

test_expect_success 'a daemon with another key never joins; both sides say why' '
    before=$(drops d1 auth-failed) &&
    "$SHOAL" daemon start --dir "$TRASH/d6" --key "$TRASH/other.key" \
        --listen 127.0.0.1:$((BASE + 6)) --name n6 \
        --join 127.0.0.1:$((BASE + 1)) 2>err &&
    cat err &&
    grep -F "warning: no node answered with the pool key" err &&
    grep -F "is the key the same on every node?" err &&
    sleep 6 &&
    test "$(count d6 alive)" = 1 &&
    test -z "$(state_of d1 n6)" &&
    test "$(drops d1 auth-failed)" -gt "$before" &&
    grep -E "warning peer: connection from 127.0.0.1:[0-9]+ refused: auth-failed: a daemon with another pool key\?" "$TRASH/d1/daemon.log" &&
    grep -F "127.0.0.1:$((BASE + 1)) closed our connection without answering: does it have the same pool key?" "$TRASH/d6/daemon.log" &&
    grep -F "still alone after 5 s" "$TRASH/d6/daemon.log" &&
    "$SHOAL" daemon stop --dir "$TRASH/d6"
'

test_expect_success 'garbage and replayed messages are dropped and counted' '
    cat >"$TRASH/attack.py" <<-\EOF &&
	import os, random, socket, struct, sys, time
	target, trap_port = int(sys.argv[1]), int(sys.argv[2])
	# A pretend seed: the daemon started next sends it a sealed push-pull.
	lst = socket.socket()
	lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	lst.bind(("127.0.0.1", trap_port)); lst.listen(1); lst.settimeout(20)
	open(sys.argv[3], "w").close()
	conn, _ = lst.accept(); conn.settimeout(10)
	buf = b""
	while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
	    chunk = conn.recv(65536)
	    if not chunk:
	        break
	    buf += chunk
	sealed = buf[4:4 + struct.unpack(">I", buf[:4])[0]]
	udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	for _ in range(3):  # once new, then twice a replay
	    udp.sendto(sealed, ("127.0.0.1", target)); time.sleep(0.05)
	rnd = random.Random(7)
	for i in range(200):
	    n = rnd.randrange(0, 1400)
	    udp.sendto(bytes(rnd.randrange(256) for _ in range(n)), ("127.0.0.1", target))
	# garbage on a stream gets the connection closed
	s = socket.create_connection(("127.0.0.1", target)); s.settimeout(5)
	s.sendall(b"\xff" * 64)
	print("closed" if s.recv(1) == b"" else "open")
	EOF
    test_bg python3 "$TRASH/attack.py" $((BASE + 1)) $((BASE + 7)) \
        "$TRASH/ready" >attack.out &&
    wait_until 10 test -e "$TRASH/ready" &&
    "$SHOAL" daemon start --dir "$TRASH/d5" --key "$TRASH/pool.key" \
        --listen 127.0.0.1:$((BASE + 5)) --name n5 \
        --join 127.0.0.1:$((BASE + 7)) &&
    wait "$bg_pid" &&
    grep -Fx closed attack.out &&
    test "$(drops d1 replay)" -ge 2 &&
    test $(($(drops d1 short) + $(drops d1 bad-magic))) -ge 200 &&
    test "$(drops d1 oversized)" -ge 1 &&
    wait_until 10 count_is d1 alive 4 &&
    "$SHOAL" daemon stop --dir "$TRASH/d5"
'

test_expect_success 'other users read the pool but cannot stop the daemon' '
    chmod 711 "$TRASH" &&
    stat -c %a "$TRASH/d1/control.sock" | grep -x 666 &&
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$SHOAL" status --dir "$TRASH/d1" >status.nobody &&
    grep -F n1 status.nobody &&
    test_expect_code 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$SHOAL" daemon stop --dir "$TRASH/d1" 2>err &&
    grep -F "shoal: daemon: '"'"'stop'"'"' is for root and the daemon'"'"'s user (uid 0) only, not uid 65534" err &&
    "$SHOAL" status --dir "$TRASH/d1" --stats >stats &&
    grep -E "^  refused +1$" stats &&
    "$SHOAL" status --dir "$TRASH/d1" | grep -F n1
'

# SWIM declares a lost node dead within about 2 s; the bound leaves room
# for a machine shared with other builds.
test_expect_success 'a killed daemon is declared dead within 10 s' '
    kill -KILL "$(cat "$TRASH/d4/daemon.pid")" &&
    wait_until 10 state_is d1 n4 dead ||
        { "$SHOAL" status --dir "$TRASH/d1"; exit 1; } &&
    wait_until 3 state_is d2 n4 dead &&
    rm -f "$TRASH/d4/daemon.pid"
'

test_expect_success 'stop leaves gracefully: the others see it left' '
    pid=$(cat "$TRASH/d3/daemon.pid") &&
    test_within 10 "$SHOAL" daemon stop --dir "$TRASH/d3" &&
    { ! kill -0 "$pid" 2>/dev/null ||
        grep -q "^[0-9]* ([^)]*) Z" /proc/$pid/stat; } &&
    test ! -e "$TRASH/d3/control.sock" &&
    wait_until 3 state_is d1 n3 left &&
    wait_until 3 state_is d2 n3 left &&
    grep -E "member: leave n3" "$TRASH/d1/daemon.log" &&
    test_expect_code 1 "$SHOAL" daemon stop --dir "$TRASH/d3" 2>err &&
    grep -F "no daemon running" err
'

test_expect_success 'every daemon stops and none is left behind' '
    "$SHOAL" daemon stop --dir "$TRASH/d1" &&
    "$SHOAL" daemon stop --dir "$TRASH/d2" &&
    no_strays "$TRASH/d"
'
test_done
