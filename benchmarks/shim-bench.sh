#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shim-bench.sh - shoal's MPI against Open MPI and MPICH in one run, on one
# node: builds the ping-pong and collective programs with the three mpicc
# wrappers, runs them in alternating rounds (shoal, shoal without its
# shared-memory transport, Open MPI, MPICH; the order rotates every
# round), and takes per size and metric the median over rounds of each
# run's median. Prints every result as a JSON object, one JSON object per
# comparison (ratio = shoal / reference; for bandwidth higher is better,
# for times lower is better) and a table.
#
# Across hosts (SHIM_HOSTS=1, root only): two namespace hosts of
# tests/integration/netns.sh joined by veth links through a bridge, each
# with its own network, IPC and mount namespace (its own /dev/shm), so no
# library can take shared memory from one to the other; a daemon on each.
# The ping-pong alone runs with one rank per host, `shoal run -n 2
# --map-by node`, for shoal's MPI (libfabric; label shoal-ofi) and for
# Open MPI's build of the same program under the same `shoal run` with
# `--mca pml ob1 --mca btl tcp,self` (label openmpi-tcp), alternating.
# After every run the bytes host 2's eth0 received are checked: a run that
# did not move its data over the link is reported as an error. The hosts
# and that check are benchmarks/hosts.sh, shared with shim-rma.sh.
#
# Usage: benchmarks/shim-bench.sh [BUILDDIR]  (after `make`)
# ROUNDS (3), SIZES (ping-pong sizes in bytes; default 0 B and powers of
# two to 4 MiB), COLL_RANKS ("2 4"), SHIM_MODES ("shm ofi": shoal with its
# on-node transport, and with SHOAL_MPI_SHM=0 over libfabric), SHIM_HOSTS
# (empty: one node; 1: across two namespace hosts), SHIM_ENV (variables
# for shoal's ranks, e.g. SHIM_ENV="FI_OFI_RXM_SAR_LIMIT=1048576"),
# SHIM_MODES_HOSTS (across hosts: "ofi", shoal as it is, and variants
# LABEL=VAR=VALUE,VAR=VALUE..., e.g. "ofi net=SHOAL_OFI_PROVIDER=net"),
# PINGPONG_DIV
# (divides shim_pingpong's iteration counts, for a heavily loaded machine),
# SHIM_STRACE (across hosts, 1: every rank runs under `strace -f -y`, one
# trace per rank in $out/strace/, and each implementation's system calls
# of the message path, summed over its ranks and rounds, are printed per
# message as JSON objects {"strace":...}: counts, which a loaded machine
# does not skew as it skews times),
# SHIM_BENCH_OUT (where programs and results go; default under BUILDDIR).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${SHOAL_BUILDDIR:-$src}}" && pwd)
SHIM_HOSTS=${SHIM_HOSTS:-}
SHIM_STRACE=${SHIM_STRACE:-}
SHIM_ENV=${SHIM_ENV:-}
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run --oversubscribe -n"}
# Open MPI's wrapper compiler reads OMPI_MPICC itself as the compiler to
# run: taken here and unset, or a wrapper given in it would call itself.
ompi_mpicc=${OMPI_MPICC:-mpicc.openmpi}
unset OMPI_MPICC
OMPI_LAUNCHER=${OMPI_LAUNCHER:-"mpirun.openmpi --oversubscribe -n"}
MPICH_MPICC=${MPICH_MPICC:-mpicc.mpich}
MPICH_LAUNCHER=${MPICH_LAUNCHER:-"mpiexec.hydra -n"}
SHIM_MODES=${SHIM_MODES:-"shm ofi"}
COLL_RANKS=${COLL_RANKS:-"2 4"}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_base_warn_component_unused=0
out=${SHIM_BENCH_OUT:-"$build/benchmarks/shim-bench.out${SHIM_HOSTS:+-hosts}"}
mkdir -p "$out"
make -C "$build" mpi-shim/mpicc-uninst >/dev/null || exit 1
refs=""
progs="shim_pingpong shim_coll"
if [ -n "$SHIM_HOSTS" ]; then
    command -v "$ompi_mpicc" >/dev/null || {
        echo "shim-bench: across hosts needs Open MPI ($ompi_mpicc)" >&2
        exit 1
    }
    refs="openmpi-tcp"
    progs="shim_pingpong"
    SHIM_MODES=${SHIM_MODES_HOSTS:-ofi}
    . "$src/benchmarks/hosts.sh"
    hosts_setup shim-bench
