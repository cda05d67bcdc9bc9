#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the programs of tests/mpi-shim/testlist built with shoal's mpicc
# under a PMI-1 launcher, on each listed provider, and compares their
# output with the same source built and run with the reference MPI.
# Prints TAP. Every run is bounded by a timeout; launchers reap their
# ranks, and nothing else is started in the background.
set -u
src=${SHOAL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SHOAL_BUILDDIR:-$src}
# The launcher for shoal's programs; one line to switch.
SHIM_LAUNCHER=${SHIM_LAUNCHER:-"$build/cmd/shoal run --oversubscribe -n"}
REF_MPICC=${REF_MPICC:-mpicc.openmpi}
REF_LAUNCHER=${REF_LAUNCHER:-"mpirun.openmpi --oversubscribe -n"}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
# SHIM_TESTS="attr info" runs only the named programs of the list.
SHIM_TESTS=${SHIM_TESTS:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_base_warn_component_unused=0
if ! command -v ${SHIM_LAUNCHER%% *} >/dev/null 2>&1; then
    echo "1..0 # SKIP no PMI-1 launcher '${SHIM_LAUNCHER%% *}'"
    exit 0
fi
mpicc="$build/mpi-shim/mpicc-uninst"
list="$src/tests/mpi-shim/testlist"
bin="$build/tests/mpi-shim/bin"
mkdir -p "$bin"
have_ref=yes
command -v "$REF_MPICC" >/dev/null 2>&1 || have_ref=no
command -v ${REF_LAUNCHER%% *} >/dev/null 2>&1 || have_ref=no

# A column of the testlist is a data path: "shm" is shoal's on-node
# transport (the default) with tcp;ofi_rxm between nodes, "tcp" turns the
# on-node transport off (SHOAL_MPI_SHM=0) so libfabric's tcp;ofi_rxm
# carries everything, "fishm" the same with libfabric's own shm provider.
provider_name() {
    case "$1" in
    fishm) echo shm ;;
    *) echo "tcp;ofi_rxm" ;;
    esac
}
# What the fatal line names: a one-node job over shoal's shared memory
# never loads libfabric.
fatal_provider() {
    case "$1" in
    shm) echo shm ;;
    *) provider_name "$1" ;;
    esac
}
shm_switch() {
    case "$1" in
    shm) echo 1 ;;
    *) echo 0 ;;
    esac
}

selected() {
    [ -z "$SHIM_TESTS" ] && return 0
    case " $SHIM_TESTS " in *" $1 "*) return 0 ;; esac
    return 1
}

# Count the plan: per program one build, per (ranks, provider) one run,
# per ranks one reference comparison.
plan=0
while read -r name ranks provs expect; do
    case "$name" in ''|\#*) continue ;; esac
    selected "$name" || continue
    nr=$(echo "$ranks" | tr ',' ' ' | wc -w)
    np=$(echo "$provs" | tr ',' ' ' | wc -w)
    plan=$((plan + 1 + nr * np + nr))
done <"$list"
echo "1..$plan"

# A rank killed by a timeout cannot remove libfabric's shm region; ours
# are named shoal_<pid>_..., so those of dead processes are removed.
# (shoal's own segments, /dev/shm/shoal-mpi-*, are unlinked at MPI_Init.)
cleanup_shm() {
    local f b pid
    for f in /dev/shm/shoal_*; do
        [ -e "$f" ] || continue
        b=${f##*/shoal_}
        pid=${b%%_*}
        kill -0 "$pid" 2>/dev/null || rm -f "$f"
    done
}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }

while read -r name ranks provs expect; do
    case "$name" in ''|\#*) continue ;; esac
    selected "$name" || continue
    srcfile="$src/tests/mpi-shim/$name.c"
    built=yes
    if "$mpicc" -O1 -o "$bin/$name.shim" "$srcfile" >"$bin/$name.build.log" 2>&1; then
        ok "build $name"
    else
        notok "build $name"; sed 's/^/# /' "$bin/$name.build.log"; built=no
    fi
    ref_built=no
    if [ "$have_ref" = yes ] && "$REF_MPICC" -O1 -o "$bin/$name.ref" "$srcfile" \
        >"$bin/$name.refbuild.log" 2>&1; then
        ref_built=yes
    fi
    for spec in $(echo "$ranks" | tr ',' ' '); do
        # "8/block:2": 8 ranks made to believe they sit on nodes of 2
        # consecutive ranks (SHOAL_MPI_NODE=@block:2, mpi-shim/README.md).
        np=${spec%%/*}
        fake=""
        tagname=$np
        if [ "$spec" != "$np" ]; then
            fake="@${spec#*/}"
            tagname="$np.${spec#*/}"
            tagname=${tagname//:/}
        fi
        first_out=""
        for prov in $(echo "$provs" | tr ',' ' '); do
            out="$bin/$name.$tagname.$prov.out"
            err="$bin/$name.$tagname.$prov.err"
            if [ "$built" != yes ]; then
                notok "$name -n $spec on $prov (not built)"; continue
            fi
            SHOAL_OFI_PROVIDER=$(provider_name "$prov") SHOAL_MPI_NODE=$fake \
                SHOAL_MPI_SHM=$(shm_switch "$prov") \
                timeout -k 10 "$RUN_TIMEOUT" $SHIM_LAUNCHER "$np" \
                "$bin/$name.shim" </dev/null >"$out" 2>"$err"
            rc=$?
            [ $rc -ne 0 ] && cleanup_shm
            last=$(tail -n 1 "$out")
            if [ "$expect" = FATAL ]; then
                # The default error handler must abort the job with one
                # line naming rank, call, provider and cause.
                if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q \
                    "^shoal mpi: rank 1: MPI_Send: invalid rank (MPI_ERR_RANK) (provider '$(fatal_provider "$prov")')" "$err"; then
                    ok "$name -n $np on $prov aborts with the fatal message"
                else
                    notok "$name -n $np on $prov (rc $rc)"; sed 's/^/# /' "$err" | head -5
                fi
                continue
            fi
            if [ $rc -eq 0 ] && [ "$last" = "$expect" ] && ! grep -q '^FAIL' "$out"; then
                ok "$name -n $spec on $prov"
            else
                notok "$name -n $spec on $prov (rc $rc)"
                sed 's/^/# /' "$out" | tail -n 10; sed 's/^/# err: /' "$err" | tail -n 5
            fi
            [ -z "$first_out" ] && first_out="$out"
        done
        # Differential: the reference MPI prints the same.
        if [ "$ref_built" != yes ]; then
            skip "$name -n $spec matches the reference (no reference MPI)"
            continue
        fi
        ref="$bin/$name.$tagname.ref.out"
        timeout -k 10 "$RUN_TIMEOUT" $REF_LAUNCHER "$np" "$bin/$name.ref" \
            </dev/null >"$ref" 2>"$ref.err"
        if [ "$expect" = FATAL ]; then
            ok "$name -n $np reference also fails"
        elif [ -n "$first_out" ] && diff -u "$ref" "$first_out" >"$ref.diff"; then
            ok "$name -n $spec matches the reference"
        else
            notok "$name -n $spec matches the reference"; sed 's/^/# /' "$ref.diff" | head -20
        fi
    done
done <"$list"
