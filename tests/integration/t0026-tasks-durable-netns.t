#!/bin/sh
# SPDX-License-Identifier: MIT
# Durable task checkpoints: with `shoal submit --checkpoint --replicas 1`
# a task's shoal_ckpt_commit returns only once the version is copied to
# another node, so a node lost right after a commit returned (its daemon
# SIGKILLed by the task itself, no pause) costs nothing committed: the
# task resumes on another node from exactly that version.
# tests/fixtures/ckpt-durable.c is the task; tests/fixtures/ckpt-durable.sh
# the same without libshoal (it waits for KEEP after its marker).
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 4

. "$SHOAL_SRCDIR/tests/integration/taskpool.sh"

DURABLE="$TRASH/ckpt-durable"

test_expect_success 'the task builds against libshoal' '
    ${CC:-cc} $SHOAL_WRAPPER_FLAGS -O1 -Wall -Werror -I"$SHOAL_SRCDIR/include" \
        -o "$DURABLE" "$SHOAL_SRCDIR/tests/fixtures/ckpt-durable.c" \
        -L"$SHOAL_BUILDDIR/.libs" -Wl,-rpath,"$SHOAL_BUILDDIR/.libs" -lshoal
'

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3 4; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3 4; do wait_alive $i 4 20 || exit 1; done
'

# host_named NAME: the host whose hostname is NAME
host_named() {
    for i in 1 2 3 4; do
        [ "$(netns_name $i)" = "$1" ] && echo $i && return 0
    done
    return 1
}

# lose_after_commit CASE PROG NAME: a job of 4 tasks of PROG (comm NAME)
# whose first task to make version 6 durable on a node other than the
# home kills that node; the task resumes from exactly version 6. The
# job's id goes to $TRASH/CASE.job, the victim's host to $TRASH/CASE.victim.
lose_after_commit() {
    local out id killed task version name victim
    out="$TRASH/$1.out" && mkdir -p "$out" &&
    id=$(HOME_NODE=$(node_id 1) submit --checkpoint --replicas 1 --range 0-3 \
        -- "$2" 20 6 "$SHOAL_DIR" "$out") &&
    echo "job $id" && echo "$id" >"$TRASH/$1.job" &&
    for _ in $(seq 600); do
        ls "$out"/killed.* >/dev/null 2>&1 && break
        sleep 0.1
    done &&
    killed=$(ls "$out"/killed.* 2>/dev/null) || {
        echo "no task lost its node: the results, the outputs" &&
        results "$id" &&
        for t in 0 1 2 3; do
            netns_exec 1 "$SHOAL" output "$id" "$t" 2>&1
        done
        return 1
    } &&
    task=${killed##*.} &&
    read version name <"$killed" &&
    victim=$(host_named "$name") &&
    echo "$victim" >"$TRASH/$1.victim" &&
    echo "task $task made version $version durable on host $victim, whose daemon it killed" &&
    { kill -KILL $(netns_pids $victim) 2>/dev/null || true; } &&
    netns_wait_none_named "$3" 10 $victim &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 4 &&
    netns_exec 1 "$SHOAL" output "$id" "$task" >out.$task &&
    cat out.$task &&
    grep -x "resumed from version $version" out.$task &&
    grep -x "counted to 20" out.$task
}

# durable_kept CASE: every task, not only the one that killed the node:
# a version an attempt was told is durable is never lost to a later one.
durable_kept() {
    local id out last from
    id=$(cat "$TRASH/$1.job") && out="$TRASH/$1.out" &&
    for t in 0 1 2 3; do
        netns_exec 1 "$SHOAL" output "$id" "$t" >o.$t &&
        grep -x "counted to 20" o.$t || return 1
        [ -s "$out/durable.$t.1" ] || continue
        last=$(tail -n 1 "$out/durable.$t.1") &&
        from=$(sed -n "s/^resumed from version //p" o.$t | head -n 1) &&
        if [ -f "$out/durable.$t.2" ]; then
            echo "task $t: durable $last, resumed from ${from:-0}" &&
            test "${from:-0}" -ge "$last" || return 1
        fi
    done
}

test_expect_success 'a node lost right after a commit returned: the task resumes from that version' '
    lose_after_commit lib "$DURABLE" ckpt-durable
'

test_expect_success 'no task resumed from before a version its commit said was durable' '
    durable_kept lib
'

test_expect_success 'the copies started at once and the commits waited for them (daemon logs)' '
    for i in 1 2 3 4; do
        [ "$i" = "$(cat "$TRASH/lib.victim")" ] && continue
        netns_exec $i cat "$SHOAL_DIR/daemon.log" 2>/dev/null
    done | grep "copied to 1 other node: started" >copies &&
    test -s copies &&
    sed "s/.*started \([0-9.]*\) s after its commit (\([0-9.]*\) s .*durable \([0-9.]*\) s.*/\1 \2 \3/" copies |
    awk "{ n++; s += \$1; o += \$2; od += \$2 + \$3 - \$1; if (\$2 > om) om = \$2 }
         END { if (n) printf \"%d copies: each started %.3f s after its version on average; the oldest version it covers waited %.3f s on average (%.3f at most) and was durable %.3f s after its commit\n\", n, s / n, o / n, om, od / n }" >"$TRASH/copies.summary" &&
    cat "$TRASH/copies.summary"
'
# what the copies took, in the TAP output (a comment)
sed "s/^/# /" "$TRASH/copies.summary" 2>/dev/null

# The same for a program that does not link libshoal: it waits for KEEP.
# Another host is lost: the home and one more are left.
test_expect_success 'a script that waits for KEEP after its marker resumes from that version too' '
    lose_after_commit sh "$SHOAL_SRCDIR/tests/fixtures/ckpt-durable.sh" ckpt-durable.sh
'

test_expect_success 'and no task of it resumed from before a version it saw durable' '
    durable_kept sh
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