else
    command -v "$ompi_mpicc" >/dev/null && command -v ${OMPI_LAUNCHER%% *} >/dev/null \
        && refs="$refs openmpi"
    command -v "$MPICH_MPICC" >/dev/null && command -v ${MPICH_LAUNCHER%% *} >/dev/null \
        && refs="$refs mpich"
fi
for p in $progs; do
    "$build/mpi-shim/mpicc-uninst" -O2 -o "$out/$p.shoal" \
        "$src/benchmarks/$p.c" || exit 1
    case "$refs" in *openmpi*)
        "$ompi_mpicc" -O2 -o "$out/$p.openmpi" "$src/benchmarks/$p.c" || exit 1 ;;
    esac
    case "$refs" in *mpich*)
        "$MPICH_MPICC" -O2 -o "$out/$p.mpich" "$src/benchmarks/$p.c" || exit 1 ;;
    esac
done

results="$out/results.json"
: >"$results"
: >"$out/link.json"
: >"$out/errors.json"
: >"$out/stderr.log"
# Under SHIM_STRACE, the command that runs a rank's program: its trace
# goes to $out/strace/IMPL.PID (the shell's pid is strace's once it
# execs).
wrap=()
if [ -n "$SHIM_STRACE" ]; then
    [ -n "$SHIM_HOSTS" ] || { echo "shim-bench: SHIM_STRACE needs SHIM_HOSTS=1" >&2; exit 1; }
    command -v strace >/dev/null || { echo "shim-bench: SHIM_STRACE needs strace" >&2; exit 1; }
    rm -rf "$out/strace"
    mkdir -p "$out/strace"
fi
export PINGPONG_DIV=${PINGPONG_DIV:-1}
# Every run is bounded; a run that fails or times out leaves a JSON error
# object.
run() {
    timeout -k 5 "${RUN_TIMEOUT:-300}" "$@" </dev/null >>"$results" \
        2>>"$out/stderr.log"
    local rc=$?
    [ $rc -eq 0 ] || echo "{\"error\":\"run failed\",\"rc\":$rc,\"command\":\"$*\"}" \
        | tee -a "$out/errors.json" >&2
    return $rc
}

# The payload rank 0 sends rank 1 in shim_pingpong's timed ping-pongs
# alone (TRIALS x iters messages per size): the least host 2 must receive.
pingpong_bytes() {
    local n sum=0 iters
    for n in ${SIZES:-0 $(awk 'BEGIN { for (n = 1; n <= 4194304; n *= 2) print n }')}; do
        if [ "$n" -le 4096 ]; then iters=2000
        elif [ "$n" -le 65536 ]; then iters=300
        else iters=20; fi
        iters=$((iters / ${PINGPONG_DIV:-1}))
        [ $iters -gt 0 ] || iters=1
        sum=$((sum + n * iters * 7))
    done
    echo $sum
}

# One run of impl across the hosts, np ranks spread one per host; fails
# unless host 2's link received at least the ping-pong's payload.
run_hosts() {
    local impl=$1 np=$2
    shift 2
    hosts_run "$impl" "$(pingpong_bytes)" -n "$np" "$@"
}

# The variables of variant LABEL of SHIM_MODES_HOSTS (LABEL=VAR=VALUE,...).
mode_env() {
    local m
    for m in $SHIM_MODES_ALL; do
        case "$m" in "$1="*) echo "${m#*=}" | tr ',' ' ' ;; esac
    done
}

