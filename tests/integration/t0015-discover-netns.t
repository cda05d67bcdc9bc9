#!/bin/sh
# SPDX-License-Identifier: MIT
# Daemons started with --discover and no seed find each other on the LAN
# of three simulated hosts by their sealed broadcasts; a daemon with
# another key broadcasts too, and is never a member.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3

. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# discover_start I KEY: a daemon on host I that knows no seed. It listens
# on every address (broadcasts reach no socket bound to one) and
# advertises its host's.
discover_start() {
    netns_exec "$1" env SHOAL_TOPOLOGY="$(netns_topology "$1")" \
        "$SHOAL" daemon start --dir "$SHOAL_DIR" --key "$2" \
        --listen "0.0.0.0:$PORT" --advertise "$(netns_addr "$1")" --discover
}

# members_of I: host I's view, "NAME STATE CORES" per member.
members_of() {
    netns_exec "$1" "$SHOAL" status --json | "$NETNS_PYTHON" "$POOLQ" members
}

wait_members_of() {
    local end
    end=$(($(date +%s) + $3))
    while ! members_of "$1" >got 2>&1 || ! cmp -s "$2" got; do
        [ "$(date +%s)" -ge "$end" ] && { diff -u "$2" got; return 1; }
        sleep 0.2
    done
}

test_expect_success '--discover on one address is refused, with the reason' '
    "$SHOAL" keygen -o pool.key &&
    test_expect_code 1 netns_exec 1 "$SHOAL" daemon start --dir "$SHOAL_DIR" \
        --key "$TRASH/pool.key" --listen "$(netns_addr 1):$PORT" --discover 2>err &&
    cat err && grep "receives no broadcasts" err
'

test_expect_success 'daemons that know no seed find each other' '

    for i in 1 2; do test_within 15 discover_start $i "$TRASH/pool.key" || exit 1; done &&
    for i in 1 2; do echo "$(netns_name $i) alive $(netns_cores $i)"; done >expect &&
    wait_members_of 1 expect 20 && wait_members_of 2 expect 20
'

test_expect_success 'a daemon with another key is not found, nor finds them' '
    "$SHOAL" keygen -o other.key &&
    test_within 15 discover_start 3 "$TRASH/other.key" &&
    sleep 3 &&
    wait_members_of 1 expect 5 &&
    echo "$(netns_name 3) alive $(netns_cores 3)" >alone &&
    wait_members_of 3 alone 5 &&
    test "$(netns_exec 1 "$SHOAL" status --stats --json |
        "$NETNS_PYTHON" "$POOLQ" counter auth-failed)" -gt 0
'

test_expect_success 'daemons stop and nothing runs after them' '
    for i in 1 2 3; do
        test_within 15 netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || exit 1
    done &&
    netns_idle 1 2 3
'

test_done
