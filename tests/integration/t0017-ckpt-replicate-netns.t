#!/bin/sh
# SPDX-License-Identifier: MIT
# Checkpoint copies between daemons on four simulated hosts: a version
# replicated from host 1 to host 2 (its next node by id) outlives host 1
# and is fetched whole on host 3; a corrupt copy is refused by name; a
# version damaged on its own node after its MANIFEST is sent unverified,
# refused by the partner, then found damaged at home and named; a
# partner whose disk is too small answers ENOSPC, keeps nothing, and the
# next node is used; a partner stopped mid-copy is replaced and, back,
# resumes instead of starting over; keys that leave the state directory
# are refused; membership stays healthy while 200 MB move.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 4

PORT=7911
SHOAL_DIR="$NETNS_STATE/shoal"
CKPTQ="$SHOAL_SRCDIR/tests/integration/ckptq.py"
POOLQ="$SHOAL_SRCDIR/tests/integration/poolq.py"
export SHOAL_DIR
# give up on a silent partner quickly
SHOAL_CKPT_TIMEOUT=4
export SHOAL_CKPT_TIMEOUT

# Fixed node ids, so that "the next node after host I" is host I+1.
id_of() {
    printf '%016x' $(($1 * 256))
}

daemon_start() {
    netns_exec "$1" sh -c 'mkdir -p "$1" && echo "$2" >"$1/node-id"' \
        sh "$SHOAL_DIR" "$(id_of "$1")" &&
    netns_exec "$1" env SHOAL_TOPOLOGY="$(netns_topology "$1")" \
        "$SHOAL" daemon start --dir "$SHOAL_DIR" --key "$TRASH/pool.key" \
        --listen "$(netns_addr "$1"):$PORT" --join "$(netns_addr 1):$PORT"
}

# q I OP JSON: the op on host I's daemon
q() {
    netns_exec "$1" "$NETNS_PYTHON" "$CKPTQ" "$SHOAL_DIR/control.sock" \
        "$2" "$3" 60
}

alive_seen() {
    netns_exec "$1" "$SHOAL" status --json 2>/dev/null |
        "$NETNS_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(1 for m in s["members"] if m["state"] == "alive"))'
}

wait_alive() {
    local end
    end=$(($(date +%s) + $3))
    while [ "$(alive_seen "$1")" != "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && {
            echo "host $1 sees $(alive_seen "$1") nodes alive, not $2" >&2
            return 1
        }
        sleep 0.2
    done
}

# counter I NAME: a counter of host I's daemon
counter() {
    netns_exec "$1" "$SHOAL" status --stats --json 2>/dev/null |
        "$NETNS_PYTHON" "$POOLQ" counter "$2"
}

# make_version DIR V SIZE_MB: a version committed the way a program does
# it without libshoal (files, then COMMITTED; no MANIFEST)
make_version() {
    mkdir -p "$1/v$2" &&
    head -c $(($3 * 1024 * 1024)) /dev/urandom >"$1/v$2/big" &&
    echo "state of step $2" >"$1/v$2/small" &&
    : >"$1/v$2/empty" &&
    : >"$1/v$2/COMMITTED"
}

KEY=job7/rank0
SRC="$TRASH/src"

test_expect_success 'four daemons; host 4 keeps copies on a disk of 8 MB' '
    "$SHOAL" keygen -o pool.key &&
    netns_exec 4 sh -c "mkdir -p $SHOAL_DIR/ckpt && mount -t tmpfs -o size=8m tiny $SHOAL_DIR/ckpt" &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4; do wait_alive $i 4 20 || exit 1; done
'

test_expect_success 'a version of 50 MB is replicated to the next node, host 2' '
    make_version "$SRC" 1 50 &&
    test_within 60 q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 1, \"key\": \"$KEY\"}" >out &&
    cat out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    test -s "$SRC/v1/MANIFEST" &&
    for f in big small empty MANIFEST; do
        netns_exec 2 cmp "$SRC/v1/$f" "$SHOAL_DIR/ckpt/$KEY/v1/$f" || exit 1
    done &&
    netns_exec 2 test -e "$SHOAL_DIR/ckpt/$KEY/v1/COMMITTED" &&
    ! netns_exec 2 test -e "$SHOAL_DIR/ckpt/$KEY/.part-v1"
'

test_expect_success 'replicating it again picks host 2 again and sends nothing' '
    before=$(counter 1 bytes-sent) &&
    q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 1, \"key\": \"$KEY\"}" >out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    test "$(counter 1 bytes-sent)" = "$before"
