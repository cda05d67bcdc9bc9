#!/bin/sh
# SPDX-License-Identifier: MIT
# Durable task checkpoints: with `shoal submit --checkpoint --replicas 1`
# a task's shoal_ckpt_commit returns only once the version is copied to
# another node, so a node lost right after a commit returned (its daemon
# SIGKILLed by the task itself, no pause) costs nothing committed: the
# task resumes on another node from exactly that version.
# tests/fixtures/ckpt-durable.c is the task.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/taskpool.sh"

DURABLE="$TRASH/ckpt-durable"
mkdir -p "$TRASH/out"

test_expect_success 'the task builds against libshoal' '
    ${CC:-cc} $SHOAL_WRAPPER_FLAGS -O1 -Wall -Werror -I"$SHOAL_SRCDIR/include" \
        -o "$DURABLE" "$SHOAL_SRCDIR/tests/fixtures/ckpt-durable.c" \
        -L"$SHOAL_BUILDDIR/.libs" -Wl,-rpath,"$SHOAL_BUILDDIR/.libs" -lshoal
'

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

# host_named NAME: the host whose hostname is NAME
host_named() {
    for i in 1 2 3; do
        [ "$(netns_name $i)" = "$1" ] && echo $i && return 0
    done
    return 1
}

test_expect_success 'a node lost right after a commit returned: the task resumes from that version' '
    id=$(HOME_NODE=$(node_id 1) submit --checkpoint --replicas 1 --range 0-3 \
        -- "$DURABLE" 20 6 "$SHOAL_DIR" "$TRASH/out") &&
    echo "job $id" && echo "$id" >"$TRASH/job" &&
    for _ in $(seq 600); do
        ls "$TRASH"/out/killed.* >/dev/null 2>&1 && break
        sleep 0.1
    done &&
    killed=$(ls "$TRASH"/out/killed.* 2>/dev/null) || {
        echo "no task lost its node: the results, the outputs" &&
        results "$id" &&
        for t in 0 1 2 3; do
            netns_exec 1 "$SHOAL" output "$id" "$t" 2>&1
        done
        exit 1
    } &&
    task=${killed##*.} &&
    read version name <"$killed" &&
    victim=$(host_named "$name") &&
    echo "task $task committed version $version on host $victim, whose daemon it killed" &&
    { kill -KILL $(netns_pids $victim) 2>/dev/null || true; } &&
    netns_wait_none_named ckpt-durable 10 $victim &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 4 &&
    netns_exec 1 "$SHOAL" output "$id" "$task" >out.$task &&
    cat out.$task &&
    grep -x "resumed from version $version" out.$task &&
    grep -x "counted to 20" out.$task &&
    echo "$victim" >"$TRASH/victim"
'

# Every task, not only the one that killed the node: a version whose
# commit returned 0 on an attempt is never lost to a later one.
test_expect_success 'no task resumed from before a version its commit said was durable' '
    id=$(cat "$TRASH/job") &&
    for t in 0 1 2 3; do
        netns_exec 1 "$SHOAL" output "$id" "$t" >o.$t &&
        grep -x "counted to 20" o.$t || exit 1
        [ -s "$TRASH/out/durable.$t.1" ] || continue
        last=$(tail -n 1 "$TRASH/out/durable.$t.1") &&
        from=$(sed -n "s/^resumed from version //p" o.$t | head -n 1) &&
        if [ -f "$TRASH/out/durable.$t.2" ]; then
            echo "task $t: durable $last, resumed from ${from:-0}" &&
            test "${from:-0}" -ge "$last" || exit 1
        fi
    done
'

test_expect_success 'the copies started at once and the commits waited for them (daemon logs)' '
    for i in 1 2 3; do
        [ "$i" = "$(cat "$TRASH/victim")" ] && continue
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

test_expect_success 'the daemons left stop and nothing runs after them' '
    victim=$(cat "$TRASH/victim") && left= &&
    for i in 1 2 3; do
        [ "$i" = "$victim" ] && continue
        left="$left $i" &&
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle $left
'

test_done
