#!/bin/sh
# SPDX-License-Identifier: MIT
# Jobs run as the user who submitted them, on every node of a pool of
# three simulated hosts: clients run as nobody (65534), as daemon (1) and
# as a uid no host knows (4242), against daemons running as root.
#
# With MUNGE (munged found and startable: one munged per host, the same
# key, each its own socket and replay cache, as on real machines), the
# gang job's LAUNCH and the task job's GRANTs carry credentials the hosts
# decode; a host whose munged has another key sees a forged credential and
# refuses it, saying why. Then the same jobs on the pool key's trust
# (--credentials pool), where no credential travels.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"
. "$SHOAL_SRCDIR/tests/integration/netns.sh"

netns_setup_or_skip 3
. "$SHOAL_SRCDIR/tests/integration/pool.sh"

# the clients' users; every process of theirs keeps the environment
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
DAEMONU="setpriv --reuid=1 --regid=1 --clear-groups"
STRANGER="setpriv --reuid=4242 --regid=4242 --clear-groups"
SHOAL_TASK_LEASE=3
export SHOAL_TASK_LEASE

# The job's files must be the users': the test's directory, its programs
# and the hosts' state directories (the daemons open theirs for passage).
chmod 755 "$TRASH"
mkdir -m 777 "$TRASH/work"
for i in 1 2 3; do netns_exec $i chmod 755 "$NETNS_STATE"; done

MUNGE_DIR="$TRASH/munge"

# munge_start I KEY: a munged for host I with KEY, its socket
# $MUNGE_DIR/hI.sock; its pid is added to $MUNGE_DIR/pids (a file: tests
# run in subshells).
munge_start() {
    munged -f --socket="$MUNGE_DIR/h$1.sock" --key-file="$2" \
        --log-file="$MUNGE_DIR/h$1.log" --pid-file="$MUNGE_DIR/h$1.pid" \
        --seed-file="$MUNGE_DIR/h$1.seed" || return 1
    cat "$MUNGE_DIR/h$1.pid" >>"$MUNGE_DIR/pids"
}

# munge_restart I KEY: host I's munged again, with KEY.
munge_restart() {
    local old
    old=$(cat "$MUNGE_DIR/h$1.pid") || return 1
    kill "$old" || return 1
    for _ in $(seq 100); do
        kill -0 "$old" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$old" 2>/dev/null && return 1
    munge_start "$1" "$2"
}

munge_stop() {
    [ -f "$MUNGE_DIR/pids" ] || return 0
    for p in $(cat "$MUNGE_DIR/pids"); do kill "$p" 2>/dev/null; done
    rm -f "$MUNGE_DIR/pids"
}
trap 'munge_stop; netns_teardown; rm -rf "$TRASH"' EXIT

have_munge=
if command -v munged >/dev/null && command -v munge >/dev/null; then
    mkdir -m 711 "$MUNGE_DIR" &&
    dd if=/dev/urandom of="$MUNGE_DIR/key" bs=1024 count=1 2>/dev/null &&
    dd if=/dev/urandom of="$MUNGE_DIR/other.key" bs=1024 count=1 2>/dev/null &&
    chmod 600 "$MUNGE_DIR/key" "$MUNGE_DIR/other.key" &&
    munge_start 1 "$MUNGE_DIR/key" && munge_start 2 "$MUNGE_DIR/key" &&
    munge_start 3 "$MUNGE_DIR/key" && have_munge=yes
fi
if [ -n "$have_munge" ]; then
    echo "# credentials: MUNGE (one munged per host), then the pool key"
else
    echo "# credentials: the pool key only (munged cannot be started here)"
    munge_stop
fi

# pool_start MODE [OPTION...]: a daemon on each host with --credentials
# MODE (munge: each with its host's munged), all alive.
pool_start() {
    local mode
    mode=$1
    shift
    for i in 1 2 3; do
        if [ "$mode" = munge ]; then
            test_within 15 daemon_start $i --credentials munge \
                --munge-socket "$MUNGE_DIR/h$i.sock" "$@" || return 1
        else
            test_within 15 daemon_start $i --credentials "$mode" "$@" ||
                return 1
        fi
    done
    wait_free 1 9 20
}

pool_stop() {
    for i in 1 2 3; do
        netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" || return 1
    done
}

