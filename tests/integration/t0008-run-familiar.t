#!/bin/sh
# SPDX-License-Identifier: MIT
# shoal run as Open MPI users know mpirun: --version, --mca, OMPI_MCA_*,
# a program in the current directory, and the errors they expect.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"

test_expect_success 'mpirun --version, mpiexec -V and shoal run --version' '
    version=$("$SHOAL" version | sed "s/^shoal //") &&
    "$SHOAL_BUILDDIR/cmd/mpirun" --version >out &&
    printf "%s\n%s\n" "mpirun (shoal) $version" \
        "MPI libraries launched: shoal'"'"'s MPI via PMI-1, MPICH via PMI-1, Open MPI via PMIx" >expect &&
    test_cmp expect out &&
    "$SHOAL" run --version >out && test_cmp expect out &&
    "$SHOAL_BUILDDIR/cmd/mpiexec" -V >out &&
    sed "1s/^mpirun/mpiexec/" expect >expect.mpiexec &&
    test_cmp expect.mpiexec out
'

test_expect_success '--version wins over a program and other options' '
    "$SHOAL_BUILDDIR/cmd/mpirun" -np 2 -version ./no-such-program >out &&
    head -1 out | grep "^mpirun (shoal) "
'

# shoal itself sets OMPI_MCA_schizo (the wire-up) and, where no PSM device
# is present, OMPI_MCA_mtl (leaving out the PSM components): not the user's.
test_expect_success '--mca KEY VALUE: a note, and OMPI_MCA_KEY=VALUE in the ranks' '
    "$SHOAL" run -n 1 --mca btl self,tcp -mca pml ob1 --gmca x y \
        sh -c "env | grep ^OMPI_MCA_ | grep -v ^OMPI_MCA_schizo= |
            grep -v ^OMPI_MCA_mtl= | sort" >out 2>err &&
    printf "OMPI_MCA_btl=self,tcp\nOMPI_MCA_pml=ob1\nOMPI_MCA_x=y\n" >expect &&
    test_cmp expect out &&
    echo "shoal: note: MCA parameters are ignored by shoal; the ranks get them as OMPI_MCA_* for Open MPI to read (--mca btl, --mca pml, --mca x)" >expect &&
    test_cmp expect err
'

test_expect_success 'OMPI_MCA_* of the environment: a note, and they reach the ranks' '
    OMPI_MCA_btl_tcp_if_include=lo "$SHOAL" run -n 2 \
        sh -c "echo \$OMPI_MCA_btl_tcp_if_include" >out 2>err &&
    printf "lo\nlo\n" >expect && test_cmp expect out &&
    echo "shoal: note: MCA parameters are ignored by shoal; the ranks get them as OMPI_MCA_* for Open MPI to read (OMPI_MCA_btl_tcp_if_include)" >expect &&
    test_cmp expect err
'

test_expect_success 'without MCA parameters, no note' '
    "$SHOAL" run -n 1 true 2>err && test ! -s err
'

test_expect_success '--mca needs a KEY and a VALUE' '
    test_expect_code 2 "$SHOAL" run --mca btl 2>err &&
    grep -F "option '"'"'--mca'"'"' needs a KEY and a VALUE" err &&
    test_expect_code 2 "$SHOAL" run --mca=btl tcp true 2>err &&
    grep -F "option '"'"'--mca=btl'"'"' needs a KEY and a VALUE" err
'

test_expect_success 'a program in the current directory is found without ./' '
    mkdir -p here && cp /bin/echo here/myecho &&
    (cd here && "$SHOAL" run -n 1 myecho found) >out &&
    echo found >expect && test_cmp expect out &&
    "$SHOAL" run -n 1 --wdir "$TRASH/here" myecho in-wdir >out &&
    echo in-wdir >expect && test_cmp expect out
'

test_expect_success 'PATH comes before the current directory' '
    mkdir -p shadow && printf "#!/bin/sh\necho shadowed\n" >shadow/true &&
    chmod +x shadow/true &&
    (cd shadow && "$SHOAL" run -n 1 true) >out &&
    test ! -s out
'

test_expect_success 'a directory as the program: Is a directory, 126' '
    mkdir -p adir &&
    test_expect_code 126 "$SHOAL" run -n 1 ./adir 2>err &&
    echo "shoal: cannot execute '"'"'./adir'"'"': Is a directory" >expect &&
    test_cmp expect err
'

test_expect_success 'a --wdir that is a file: Not a directory' '
    : >afile &&
    test_expect_code 1 "$SHOAL" run -n 1 --wdir afile true 2>err &&
    echo "shoal: cannot change to directory '"'"'afile'"'"': Not a directory" >expect &&
    test_cmp expect err
'