# One run of program prog on np ranks by implementation impl.
run_impl() {
    local impl=$1 np=$2 prog=$3
    shift 3
    [ -n "$SHIM_STRACE" ] &&
        wrap=(sh -c 'exec strace -f -y -o "$0.$$" "$@"' "$out/strace/$impl")
    case "$impl" in
    shoal-shm) run env SHOAL_MPI_SHM=1 $SHIM_ENV $SHIM_LAUNCHER "$np" "$out/$prog.shoal" "$impl" "$@" ;;
    shoal-ofi)
        if [ -n "$SHIM_HOSTS" ]; then
            run_hosts "$impl" "$np" env $SHIM_ENV "${wrap[@]}" "$out/$prog.shoal" "$impl" "$@"
        else
            run env SHOAL_MPI_SHM=0 $SHIM_ENV $SHIM_LAUNCHER "$np" "$out/$prog.shoal" "$impl" "$@"
        fi ;;
    shoal-*) # across hosts, a variant: LABEL=VAR=VALUE,VAR=VALUE...
        run_hosts "$impl" "$np" env $(mode_env "${impl#shoal-}") $SHIM_ENV \
            "${wrap[@]}" "$out/$prog.shoal" "$impl" "$@" ;;
    openmpi-tcp) run_hosts "$impl" "$np" --mca pml ob1 --mca btl tcp,self \
        "${wrap[@]}" "$out/$prog.openmpi" "$impl" "$@" ;;
    openmpi) run $OMPI_LAUNCHER "$np" "$out/$prog.openmpi" "$impl" "$@" ;;
    mpich) run $MPICH_LAUNCHER "$np" "$out/$prog.mpich" "$impl" "$@" ;;
    esac
}

impls=""
SHIM_MODES_ALL=$SHIM_MODES
for m in $SHIM_MODES; do impls="$impls shoal-${m%%=*}"; done
impls="$impls $refs"
set -- $impls
nimpl=$#
for round in $(seq 1 "$ROUNDS"); do
    # Rotate the order so no implementation always runs first.
    order=""
    i=0
    for im in $impls; do
        pos=$(( (i + round) % nimpl )); order="$order $pos:$im"; i=$((i + 1))
    done
    order=$(echo $order | tr ' ' '\n' | sort -n | cut -d: -f2)
    for im in $order; do
        # shellcheck disable=SC2086
        run_impl "$im" 2 shim_pingpong $SIZES
        [ -n "$SHIM_HOSTS" ] && continue
        for np in $COLL_RANKS; do
            run_impl "$im" "$np" shim_coll
        done
    done
done
cat "$results"