# as USER HOST CMD...: run CMD on host HOST as USER (NOBODY, ...) in the
# shared work directory.
as() {
    local who host
    who=$1
    host=$2
    shift 2
    (cd "$TRASH/work" && netns_exec "$host" $who "$@")
}

# ranks_as FILE UID: the 9 ranks' lines "HOST UID USER HOME" of FILE show
# UID on each of the three hosts.
ranks_as() {
    cat "$1" &&
    test "$(wc -l <"$1")" = 9 &&
    test "$(awk '{ print $2 }' "$1" | sort -u)" = "$2" &&
    for i in 1 2 3; do
        grep -q "^$(netns_name $i) " "$1" || {
            echo "no rank on host $i" >&2
            return 1
        }
    done
}

RANK_SCRIPT='echo $(hostname) $(id -u) $USER $HOME'

# The scenarios, for each trust model.
run_scenarios() {
    label=$1

    test_expect_success "$label: a 3-host job of nobody runs as nobody on every host" '
        as "$NOBODY" 1 "$SHOAL" run -n 9 sh -c "$RANK_SCRIPT" >ranks.out &&
        ranks_as ranks.out 65534 &&
        test "$(awk "{ print \$3, \$4 }" ranks.out | sort -u)" = \
            "nobody /nonexistent"
    '

    test_expect_success "$label: root's job still runs as root" '
        as "" 1 "$SHOAL" run -n 9 sh -c "$RANK_SCRIPT" >ranks.root &&
        ranks_as ranks.root 0
    '

    test_expect_success "$label: a working directory nobody cannot enter fails the launch" '
        mkdir -p "$TRASH/work/private" && chmod 700 "$TRASH/work/private" &&
        (cd "$TRASH/work/private" &&
         test_expect_code 126 netns_exec 1 $NOBODY "$SHOAL" run -n 9 true) \
            2>cwd.err &&
        cat cwd.err &&
        grep "cannot change to directory .$TRASH/work/private. as user .nobody.: Permission denied" cwd.err
    '

    test_expect_success "$label: nobody's tasks run as nobody on the other hosts" '
        rm -f "$TRASH/work/tasks.out" &&
        id=$(as "$NOBODY" 1 "$SHOAL" submit --range 0-29 -- \
            sh -c "sleep 0.2; echo \$(id -u) \$(hostname) \$HOME >>$TRASH/work/tasks.out") &&
        test_within 60 as "$NOBODY" 1 "$SHOAL" wait "$id" >wait.out &&
        grep "done: 30 done, 0 failed" wait.out &&
        sort "$TRASH/work/tasks.out" | uniq -c &&
        test "$(wc -l <"$TRASH/work/tasks.out")" = 30 &&
        test "$(awk "{ print \$1, \$3 }" "$TRASH/work/tasks.out" | sort -u)" = \
            "65534 /nonexistent" &&
        test "$(awk "\$2 != \"$(netns_name 1)\"" "$TRASH/work/tasks.out" | wc -l)" -gt 0 &&
        # its output, on whichever host, is nobody'"'"'s
        as "$NOBODY" 1 "$SHOAL" results "$id" --csv | tail -n +2 >res.csv &&
        path=$(awk -F, "{ print \$9; exit }" res.csv) &&
        for i in 1 2 3; do
            netns_exec $i stat -c "%u %a" "$(dirname "$path")" 2>/dev/null
        done | grep "^65534 700$"
    '

    test_expect_success "$label: user 1 cannot cancel nobody's job, nobody and root can" '
        id=$(as "$NOBODY" 1 "$SHOAL" submit --range 0-5 -- sleep 60) &&
        test_expect_code 1 as "$DAEMONU" 1 "$SHOAL" cancel "$id" 2>cancel.err &&
        cat cancel.err &&
        grep "shoal: job $id belongs to user .nobody. (uid 65534)" cancel.err &&
        test_expect_code 1 as "$DAEMONU" 1 "$SHOAL" results "$id" 2>res.err &&
        grep "belongs to user .nobody." res.err &&
        as "$NOBODY" 1 "$SHOAL" cancel "$id" &&
        id=$(as "$NOBODY" 1 "$SHOAL" submit --range 0-5 -- sleep 60) &&
        as "" 1 "$SHOAL" cancel "$id" &&
        # the listing shows whose each job is, to everyone
        as "$DAEMONU" 1 "$SHOAL" jobs >jobs.out && cat jobs.out &&
        grep -c cancelled jobs.out
    '

    test_expect_success "$label: the daemon's own ops are for root" '
        test_expect_code 1 as "$DAEMONU" 1 "$SHOAL" daemon stop --dir "$SHOAL_DIR" \
            2>stop.err &&
        grep "'"'"'stop'"'"' is for root and the daemon'"'"'s user" stop.err &&
        as "$DAEMONU" 1 "$SHOAL" status >/dev/null
    '

    test_expect_success "$label: a uid no host knows is refused, by default" '
        test_expect_code 1 as "$STRANGER" 1 "$SHOAL" run -n 9 id -u 2>stranger.err &&
        cat stranger.err &&
        grep "user 4242 does not exist on node .$(netns_name [123])." stranger.err &&
        id=$(as "$STRANGER" 1 "$SHOAL" submit --range 0-2 -- id -u) &&
        test_expect_code 1 as "$STRANGER" 1 "$SHOAL" wait "$id" &&
        as "$STRANGER" 1 "$SHOAL" results "$id" --json >stranger.json &&
        grep "user 4242 does not exist on node" stranger.json
    '
}

