# SPDX-License-Identifier: MIT
# A pool of three simulated hosts for bag-of-tasks tests, sourced after
# netns_setup_or_skip 3: each host a different machine (cores and speed),
# its daemon started and killed by the test, and the queries those tests
# ask of the pool and of a job's results (from host 1, the jobs' home).

PORT=7911
SHOAL_DIR="$NETNS_STATE/shoal"
export SHOAL_DIR
# short leases, so that a stalled worker costs little; quick kills
SHOAL_TASK_LEASE=3
SHOAL_TASK_KILL_GRACE=1
export SHOAL_TASK_LEASE SHOAL_TASK_KILL_GRACE

# host 1: 2 cores, slow; host 2: 4 cores, fast; host 3: 3 cores; a
# fourth host, where a test makes one: 8 cores
speed_of() {
    case $1 in 1) echo 500 ;; 2) echo 2000 ;; 3) echo 1000 ;; 4) echo 1500 ;; esac
}

daemon_start() {
    local i seed
    i=$1
    seed=1
    [ "$i" -eq 1 ] && seed=2
    netns_exec "$i" env SHOAL_TOPOLOGY="$(netns_topology "$i")" \
        SHOAL_SPEED="$(speed_of "$i")" \
        "$SHOAL" daemon start --dir "$SHOAL_DIR" --key "$TRASH/pool.key" \
        --listen "$(netns_addr "$i"):$PORT" \
        --join "$(netns_addr $seed):$PORT"
}

daemon_pid() {
    netns_exec "$1" cat "$SHOAL_DIR/daemon.pid"
}

# daemon_kill I: SIGKILL host I's daemon and wait until it is gone: a
# process killed is not gone at once (a large one takes a while to be torn
# down), and until then it still holds its control socket.
daemon_kill() {
    local p
    p=$(daemon_pid "$1") && kill -KILL "$p" || return 1
    for _ in $(seq 200); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "host $1's daemon $p outlived SIGKILL by 10 s" >&2
    return 1
}

# alive_seen I: the nodes host I sees alive.
alive_seen() {
    netns_exec "$1" "$SHOAL" status --json 2>/dev/null |
        "$NETNS_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(1 for m in s["members"] if m["state"] == "alive"))'
}

# wait_alive I N SECONDS
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

# node_id I: host I's node id as the results print it (16 hex digits).
node_id() {
    printf '%016x\n' "0x$(netns_exec "$1" cat "$SHOAL_DIR/node-id")"
}

# results ID: the job's CSV (from host 1, its home), without the header
results() {
    netns_exec 1 "$SHOAL" results "$1" --csv | tail -n +2
}

# check_once ID N: tasks 0..N-1 have one row each, all done.
check_once() {
    results "$1" >res.csv &&
    awk -F, '{ print $1 }' res.csv | sort -n | uniq -c |
        awk '$1 != 1' >dups && test ! -s dups &&
    test "$(wc -l <res.csv)" = "$2" &&
    test "$(awk -F, '$3 == "done"' res.csv | wc -l)" = "$2" || {
        echo "job $1: $(wc -l <res.csv) rows, $(awk -F, '$3 == "done"' res.csv | wc -l) done of $2" >&2
        awk -F, '$3 != "done"' res.csv | head >&2
        return 1
    }
}

# ran_on ID I: tasks of job ID recorded as run by host I
ran_on() {
    results "$1" | awk -F, -v n="$(node_id "$2")" '$4 == n' | wc -l
}

# done_count ID: tasks of job ID done so far
done_count() {
    n=$(netns_exec 1 "$SHOAL" job "$1" 2>/dev/null |
        awk '$1 == "done" { print $2 }')
    echo "${n:-0}"
}

# wait_done ID N SECONDS: at least N tasks of job ID are done
wait_done() {
    local end
    end=$(($(date +%s) + $3))
    while [ "$(done_count "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && {
            echo "job $1: $(done_count "$1") done, not $2" >&2
            return 1
        }
        sleep 0.2
    done
}

submit() {
    netns_exec 1 "$SHOAL" submit "$@"
}

# ran_twice FILE: tasks that ran to their end twice although their first
# end was on a worker (host 2 or 3), from the lines "TASK HOST" the tasks
# append when they end. A task that ran on the home may have ended just
# as the home was killed, before its result was recorded: it runs again
# rightly, and is not counted.
ran_twice() {
    awk -v h1="$(netns_name 1)" '
        !($1 in first) { first[$1] = $2; next }
        first[$1] != h1 { print $1 }' "$1" | sort -u
}