'

test_expect_success 'a version damaged here after its MANIFEST: found as it is sent, the partner keeps nothing, the damage is named' '
    make_version "$SRC" 5 4 &&
    q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 5, \"key\": \"job8/a\"}" >out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    bad=$(counter 2 copies-bad) &&
    printf "X" | dd of="$SRC/v5/big" bs=1 seek=1000 conv=notrunc 2>/dev/null &&
    test_expect_code 1 q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 5, \"key\": \"job8/b\"}" 2>err &&
    cat err &&
    grep "cannot replicate .job8/b. version 5: the version does not match its MANIFEST (0 of 1 copies made)" err &&
    test "$(counter 2 copies-bad)" = $((bad + 1)) &&
    ! netns_exec 2 test -e "$SHOAL_DIR/ckpt/job8/b/v5" &&
    ! netns_exec 2 test -e "$SHOAL_DIR/ckpt/job8/b/.part-v5" &&
    q 2 ckpt.remove "{\"key\": \"job8\", \"keep_from\": 0}" >/dev/null
'

test_expect_success 'keys that leave the state directory are refused' '
    for k in ../x /abs a//b a/../../b "" .hidden job/v3; do
        test_expect_code 1 q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 1, \"key\": \"$k\"}" 2>err &&
        grep "invalid checkpoint key" err || exit 1
    done &&
    ! netns_exec 2 test -e "$NETNS_STATE/x" &&
    ! netns_exec 2 test -e "$SHOAL_DIR/x"
'

# stage_bytes I: bytes staged on host I for version 2
stage_bytes() {
    netns_exec "$1" sh -c "stat -c %s $SHOAL_DIR/ckpt/$KEY/.part-v2/v2/big 2>/dev/null || echo 0"
}

test_expect_success 'a partner stopped mid-copy is replaced by the next node' '
    make_version "$SRC" 2 100 &&
    pid2=$(netns_exec 2 cat "$SHOAL_DIR/daemon.pid") &&
    started=$(date +%s) &&
    { q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 2, \"key\": \"$KEY\"}" >out 2>err & } &&
    qpid=$! &&
    i=0 && while [ "$(stage_bytes 2)" -lt 4000000 ] && [ $i -lt 500 ]; do i=$((i + 1)); done &&
    kill -STOP "$pid2" &&
    staged=$(stage_bytes 2) && echo "stopped host 2 with $staged bytes staged" &&
    { wait $qpid; rc=$?; kill -CONT "$pid2"; test $rc = 0; } &&
    echo "replaced within $(($(date +%s) - started)) s" &&
    cat out &&
    grep "\"copies\": \[\"$(id_of 3)\"\]" out &&
    test "$staged" -gt 0 && test "$staged" -lt 104857600 &&
    netns_exec 3 cmp "$SRC/v2/big" "$SHOAL_DIR/ckpt/$KEY/v2/big"
'

test_expect_success 'back in the pool, host 2 resumes from what it staged' '
    for i in 1 2 3 4; do wait_alive $i 4 30 || exit 1; done &&
    staged=$(stage_bytes 2) &&
    before=$(counter 1 bytes-resumed) &&
    q 1 ckpt.replicate "{\"dir\": \"$SRC\", \"version\": 2, \"key\": \"$KEY\"}" >out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    resumed=$(($(counter 1 bytes-resumed) - before)) &&
    echo "staged $staged, resumed $resumed" &&
    test "$resumed" -gt 0 && test "$resumed" -ge "$staged" &&
    netns_exec 2 cmp "$SRC/v2/big" "$SHOAL_DIR/ckpt/$KEY/v2/big"
'

test_expect_success 'host 1 lost: host 3 fetches version 1 from host 2, byte for byte' '
    kill -KILL $(netns_exec 1 cat "$SHOAL_DIR/daemon.pid") &&
    test_within 30 q 3 ckpt.fetch "{\"key\": \"$KEY\", \"version\": 1, \"dir\": \"$NETNS_STATE/restore\", \"from\": [\"$(id_of 1)\", \"$(id_of 2)\"]}" >out &&
    cat out &&
    grep "\"node\": \"$(id_of 2)\"" out &&
    for f in big small empty MANIFEST; do
        netns_exec 3 cmp "$SRC/v1/$f" "$NETNS_STATE/restore/v1/$f" || exit 1
    done &&
    netns_exec 3 test -e "$NETNS_STATE/restore/v1/COMMITTED"
