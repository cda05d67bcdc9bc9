#!/bin/sh
# SPDX-License-Identifier: MIT
# Durable gang checkpoints: with `shoal run --checkpoint --replicas 1`
# each rank's shoal_ckpt_commit returns only once the version is copied
# to another node for every rank (the job's durable version, each rank's
# KEEP), so a host lost right after a rank's commit returned (its daemon
# SIGKILLed by the rank itself, no pause, then everything on it) costs
# nothing committed: the job restarts from that version or a newer one.
# tests/fixtures/ckpt-durable.c is the rank; tests/fixtures/ckpt-durable.sh
# the same without libshoal (it waits for KEEP after its marker).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 4

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

DURABLE="$TRASH/ckpt-durable"
# The pool's cores: 2 + 4 + 3 + 8.
ALL=17

test_expect_success 'the rank builds against libshoal' '
    ${CC:-cc} $SHOAL_WRAPPER_FLAGS -O1 -Wall -Werror -I"$SHOAL_SRCDIR/include" \
        -o "$DURABLE" "$SHOAL_SRCDIR/tests/fixtures/ckpt-durable.c" \
        -L"$SHOAL_BUILDDIR/.libs" -Wl,-rpath,"$SHOAL_BUILDDIR/.libs" -lshoal
'

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4; do wait_free $i $ALL 20 || exit 1; done
'

# host_named NAME: the host whose hostname is NAME
host_named() {
    for i in 1 2 3 4; do
        [ "$(netns_name $i)" = "$1" ] && echo $i && return 0
    done
    return 1
}

# lose_after_commit CASE PROG NAME N: a gang job of N ranks of PROG (comm
# NAME), one per host, whose first rank off the home to be told version 6
# is durable kills its host; the job restarts from version 6 or later.
# The victim's host goes to $TRASH/CASE.victim.
lose_after_commit() {
    local out home p killed rank version name victim v
    out="$TRASH/$1.out" && mkdir -p "$out" &&
    home=$(printf "%016x" "0x$(netns_exec 1 cat "$SHOAL_DIR/node-id")") &&
    netns_bg 1 sh -c "\"$SHOAL\" run -n $4 --map-by node --checkpoint \
        --replicas 1 --max-restarts 2 -x HOME_NODE=$home \
        \"$2\" 20 6 \"$SHOAL_DIR\" \"$out\" >$1.stdout 2>$1.stderr; echo \$? >$1.rc" &&
    p=$netns_bg_pid &&
    for _ in $(seq 600); do
        ls "$out"/killed.* >/dev/null 2>&1 && break
        sleep 0.1
    done &&
    killed=$(ls "$out"/killed.* 2>/dev/null) || {
        echo "no rank lost its host" && cat $1.stderr $1.stdout
        return 1
    } &&
    rank=${killed##*.} &&
    read version name <"$killed" &&
    victim=$(host_named "$name") &&
    echo "$victim" >"$TRASH/$1.victim" &&
    echo "rank $rank was told version $version is durable on host $victim, whose daemon it killed" &&
    netns_kill_all "$name" &&
    test_within 120 wait $p &&
    cat $1.stderr $1.stdout &&
    test "$(cat $1.rc)" = 0 &&
    grep "node .$name. was lost" $1.stderr &&
    v=$(sed -n "s/.*restarting from checkpoint version \([0-9]*\).*/\1/p" $1.stderr | head -n 1) &&
    echo "restarted from version ${v:-0}" &&
    test "${v:-0}" -ge "$version" &&
    test "$(grep -c "^resumed from version $v\$" $1.stdout)" = "$4" &&
    test "$(grep -c "^counted to 20\$" $1.stdout)" = "$4"
}

# durable_kept CASE N: no rank of the first run was told a version is
# durable that the restart did not restore (or pass).
durable_kept() {
    local out v last
    out="$TRASH/$1.out" &&
    v=$(sed -n "s/.*restarting from checkpoint version \([0-9]*\).*/\1/p" $1.stderr | head -n 1) &&
    for r in $(seq 0 $(($2 - 1))); do
        last=$(tail -n 1 "$out/durable.$r.1" 2>/dev/null) &&
        echo "rank $r: durable ${last:-none}, restarted from ${v:-0}" &&
        test "${last:-0}" -le "${v:-0}" || return 1
    done
}

test_expect_success 'a host lost right after a rank commit returned: the job restarts from that version' '
    lose_after_commit lib "$DURABLE" ckpt-durable 3
'

test_expect_success 'no rank was told durable a version the restart did not restore' '
    durable_kept lib 3
'

test_expect_success 'every commit was durable in time' '
    ! grep "committed here only" lib.stdout &&
    cat "$TRASH"/lib.out/commit.*.1 |
    awk "{ n++; s += \$1; if (\$1 > m) m = \$1 }
         END { printf \"%d commits of the first run: %.3f s on average, %.3f s at most\n\", n, s / n, m }" >"$TRASH/commits.summary" &&
    cat "$TRASH/commits.summary"
'
# what the commits took, in the TAP output (a comment)
sed "s/^/# /" "$TRASH/commits.summary" 2>/dev/null

# The same for a program that does not link libshoal: it waits for KEEP.
# Another host is lost: the home and one more are left.
test_expect_success 'a script that waits for KEEP after its marker restarts from that version too' '
    lose_after_commit sh "$SHOAL_SRCDIR/tests/fixtures/ckpt-durable.sh" ckpt-durable.sh 2
'

test_expect_success 'and no rank of it was told durable a version the restart did not restore' '
    durable_kept sh 2
'

test_expect_success 'the daemons left stop and nothing runs after them' '
    left= &&
    for i in 1 2 3 4; do
        [ "$i" = "$(cat "$TRASH/lib.victim")" ] && continue
        [ "$i" = "$(cat "$TRASH/sh.victim")" ] && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