# Median over rounds per (bench, ranks, size, metric, impl), then every
# shoal figure against each reference.
awk -v FS='[{}:,"]+' -v refs="$refs" '
function field(name,   i) { for (i = 1; i < NF; i++) if ($i == name) return $(i + 1); return "" }
function median(s,   a, n, i, j, v) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { v = a[i] + 0; j = i - 1
        while (j > 0 && a[j] + 0 > v) { a[j + 1] = a[j]; j-- }
        a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/"median"/ {
    key = field("bench") "|" field("ranks") "|" field("size") "|" field("metric")
    im = field("impl")
    vals[key, im] = vals[key, im] " " field("median")
    keys[key] = 1; impls[im] = 1
}
END {
    nr = split(refs, rl, " ")
    n = 0
    for (k in keys) order[++n] = k
    for (i = 2; i <= n; i++) { v = order[i]; j = i - 1
        while (j > 0 && order[j] > v) { order[j + 1] = order[j]; j-- }
        order[j + 1] = v }
    hdr = sprintf("%-10s %-10s %5s %8s %-15s %10s", "bench", "impl", "ranks", "bytes", "metric", "shoal")
    for (r = 1; r <= nr; r++) hdr = hdr sprintf(" %10s %7s", rl[r], "ratio")
    rows = ""
    for (i = 1; i <= n; i++) {
        k = order[i]; split(k, p, "|")
        for (im in impls) {
            if (im !~ /^shoal/ || !((k, im) in vals)) continue
            mine = median(vals[k, im])
            row = sprintf("%-10s %-10s %5s %8s %-15s %10.4f", p[1], im, p[2], p[3], p[4], mine)
            for (r = 1; r <= nr; r++) {
                ref = rl[r]
                if (!((k, ref) in vals)) { row = row sprintf(" %10s %7s", "-", "-"); continue }
                rv = median(vals[k, ref])
                ratio = rv == 0 ? 0 : mine / rv
                printf("{\"compare\":\"%s\",\"impl\":\"%s\",\"ref\":\"%s\",\"ranks\":%s,\"size\":%s,\"metric\":\"%s\",\"shoal\":%s,\"reference\":%s,\"ratio\":%.3f}\n",
                       p[1], im, ref, p[2], p[3], p[4], mine, rv, ratio)
                row = row sprintf(" %10.4f %7.2f", rv, ratio)
            }
            rows = rows row "\n"
        }
    }
    printf("\n%s\n%s", hdr, rows)
}' "$results"

# Under SHIM_STRACE: each implementation's system calls of the message
# path, summed over its ranks and rounds, per message the ping-pongs sent
# (both directions, warm-ups and windows included, barriers not counted).
# The message path is every call on a socket (strace -y names it; "io",
# the calls that move data) and every poll, wait or yield (their count
# grows with the time spent waiting); start-up's reads of files
# (libfabric's verbs provider reads /proc/kallsyms, 10,000 reads) and
# sleeps (the psm constructor's) are left out.
if [ -n "$SHIM_STRACE" ]; then
    msgs=0
    for n in ${SIZES:-0 $(awk 'BEGIN { for (n = 1; n <= 4194304; n *= 2) print n }')}; do
        if [ "$n" -le 4096 ]; then iters=2000 witers=200
        elif [ "$n" -le 65536 ]; then iters=300 witers=30
        else iters=20 witers=3; fi
        iters=$((iters / PINGPONG_DIV)); [ $iters -gt 0 ] || iters=1
        witers=$((witers / PINGPONG_DIV)); [ $witers -gt 0 ] || witers=1
        msgs=$((msgs + 2 * (iters / 10 + 1 + 7 * iters)))
        [ "$n" -gt 0 ] && msgs=$((msgs + (1 + 7 * witers) * 17))
    done
    msgs=$((msgs * ROUNDS))
    echo
    for im in $impls; do
        set -- "$out/strace/$im".*
        [ -e "$1" ] || continue
        awk -v impl="$im" -v msgs="$msgs" '
            # "PID [TIME] NAME(ARGS" or "PID <... NAME resumed>": the
            # first only.
            match($0, /^[0-9]+ +([0-9:.]+ +)?[a-z_0-9]+\(/) {
                call = substr($0, RSTART, RLENGTH - 1)
                sub(/^.* /, "", call)
                rest = substr($0, RSTART + RLENGTH)
                if (call ~ /^(poll|ppoll|epoll_wait|epoll_pwait|select|pselect6|sched_yield)$/) {
                    calls[call]++; total++
                } else if (rest ~ /^[0-9]+<(socket|TCP|UDP|UNIX)/) {
                    calls[call]++; total++; io++
                }
            }
            END {
                for (s in calls)
                    if (calls[s] >= msgs / 100)
                        printf("{\"strace\":\"%s\",\"syscall\":\"%s\",\"calls\":%d,\"per_message\":%.3f}\n",
                               impl, s, calls[s], calls[s] / msgs)
                printf("{\"strace\":\"%s\",\"syscall\":\"total\",\"calls\":%d,\"messages\":%d,\"per_message\":%.3f}\n",
                       impl, total, msgs, total / msgs)
                # Polls count the time spent waiting, which load skews;
                # the rest, the calls that move data, it does not.
                printf("{\"strace\":\"%s\",\"syscall\":\"io\",\"calls\":%d,\"messages\":%d,\"per_message\":%.3f}\n",
                       impl, io, msgs, io / msgs)
            }' "$@" | sort
    done
fi
