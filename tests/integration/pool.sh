# SPDX-License-Identifier: MIT
# pool.sh - a pool of daemons on the simulated hosts of netns.sh. Source it
# after netns.sh and netns_setup; the pool key is $TRASH/pool.key.

POOLQ="$SHOAL_SRCDIR/tests/integration/poolq.py"
PORT=7911
# Each host has its own $NETNS_STATE: clients find their host's daemon.
SHOAL_DIR="$NETNS_STATE/shoal"
export SHOAL_DIR
# No calibration loop at start: the hosts share two CPUs.
SHOAL_SPEED=1000
export SHOAL_SPEED

# daemon_start I [OPTION...]: start a daemon on host I with its topology,
# listening on its address and joining through host 1 (host 1 through 2).
daemon_start() {
    local i seed
    i=$1
    shift
    seed=1
    [ "$i" -eq 1 ] && seed=2
    netns_exec "$i" env SHOAL_TOPOLOGY="$(netns_topology "$i")" \
        "$SHOAL" daemon start --dir "$SHOAL_DIR" --key "$TRASH/pool.key" \
        --listen "$(netns_addr "$i"):$PORT" \
        --join "$(netns_addr $seed):$PORT" "$@"
}

# free_cores I: the free cores of the live nodes, as host I sees them.
free_cores() {
    netns_exec "$1" "$SHOAL" status --json >"status.$1" &&
        "$NETNS_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print(sum(m["summary"]["cores_free"] for m in s["members"]
          if m["state"] == "alive" and "summary" in m))' <"status.$1"
}

# wait_free I N SECONDS: within SECONDS, host I sees N free cores.
wait_free() {
    local end
    end=$(($(date +%s) + $3))
    while [ "$(free_cores "$1")" != "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && {
            echo "host $1 sees $(free_cores "$1") free cores, not $2" >&2
            return 1
        }
        sleep 0.2
    done
}
