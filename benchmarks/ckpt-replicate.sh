#!/bin/sh
# SPDX-License-Identifier: MIT
# ckpt-replicate.sh - throughput of ckpt.replicate between two simulated
# hosts (network namespaces joined by veth links, as the multi-host tests
# make them; root only), against two references measured in the same run
# on the same files (SIZE_MB in four files): `cp` into the same kind of
# directory on the receiving host (the disk's own speed), and a plain TCP
# copy over the same link by python3 (the link's speed with no sealing,
# hashing or commit). The replica is removed between repetitions so each
# one sends every byte. Two cases of replication: `replicate` sends the
# same version again (its sender hashed it once, before the first
# repetition, and trusts it while its files stay the same),
# `replicate-new` a version the sender has never seen, with the MANIFEST
# a program's commit writes (its files hard links to the first's), as
# every new checkpoint is. With BASE_BUILDDIR set to another build of
# shoal, its daemons run beside this build's (another port and state
# directory on the same hosts) and are measured in the same rounds: before
# and after a change under the same load. Prints one JSON object per
# measurement, then the medians and ratios.
#
# usage: [BASE_BUILDDIR=DIR] benchmarks/ckpt-replicate.sh BUILDDIR SRCDIR
#            [SIZE_MB] [REPS]
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
CKPTQ="$SHOAL_SRCDIR/tests/integration/ckptq.py"
# the builds measured, each "name:shoal binary:state directory:port"
builds="this:$SHOAL:$NETNS_STATE/shoal:7911"
if [ -n "${BASE_BUILDDIR:-}" ]; then
    builds="$builds base:$BASE_BUILDDIR/cmd/shoal:$NETNS_STATE/shoal-base:7913"
fi

"$SHOAL" keygen -o "$TRASH/pool.key" >/dev/null
for b in $builds; do
    IFS=: read -r tree bin dir port <<EOF
$b
EOF
    for i in 1 2; do
        netns_exec $i "$bin" daemon start --dir "$dir" \
            --key "$TRASH/pool.key" --listen "$(netns_addr $i):$port" \
            --join "$(netns_addr 1):$port" >/dev/null || exit 1
    done
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
    echo "$1 $2" >>"$TRASH/times"
}
: >"$TRASH/times"
# rep METHOD DIR VERSION: one ckpt.replicate of that version through the
# daemon whose state directory is DIR on host 1, timed; its copy is
# removed from host 2 afterwards
rep() {
    t0=$(now)
    netns_exec 1 "$NETNS_PYTHON" "$CKPTQ" "$2/control.sock" \
        ckpt.replicate "{\"dir\": \"$src\", \"version\": $3, \"key\": \"bench\"}" >/dev/null || exit 1
    emit "$1" "$(el "$t0" "$(now)")"
    netns_exec 2 "$NETNS_PYTHON" "$CKPTQ" "$2/control.sock" \
        ckpt.remove '{"key": "bench", "keep_from": 0}' >/dev/null
}
# a new version as a program's commit leaves it: files, MANIFEST, marker
next_version=2
new_version() {
    mkdir "$src/v$next_version" &&
    for f in a b c d MANIFEST; do
        ln "$src/v1/$f" "$src/v$next_version/$f" || return 1
    done &&
    : >"$src/v$next_version/COMMITTED"
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

# each sender seals or verifies version 1 once, before the rounds (its
# MANIFEST is then the one new versions have)
for b in $builds; do
    IFS=: read -r tree bin dir port <<EOF
$b
EOF
    netns_exec 1 "$NETNS_PYTHON" "$CKPTQ" "$dir/control.sock" \
        ckpt.replicate "{\"dir\": \"$src\", \"version\": 1, \"key\": \"seal\"}" >/dev/null || exit 1
    # host 2's state directory holds one copy at a time (256 MB)
    netns_exec 2 "$NETNS_PYTHON" "$CKPTQ" "$dir/control.sock" \
        ckpt.remove '{"key": "seal", "keep_from": 0}' >/dev/null
done
r=0
while [ $r -lt "$reps" ]; do
    netns_exec 2 rm -rf "$NETNS_STATE/cp" "$NETNS_STATE/raw"
    t0=$(now)
    netns_exec 2 sh -c "cp -r '$src/v1' '$NETNS_STATE/cp' && sync -f '$NETNS_STATE/cp'"
    emit cp "$(el "$t0" "$(now)")"
    netns_exec 2 rm -rf "$NETNS_STATE/cp"

    netns_bg 2 "$NETNS_PYTHON" "$TRASH/raw.py" recv "$(netns_addr 2)" 7999 \
        "$NETNS_STATE/raw" a b c d >"$TRASH/raw.out"
    rpid=$netns_bg_pid
    while ! grep -q ready "$TRASH/raw.out" 2>/dev/null; do sleep 0.05; done
    t0=$(now)
    netns_exec 1 "$NETNS_PYTHON" "$TRASH/raw.py" send "$(netns_addr 2)" 7999 \
        "$src/v1/a" "$src/v1/b" "$src/v1/c" "$src/v1/d"
    wait $rpid
    emit tcp "$(el "$t0" "$(now)")"
    netns_exec 2 rm -rf "$NETNS_STATE/raw"

    for b in $builds; do
        IFS=: read -r tree bin dir port <<EOF
$b
EOF
        rep "replicate:$tree" "$dir" 1
        new_version || exit 1
        rep "replicate-new:$tree" "$dir" "$next_version"
        next_version=$((next_version + 1))
    done
    r=$((r + 1))
done
med() {
    awk -v m="$1" '$1 == m { print $2 }' "$TRASH/times" | sort -g |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
m_cp=$(med cp) m_raw=$(med tcp)
printf '%-24s %8s %10s %8s %8s\n' method seconds MB/s "vs tcp" "vs cp"
for m in cp tcp $(awk '$1 ~ /^replicate/ { print $1 }' "$TRASH/times" | sort -u); do
    t=$(med "$m")
    printf '%-24s %8.3f %10.1f %7.2fx %7.2fx\n' "$m" "$t" \
        "$(echo "$bytes / $t / 1048576" | bc -l)" \
        "$(echo "$m_raw / $t" | bc -l)" "$(echo "$m_cp / $t" | bc -l)"
done
for b in $builds; do
    IFS=: read -r tree bin dir port <<EOF
$b
EOF
    for i in 1 2; do
        netns_exec $i "$bin" daemon stop --dir "$dir" >/dev/null 2>&1
    done
done
