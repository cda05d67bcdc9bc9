# SPDX-License-Identifier: MIT
# shim-lib.sh - what the runs of tests/mpi-shim/testlist share: the data
# paths of its third column, building a program with shoal's mpicc and
# with the reference mpicc, and judging a run (its status, its last line,
# no "FAIL" line, the same output as the reference). Sourced by
# tests/mpi-shim/mpi-shim.t (one machine) and
# tests/integration/t0063-mpi-shim-netns.t (simulated hosts).
#
# Before sourcing, set $src and $build (source and build trees) and
# $bin (a directory of the caller's own for programs and outputs).
# Functions print their diagnostics on standard output, each line
# prefixed with "# ", and return 0 or 1; none exits.
#
#   provider_name PATH       SHOAL_OFI_PROVIDER for a data path
#   fatal_provider PATH      the provider a FATAL program's message names
#   shm_switch PATH          SHOAL_MPI_SHM for a data path
#   shim_testlist            the testlist's program lines, comments dropped
#   shim_build NAME          build NAME.shim (and NAME.ref when the
#                            reference MPI is here) in $bin; sets
#                            $shim_built and $shim_ref_built to yes or no
#   shim_verdict EXPECT PATH RC OUT ERR
#                            whether a run ended as the testlist expects
#   shim_ref_run NAME NP [TAG]
#                            run NAME.ref on NP ranks (on this machine);
#                            its output is $bin/NAME.TAG.ref.out (TAG: NP)
#   shim_ref_cmp NAME TAG OUT
#                            whether OUT equals the reference's output
#   cleanup_shm              remove the libfabric shm regions of dead
#                            processes
#
# $SHIM_TESTS="attr info" keeps only the named programs (shim_selected).

mpicc="$build/mpi-shim/mpicc-uninst"
shim_list="$src/tests/mpi-shim/testlist"
REF_MPICC=${REF_MPICC:-mpicc.openmpi}
REF_LAUNCHER=${REF_LAUNCHER:-"mpirun.openmpi --oversubscribe -n"}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
SHIM_TESTS=${SHIM_TESTS:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_base_warn_component_unused=0
shim_have_ref=yes
command -v "$REF_MPICC" >/dev/null 2>&1 || shim_have_ref=no
command -v ${REF_LAUNCHER%% *} >/dev/null 2>&1 || shim_have_ref=no

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

shim_selected() {
    [ -z "$SHIM_TESTS" ] && return 0
    case " $SHIM_TESTS " in *" $1 "*) return 0 ;; esac
    return 1
}

shim_testlist() {
    grep -v -e '^#' -e '^[[:space:]]*$' "$shim_list"
}

shim_build() {
    local name srcfile
    name=$1
    srcfile="$src/tests/mpi-shim/$name.c"
    shim_built=yes
    shim_ref_built=no
    if ! "$mpicc" -O1 -o "$bin/$name.shim" "$srcfile" \
        >"$bin/$name.build.log" 2>&1; then
        shim_built=no
        sed 's/^/# /' "$bin/$name.build.log"
    fi
    if [ "$shim_have_ref" = yes ] && "$REF_MPICC" -O1 -o "$bin/$name.ref" \
        "$srcfile" >"$bin/$name.refbuild.log" 2>&1; then
        shim_ref_built=yes
    fi
    [ "$shim_built" = yes ]
}

# shim_verdict EXPECT PATH RC OUT ERR: a FATAL program must abort the job
# with one line naming rank, call, provider and cause (the default error
# handler); any other must end with status 0, EXPECT as its last line and
# no line starting with FAIL.
shim_verdict() {
    local expect prov rc out err
    expect=$1 prov=$2 rc=$3 out=$4 err=$5
    if [ "$expect" = FATAL ]; then
        [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q \
            "^shoal mpi: rank 1: MPI_Send: invalid rank (MPI_ERR_RANK) (provider '$(fatal_provider "$prov")')" "$err" &&
            return 0
        echo "# rc $rc"
        sed 's/^/# /' "$err" | head -5
        return 1
    fi
    [ "$rc" -eq 0 ] && [ "$(tail -n 1 "$out")" = "$expect" ] &&
        ! grep -q '^FAIL' "$out" && return 0
    echo "# rc $rc"
    sed 's/^/# /' "$out" | tail -n 10
    sed 's/^/# err: /' "$err" | tail -n 5
    return 1
}

shim_ref_run() {
    local ref
    ref="$bin/$1.${3:-$2}.ref.out"
    timeout -k 10 "$RUN_TIMEOUT" $REF_LAUNCHER "$2" "$bin/$1.ref" \
        </dev/null >"$ref" 2>"$ref.err"
}

shim_ref_cmp() {
    local ref
    ref="$bin/$1.$2.ref.out"
    diff -u "$ref" "$3" >"$3.refdiff" && return 0
    sed 's/^/# /' "$3.refdiff" | head -20
    return 1
}

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
