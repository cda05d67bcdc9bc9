#!/bin/sh
# SPDX-License-Identifier: MIT
# Self-checkpointing tasks without a shared file system: with
# `shoal submit --checkpoint --replicas 1` each task checkpoints on its
# worker's own disk (STATE/ckpt-jobs), the worker's daemon copies each
# version to another node, and a task whose worker is lost resumes on
# another node from its newest copy, fetched there, not from scratch.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/taskpool.sh"

TICK="$SHOAL_SRCDIR/tests/fixtures/ckpt-tick.sh"

test_expect_success 'a daemon on each host' '
    "$SHOAL" keygen -o pool.key &&
    for i in 1 2 3; do test_within 15 daemon_start $i || exit 1; done &&
    for i in 1 2 3; do wait_alive $i 3 20 || exit 1; done
'

test_expect_success '--replicas needs --checkpoint and takes no --checkpoint-dir' '
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --replicas 1 --range 1-2 -- true 2>e1 &&
    grep "option .--replicas. needs --checkpoint" e1 &&
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --checkpoint --replicas 1 \
        --checkpoint-dir d --range 1-2 -- true 2>e2 &&
    grep "exclude each other" e2 &&
    test_expect_code 2 netns_exec 1 "$SHOAL" submit --checkpoint --replicas 65 \
        --range 1-2 -- true 2>e3 &&
    grep "invalid --replicas .65.: expected 0 to 64" e3
'

test_expect_success 'tasks whose worker is lost resume elsewhere from the copies of their checkpoints' '
    id=$(submit --checkpoint --replicas 1 --range 0-5 -- "$TICK" 40) &&
    echo "job $id" &&
    victim= &&
    for _ in $(seq 100); do
        for h in 2 3; do
            [ "$(ran_on "$id" $h)" -gt 0 ] && victim=$h && break 2
        done
        sleep 0.1
    done &&
    test -n "$victim" &&
    sleep 2 &&
    results "$id" | awk -F, -v n="$(node_id $victim)" "\$4 == n && \$3 == \"running\" { print \$1 }" >lost &&
    echo "running on host $victim: $(cat lost)" &&
    test -s lost &&
    netns_exec $victim sh -c "ls -d \"\$SHOAL_DIR\"/ckpt-jobs/tasks-*/task*/v*" >victim.versions &&
    test -s victim.versions &&
    # no other host sees them: each host has a state directory of its own
    for h in 1 2 3; do
        [ "$h" = "$victim" ] && continue
        ! netns_exec $h ls -d $(head -n 1 victim.versions) 2>/dev/null || exit 1
    done &&
    echo "host $victim is lost: every process on it killed" &&
    { kill -KILL $(netns_pids $victim) 2>/dev/null || true; } &&
    netns_wait_none_named ckpt-tick.sh 10 $victim &&
    test_within 120 netns_exec 1 "$SHOAL" wait "$id" >wait.out &&
    check_once "$id" 6 &&
    results "$id" >res.all && cat res.all &&
    for t in $(cat lost); do
        netns_exec 1 "$SHOAL" output "$id" "$t" >out.$t &&
        cat out.$t &&
        grep "^resumed after [1-9][0-9]*$" out.$t &&
        grep "^counted to 40$" out.$t || exit 1
    done &&
    ! test -e shoal-ckpt &&
    echo "$victim" >"$TRASH/victim"
'

# The first attempt of each task fails after step 10, just after its
# commit: its result waits until that version is copied, so the retry,
# on whichever node takes it, resumes after step 10 exactly. Plain
# --checkpoint: on a pool of several nodes --replicas 1 is the default,
# so each task checkpoints in its node's state directory (ckpt-jobs/), not
# in a shared ./shoal-ckpt.
test_expect_success 'a failed task is retried from the version it made last, wherever it runs' '
    id=$(submit --checkpoint --retries 1 --range 0-3 -- \
        sh -c "echo \"in \$SHOAL_CKPT_DIR\"; exec \"$TICK\" 20 \$SHOAL_TASK_ID 10") &&
    test_within 90 netns_exec 1 "$SHOAL" wait "$id" >wait2.out &&
    check_once "$id" 4 &&
    for t in 0 1 2 3; do
        netns_exec 1 "$SHOAL" output "$id" "$t" >again.$t &&
        cat again.$t &&
        grep -x "resumed after 10" again.$t &&
        grep -x "counted to 20" again.$t &&
        grep "^in /.*/ckpt-jobs/tasks-" again.$t || exit 1
    done
'

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
