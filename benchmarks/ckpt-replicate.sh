#!/bin/sh
# SPDX-License-Identifier: MIT
# ckpt-replicate.sh - throughput of ckpt.replicate between two simulated
# hosts (network namespaces joined by veth links, as the multi-host tests
# make them; root only), against two references measured in the same run
# on the same files (SIZE_MB in four files): `cp` into the same kind of
# directory on the receiving host (the disk's own speed), and a plain TCP
# copy over the same link by python3 (the link's speed with no sealing,
# hashing or commit). The replica is removed between repetitions so each
# one sends every byte. Prints one JSON object per measurement, then the
# medians and ratios.
#
# usage: benchmarks/ckpt-replicate.sh BUILDDIR SRCDIR [SIZE_MB] [REPS]
set -u

SHOAL_BUILDDIR=${1:?usage: ckpt-replicate.sh BUILDDIR SRCDIR [SIZE_MB] [REPS]}
SHOAL_SRCDIR=${2:?usage: ckpt-replicate.sh BUILDDIR SRCDIR [SIZE_MB] [REPS]}
size=${3:-200}
reps=${4:-3}
export SHOAL_BUILDDIR SHOAL_SRCDIR
. "$SHOAL_SRCDIR/tests/integration/lib.sh" >/dev/null
. "$SHOAL_SRCDIR/tests/integration/netns.sh"
if ! netns_setup 2; then
    echo "ckpt-replicate: skipped: $netns_skip_reason" >&2
    exit 0
fi
PORT=7911
SHOAL_DIR="$NETNS_STATE/shoal"
CKPTQ="$SHOAL_SRCDIR/tests/integration/ckptq.py"

"$SHOAL" keygen -o "$TRASH/pool.key" >/dev/null
for i in 1 2; do
    netns_exec $i "$SHOAL" daemon start --dir "$SHOAL_DIR" \
        --key "$TRASH/pool.key" --listen "$(netns_addr $i):$PORT" \
        --join "$(netns_addr 1):$PORT" >/dev/null || exit 1
done
sleep 2
src="$TRASH/src"
mkdir -p "$src/v1"
for f in a b c d; do
    head -c $((size * 1024 * 1024 / 4)) /dev/urandom >"$src/v1/$f"
done
: >"$src/v1/COMMITTED"
bytes=$((size * 1024 * 1024))

now() { date +%s.%N; }
el() { echo "$2 - $1" | bc -l; }
emit() {
    printf '{"bench": "ckpt-replicate", "method": "%s", "bytes": %d, "seconds": %.3f, "mb_per_s": %.1f}\n' \
        "$1" "$bytes" "$2" "$(echo "$bytes / $2 / 1048576" | bc -l)"
}

# the TCP reference: host 2 listens and writes what it gets into files
cat >"$TRASH/raw.py" <<'PY'
import os, socket, sys
mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1); print("ready", flush=True)
    c, _ = s.accept(); out = sys.argv[4]; os.makedirs(out, exist_ok=True)
    for name in sys.argv[5:]:
        n = int.from_bytes(c.recv(8, socket.MSG_WAITALL), "big")
        with open(os.path.join(out, name), "wb") as f:
            while n:
                b = c.recv(min(n, 1 << 20)); f.write(b); n -= len(b)
            f.flush(); os.fsync(f.fileno())
    c.sendall(b"k")
else:
    c = socket.create_connection((addr, port))
    for path in sys.argv[4:]:
        c.sendall(os.path.getsize(path).to_bytes(8, "big"))
        with open(path, "rb") as f:
            c.sendfile(f)
    c.recv(1)
PY

t_rep= t_cp= t_raw=
r=0
while [ $r -lt "$reps" ]; do
    netns_exec 2 rm -rf "$NETNS_STATE/cp" "$NETNS_STATE/raw"
    t0=$(now)
    netns_exec 2 sh -c "cp -r '$src/v1' '$NETNS_STATE/cp' && sync -f '$NETNS_STATE/cp'"
    t=$(el "$t0" "$(now)"); emit cp "$t"; t_cp="$t_cp $t"
    netns_exec 2 rm -rf "$NETNS_STATE/cp"

    netns_bg 2 "$NETNS_PYTHON" "$TRASH/raw.py" recv "$(netns_addr 2)" 7999 \
        "$NETNS_STATE/raw" a b c d >"$TRASH/raw.out"
    rpid=$netns_bg_pid
    while ! grep -q ready "$TRASH/raw.out" 2>/dev/null; do sleep 0.05; done
    t0=$(now)
    netns_exec 1 "$NETNS_PYTHON" "$TRASH/raw.py" send "$(netns_addr 2)" 7999 \
        "$src/v1/a" "$src/v1/b" "$src/v1/c" "$src/v1/d"
    wait $rpid
    t=$(el "$t0" "$(now)"); emit tcp "$t"; t_raw="$t_raw $t"
    netns_exec 2 rm -rf "$NETNS_STATE/raw"

    t0=$(now)
    netns_exec 1 "$NETNS_PYTHON" "$CKPTQ" "$SHOAL_DIR/control.sock" \
        ckpt.replicate "{\"dir\": \"$src\", \"version\": 1, \"key\": \"bench\"}" >/dev/null || exit 1
    t=$(el "$t0" "$(now)"); emit replicate "$t"; t_rep="$t_rep $t"
    netns_exec 2 "$NETNS_PYTHON" "$CKPTQ" "$SHOAL_DIR/control.sock" \
        ckpt.remove '{"key": "bench", "keep_from": 0}' >/dev/null
    r=$((r + 1))
done
med() { echo $* | tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
m_rep=$(med $t_rep) m_cp=$(med $t_cp) m_raw=$(med $t_raw)
printf '%-12s %8s %10s\n' method seconds MB/s
for m in replicate:$m_rep cp:$m_cp tcp:$m_raw; do
    printf '%-12s %8.3f %10.1f\n' "${m%%:*}" "${m#*:}" "$(echo "$bytes / ${m#*:} / 1048576" | bc -l)"
done
printf 'replicate vs tcp: %.2fx   replicate vs cp: %.2fx\n' \
    "$(echo "$m_raw / $m_rep" | bc -l)" "$(echo "$m_cp / $m_rep" | bc -l)"
for i in 1 2; do netns_exec $i "$SHOAL" daemon stop --dir "$SHOAL_DIR" >/dev/null 2>&1; done