# guest_scenario MODE [OPTION...]: with --unknown-user guest, the stranger
# runs as nobody everywhere.
guest_scenario() {
    mode=$1
    shift
    test_expect_success "$mode: with --unknown-user guest, uid 4242 runs as nobody" '
        pool_stop && pool_start "$mode" --unknown-user guest --guest-user nobody &&
        as "$STRANGER" 1 "$SHOAL" run -n 9 sh -c "$RANK_SCRIPT" >ranks.guest &&
        ranks_as ranks.guest 65534 &&
        pool_stop && pool_start "$mode"
    '
}

test_expect_success 'the pool key' '
    "$SHOAL" keygen -o "$TRASH/pool.key"
'

if [ -n "$have_munge" ]; then
    test_expect_success 'munge: a daemon on each host, each with its munged' '
        pool_start munge &&
        netns_exec 1 grep "user credentials: MUNGE" "$SHOAL_DIR/daemon.log"
    '
    run_scenarios munge
    guest_scenario munge

    test_expect_success 'munge: a host that requires MUNGE refuses the pool key'"'"'s word' '
        netns_exec 1 "$SHOAL" daemon stop --dir "$SHOAL_DIR" &&
        test_within 15 daemon_start 1 --credentials pool &&
        wait_free 1 9 20 &&
        test_expect_code 1 as "$NOBODY" 1 "$SHOAL" run -n 9 true 2>nocred.err &&
        cat nocred.err &&
        grep "credential refused: no MUNGE credential (node .$(netns_name "[23]"). requires one)" nocred.err &&
        netns_exec 1 "$SHOAL" daemon stop --dir "$SHOAL_DIR" &&
        test_within 15 daemon_start 1 --credentials munge \
            --munge-socket "$MUNGE_DIR/h1.sock" &&
        wait_free 1 9 20
    '

    test_expect_success 'munge: a credential the executing host cannot decode is refused' '
        netns_exec 3 "$SHOAL" daemon stop --dir "$SHOAL_DIR" &&
        munge_restart 3 "$MUNGE_DIR/other.key" &&
        test_within 15 daemon_start 3 --credentials munge \
            --munge-socket "$MUNGE_DIR/h3.sock" &&
        wait_free 1 9 20 &&
        test_expect_code 1 as "$NOBODY" 1 "$SHOAL" run -n 9 true 2>forged.err &&
        cat forged.err &&
        grep "cannot launch .true. on .$(netns_name 3).: credential refused: " forged.err &&
        netns_exec 3 grep "refused: credential refused" "$SHOAL_DIR/daemon.log"
    '

    test_expect_success 'munge: done' '
        pool_stop && munge_stop
    '
else
    test_skip 'munge: credentials decoded on each host' \
        'munged cannot be started here'
fi

test_expect_success 'pool: a daemon on each host, on the pool key'"'"'s trust' '
    pool_start pool &&
    netns_exec 1 grep "user credentials: the pool key" "$SHOAL_DIR/daemon.log"
'
run_scenarios pool
guest_scenario pool

test_expect_success 'pool: the daemons stop' '
    pool_stop
'

test_done