'

test_expect_success 'a corrupt copy is refused, named, and never installed' '
    netns_exec 2 sh -c "printf X | dd of=$SHOAL_DIR/ckpt/$KEY/v1/big bs=1 seek=4096 conv=notrunc 2>/dev/null" &&
    test_expect_code 1 q 3 ckpt.fetch "{\"key\": \"$KEY\", \"version\": 1, \"dir\": \"$NETNS_STATE/again\", \"from\": [\"$(id_of 2)\"]}" >out 2>err &&
    cat err out &&
    grep "cannot fetch .$KEY. version 1: node $(id_of 2) (.*h2): its copy is corrupt" err &&
    grep "\"bad\": \[\"$(id_of 2)\"\]" out &&
    ! netns_exec 3 test -e "$NETNS_STATE/again/v1/COMMITTED"
'

test_expect_success 'a partner with a full disk answers ENOSPC, keeps nothing, the next is used' '
    test_within 60 q 3 ckpt.replicate "{\"dir\": \"$NETNS_STATE/restore\", \"version\": 1, \"key\": \"job7/rank1\"}" >out &&
    cat out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    test "$(netns_exec 4 find "$SHOAL_DIR/ckpt" -type f | wc -l)" = 0 &&
    test "$(counter 3 copies-failed)" -ge 1 &&
    test_expect_code 1 q 3 ckpt.replicate "{\"dir\": \"$NETNS_STATE/restore\", \"version\": 1, \"key\": \"job7/rank2\", \"copies\": 3}" 2>err &&
    cat err &&
    grep "cannot replicate .job7/rank2. version 1: 1 of 3 copies made: node $(id_of 4) (.*h4): no space left on device" err
'

test_expect_success 'ckpt.list shows the copies with sizes; ckpt.remove keeps from a version' '
    q 2 ckpt.list "{\"key\": \"job7\"}" >out &&
    cat out &&
    grep "\"key\": \"job7/rank0\", \"version\": 1" out &&
    grep "\"bytes\": 104857616, \"committed\": true, \"files\": 3, \"key\": \"job7/rank0\", \"version\": 2" out &&
    q 2 ckpt.remove "{\"key\": \"$KEY\", \"keep_from\": 2}" >out &&
    grep "\"removed\": \[1\]" out &&
    ! netns_exec 2 test -e "$SHOAL_DIR/ckpt/$KEY/v1" &&
    netns_exec 2 test -e "$SHOAL_DIR/ckpt/$KEY/v2/COMMITTED"
'

test_expect_success 'while 200 MB move, a killed node is detected in time and no live one is suspected' '
    q 2 ckpt.remove "{\"key\": \"job7\", \"keep_from\": 0}" >/dev/null &&
    q 2 ckpt.remove "{\"key\": \"$KEY\", \"keep_from\": 0}" >/dev/null &&
    q 2 ckpt.remove "{\"key\": \"job7/rank1\", \"keep_from\": 0}" >/dev/null &&
    make_version "$TRASH/big" 1 200 &&
    netns_exec 3 "$SHOAL" status --json >st0 &&
    { q 3 ckpt.replicate "{\"dir\": \"$TRASH/big\", \"version\": 1, \"key\": \"big\"}" >out 2>err & } &&
    qpid=$! &&
    sleep 0.3 &&
    killed=$(date +%s%N) &&
    kill -KILL $(netns_exec 4 cat "$SHOAL_DIR/daemon.pid") &&
    while netns_exec 3 "$SHOAL" status --json | "$NETNS_PYTHON" "$POOLQ" members | grep -q "h4 alive"; do
        [ $(( ($(date +%s%N) - killed) / 1000000 )) -gt 10000 ] && exit 1
        sleep 0.05
    done &&
    echo "host 4 detected in $(( ($(date +%s%N) - killed) / 1000000 )) ms during the copy" &&
    test_within 60 wait $qpid && cat out &&
    grep "\"copies\": \[\"$(id_of 2)\"\]" out &&
    netns_exec 3 "$SHOAL" status --json >st1 &&
    a=$("$NETNS_PYTHON" "$POOLQ" age "$(netns_name 2)" <st1) &&
    echo "host 2 alive for $a ms in host 3 view" &&
    test "$a" -gt 1000 &&
    netns_exec 2 cmp "$TRASH/big/v1/big" "$SHOAL_DIR/ckpt/big/v1/big"
'

test_expect_success 'the daemons stop' '
    for i in 2 3; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done
'

test_done