test_expect_success 'bytes not printable in a hostfile are escaped in its errors' '
    printf "local\033[31mhost slots=2\n" >hf &&
    test_expect_code 2 "$SHOAL" run --hostfile hf true 2>err &&
    grep -F "hf:1: invalid host name '"'"'local\\x1b[31mhost'"'"'" err &&
    printf "localhost sl\001ots=2\n" >hf &&
    test_expect_code 2 "$SHOAL" run --hostfile hf true 2>err &&
    grep -F "hf:1: unknown key '"'"'sl\\x01ots'"'"'" err &&
    printf "localhost slots=\377\n" >hf &&
    test_expect_code 2 "$SHOAL" run --hostfile hf true 2>err &&
    grep -F "key '"'"'slots'"'"': '"'"'\\xff'"'"' is not a positive integer" err &&
    ! grep -q "$(printf "[\001\033\377]")" err
'

# the map with the job id's family made one
display_map() {
    "$SHOAL" run --display-map "$@" true | sed "s/\[[0-9]*,1\]/[J,1]/g"
}

test_expect_success '--display-map on a synthetic machine, as Open MPI 4 draws it' '
    SHOAL_TOPOLOGY="package:2 core:2 pu:2" display_map --npersocket 1 >out &&
    host=$(hostname) &&
    {
        printf " Data for JOB [J,1] offset 0 Total slots allocated 4\n\n"
        printf " ========================   JOB MAP   ========================\n\n"
        printf " Data for node: %s\tNum slots: 4\tMax slots: 0\tNum procs: 2\n" "$host"
        printf " \tProcess OMPI jobid: [J,1] App: 0 Process rank: 0 Bound: socket 0[core 0[hwt 0-1]]:[BB/..][../..]\n"
        printf " \tProcess OMPI jobid: [J,1] App: 0 Process rank: 1 Bound: socket 1[core 0[hwt 0-1]]:[../..][BB/..]\n"
        printf "\n =============================================================\n"
    } >expect &&
    test_cmp expect out
'

test_expect_success '--display-map: bound to every PU is UNBOUND, not bound is N/A' '
    SHOAL_TOPOLOGY="package:2 core:2 pu:2" display_map -n 1 --bind-to package >out &&
    grep -F "Process rank: 0 Bound: socket 0[core 0[hwt 0-1]], socket 0[core 1[hwt 0-1]]:[BB/BB][../..]" out &&
    SHOAL_TOPOLOGY="core:2 pu:1" display_map -n 1 --map-by core:PE=2 >out &&
    grep -F "Process rank: 0 Bound: UNBOUND" out &&
    display_map -n 1 --bind-to none >out &&
    grep -F "Process rank: 0 Bound: N/A" out
'

if [ -n "$MPIRUN_OPENMPI" ] && command -v "$MPIRUN_OPENMPI" >/dev/null; then
    for opts in "-n 1" "-n 2 --oversubscribe" "--npernode 1" "--map-by ppr:1:socket" \
        "-n 1 --bind-to none" "-n 3 --oversubscribe"; do
        test_expect_success "--display-map $opts prints what mpirun.openmpi prints" "
            display_map $opts >out &&
            timeout -k 5 60 \"\$MPIRUN_OPENMPI\" --display-map $opts true </dev/null |
                sed 's/\[[0-9]*,1\]/[J,1]/g' >expect &&
            test_cmp expect out
        "
    done
else
    test_skip '--display-map against mpirun.openmpi' 'Open MPI is not installed'
fi

test_expect_success '--map-by ppr:N:RESOURCE and its aliases place N per object' '
    export SHOAL_TOPOLOGY="package:2 core:4 pu:1" &&
    "$SHOAL" run --map-by ppr:2:package --report-bindings true 2>out &&
    printf "rank %d bound to PUs %s\n" 0 0 1 1 2 4 3 5 >expect &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    "$SHOAL" run --npersocket 1 --report-bindings true 2>out &&
    printf "rank %d bound to PUs %s\n" 0 0 1 4 >expect &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    "$SHOAL" run -N 3 sh -c "echo \$SHOAL_SIZE" >out &&
    printf "3\n3\n3\n" >expect && test_cmp expect out
'

test_expect_success 'ppr refuses more ranks than it places, and more than the slots' '
    export SHOAL_TOPOLOGY="package:2 core:2 pu:1" &&
    test_expect_code 2 "$SHOAL" run --map-by ppr:1:package -n 3 true 2>err &&
    grep -F "shoal: --map-by ppr:1:package places at most 2 ranks on 1 node, 3 requested" err &&
    test_expect_code 1 "$SHOAL" run --map-by ppr:5:node true 2>err &&
    grep -F "not enough slots: --map-by ppr:5:node puts 5 ranks on" err &&
    "$SHOAL" run --map-by ppr:5:node --oversubscribe sh -c "echo \$SHOAL_SIZE" >out &&
    test "$(sort -u out)" = 5
'

test_expect_success '--cpus-per-rank and --cpus-per-proc are :PE=n' '
    export SHOAL_TOPOLOGY="package:1 core:4 pu:1" &&
    "$SHOAL" run -n 2 --cpus-per-rank 2 --report-bindings true 2>out &&
    printf "rank %d bound to PUs %s\n" 0 0-1 1 2-3 >expect &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    "$SHOAL" run -n 2 --cpus-per-proc 2 --map-by core:PE=2 --report-bindings \
        true 2>out &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    test_expect_code 2 "$SHOAL" run -n 1 --cpus-per-rank 2 --map-by core:PE=3 \
        true 2>err &&
    grep -F "shoal: --cpus-per-rank 2 and --map-by ...:PE=3 disagree" err
'

test_expect_success '--map-by modifiers :OVERSUBSCRIBE and :NOOVERSUBSCRIBE' '
    export SHOAL_TOPOLOGY="package:1 core:2 pu:1" &&
    "$SHOAL" run -n 3 --map-by core:OVERSUBSCRIBE sh -c "echo \$SHOAL_SIZE" >out &&
    test "$(sort -u out)" = 3 &&
    test_expect_code 1 "$SHOAL" run -n 3 --oversubscribe \
        --map-by slot:NOOVERSUBSCRIBE true 2>err &&
    grep -F "not enough slots: 3 ranks requested but only 2 slots" err &&
    test_expect_code 2 "$SHOAL" run -n 1 --map-by core:NOLOCAL true 2>err &&
    grep -F "shoal: --map-by modifier '"'"'NOLOCAL'"'"' is not supported" err
'

test_expect_success '--bind-to l3cache, and :overload-allowed for more ranks than cpus' '
    export SHOAL_TOPOLOGY="package:1 l3cache:2 core:2 pu:1" &&
    "$SHOAL" run -n 4 --bind-to l3cache --report-bindings true 2>out &&
    printf "rank %d bound to PUs %s\n" 0 0-1 1 0-1 2 2-3 3 2-3 >expect &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    test_expect_code 2 "$SHOAL" run -n 6 --oversubscribe --bind-to core \
        true 2>err &&
    grep -F "shoal: --bind-to core would bind more ranks than cpus" err &&
    grep -F "add :overload-allowed (--bind-to core:overload-allowed)" err &&
    "$SHOAL" run -n 6 --oversubscribe --bind-to core:overload-allowed \
        --report-bindings true 2>out &&
    test "$(grep -c "bound to PUs" out)" = 6
'

test_expect_success '--map-by :PE-LIST= maps on those CPUs only' '
    export SHOAL_TOPOLOGY="package:1 core:4 pu:1" &&
    "$SHOAL" run -n 2 --map-by core:PE-LIST=1,3 --report-bindings true 2>out &&
    printf "rank %d bound to PUs %s\n" 0 1 1 3 >expect &&
    sed "s/^\[[^]]*\] //; s/ (cpuset .*//" out >got && test_cmp expect got &&
    test_expect_code 1 "$SHOAL" run -n 3 --map-by core:PE-LIST=1,3 true 2>err &&
    grep -F "not enough slots: 3 ranks requested but only 2 slots" err &&
    test_expect_code 2 "$SHOAL" run -n 1 --map-by core:PE-LIST=7-9 true 2>err &&
    grep -F "shoal: --map-by PE-LIST=7-9 holds no whole core of" err &&
    test_expect_code 2 "$SHOAL" run -n 1 --map-by core:PE-LIST=x true 2>err &&
    grep -F "invalid PE-LIST in --map-by" err
'

test_expect_success 'max_slots in a hostfile: a cap when oversubscribing, an error below slots' '
    export SHOAL_TOPOLOGY="package:1 core:2 pu:1" &&
    printf "localhost slots=2 max_slots=3\n" >hf &&
    "$SHOAL" run --hostfile hf -n 3 --oversubscribe sh -c "echo \$SHOAL_SIZE" >out &&
    test "$(sort -u out)" = 3 &&
    test_expect_code 1 "$SHOAL" run --hostfile hf -n 4 --oversubscribe true 2>err &&
    grep -F "not enough slots: 4 ranks requested but max_slots allows only 3, even oversubscribing" err &&
    "$SHOAL" run --hostfile hf -n 2 --display-map true >out &&
    grep -F "Num slots: 2	Max slots: 3	Num procs: 2" out &&
    printf "# lab\nlocalhost slots=4 max_slots=2\n" >hf &&
    test_expect_code 2 "$SHOAL" run --hostfile hf true 2>err &&
    grep -F "shoal: hf:2: slots=4 is more than max_slots=2" err
'

test_done
