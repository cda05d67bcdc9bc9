#!/bin/sh
# SPDX-License-Identifier: MIT
# What `make install` puts in a prefix works on its own: a program builds
# against libshoal and against shoal's MPI with only pkg-config's flags,
# mpicc and mpicxx build C and C++ MPI programs that run, the man pages
# are there for every command, and bash completion is where
# bash-completion looks for it.
. "$SHOAL_SRCDIR/tests/integration/lib.sh"


# Install the build tree into a staging directory: the files keep the
# configured prefix in their contents and sit under DESTDIR.
stage="$TRASH/stage"
prefix=$(sed -n 's/^prefix=//p' "$SHOAL_BUILDDIR/shoal.pc")
root="$stage$prefix"

test_expect_success 'make install into a staging directory' '
    ${MAKE:-make} -C "$SHOAL_BUILDDIR" install DESTDIR="$stage" \
        >install.log 2>&1 || { tail -30 install.log; false; }
'

# pkg-config with the staged prefix instead of the configured one. A
# sanitized build's libraries need the sanitizers' runtime linked first
# ($SHOAL_WRAPPER_FLAGS, empty otherwise), as its mpicc adds it.
pc() {
    PKG_CONFIG_PATH="$root/lib/pkgconfig" \
        pkg-config --define-variable=prefix="$root" "$@"
}

test_expect_success 'headers are under include/shoal, nothing under include/include' '
    test -f "$root/include/shoal/shoal.h" &&
    test -f "$root/include/shoal/ckpt.h" &&
    test -f "$root/include/mpi.h" &&
    test ! -e "$root/include/include"
'

test_expect_success 'a program builds against libshoal with only pkg-config flags' '
    cat >v.c <<-\EOF &&
	#include <shoal/shoal.h>
	#include <stdio.h>
	int main(void) { printf("%s\n", shoal_version()); return 0; }
	EOF
    cc v.c $SHOAL_WRAPPER_FLAGS $(pc --cflags --libs shoal) -o v &&
    LD_LIBRARY_PATH="$root/lib" ./v >out &&
    "$SHOAL" version | sed "s/^shoal //" >expect &&
    test_cmp expect out
'

test_expect_success 'an MPI program builds with pkg-config shoal-mpi and runs' '
    pc --modversion shoal-mpi >ver && test -s ver &&
    cat >hello.c <<-\EOF &&
	#include <mpi.h>
	#include <stdio.h>
	int main(int argc, char **argv)
	{
	    int rank, size;
	    MPI_Init(&argc, &argv);
	    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	    MPI_Comm_size(MPI_COMM_WORLD, &size);
	    printf("rank %d of %d\n", rank, size);
	    MPI_Finalize();
	    return 0;
	}
	EOF
    cc hello.c $SHOAL_WRAPPER_FLAGS $(pc --cflags --libs shoal-mpi) -o hello &&
    LD_LIBRARY_PATH="$root/lib" SHOAL_POOL=no \
        "$SHOAL" run -n 2 -x LD_LIBRARY_PATH ./hello | sort >out &&
    printf "rank 0 of 2\nrank 1 of 2\n" >expect && test_cmp expect out
'

test_expect_success 'mpicxx and mpic++ build a C++ MPI program' '
    cat >hello.cc <<-\EOF &&
	#include <mpi.h>
	#include <iostream>
	#include <vector>
	int main(int argc, char **argv)
	{
	    MPI_Init(&argc, &argv);
	    int rank = 0, size = 0;
	    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	    MPI_Comm_size(MPI_COMM_WORLD, &size);
	    std::vector<int> all(size);
	    MPI_Allgather(&rank, 1, MPI_INT, all.data(), 1, MPI_INT,
	                  MPI_COMM_WORLD);
	    int sum = 0;
	    for (int r : all)
	        sum += r;
	    std::cout << "rank " << rank << " sum " << sum << std::endl;
	    MPI_Finalize();
	    return 0;
	}
	EOF
    test -x "$root/bin/mpicxx" && test -x "$root/bin/mpic++" &&
    "$SHOAL_BUILDDIR/mpi-shim/mpicxx-uninst" hello.cc -o hellocc &&
    SHOAL_POOL=no "$SHOAL" run -n 2 ./hellocc | sort >out &&
    printf "rank 0 sum 1\nrank 1 sum 1\n" >expect && test_cmp expect out &&
    "$root/bin/mpic++" -showme | grep -E "^(c\+\+|g\+\+|.*\+\+) " &&
    "$root/bin/mpicxx" --showme:version | grep "^mpicxx: shoal "
'

test_expect_success 'the wrappers take -showme:X with one dash as with two' '
    w="$SHOAL_BUILDDIR/mpi-shim/mpicc-uninst" &&
    for q in compile link command version; do
        "$w" --showme:$q >two && "$w" -showme:$q >one &&
        test_cmp two one && test -s one || return 1
    done &&
    "$w" -showme:compile | grep -- "-I"
'

# man pages are made when configure found scdoc (CI installs it)
if test -z "$(sed -n 's/^SCDOC = //p' "$SHOAL_BUILDDIR/Makefile")"; then
    test_skip 'man pages' 'scdoc was not found by configure'
else
test_expect_success 'a man page for shoal, each command, mpirun and mpicc' '
    for p in shoal shoal-run mpirun mpiexec shoald shoal-daemon \
        shoal-submit shoal-jobs shoal-job shoal-wait shoal-results \
        shoal-output shoal-cancel shoal-status shoal-info shoal-keygen \
        shoal-ckpt shoal-bench mpicc mpicxx mpic++; do
        test -s "$root/share/man/man1/$p.1" || {
            echo "no page $p.1" >&2; return 1; }
    done &&
    MANWIDTH=100 man -l "$root/share/man/man1/shoal-run.1" >run.txt 2>&1 &&
    grep "mpirun, mpiexec - launch a program on N ranks" run.txt
'

test_expect_success 'each command page lists every option its --help does' '
    for c in run daemon submit jobs wait results output cancel status \
        info keygen ckpt bench; do
        MANWIDTH=200 man -l "$root/share/man/man1/shoal-$c.1" \
            >page.txt 2>/dev/null &&
        "$SHOAL" $c --help |
            grep -oE "^  +--?[A-Za-z][A-Za-z0-9-]*" | sed "s/^ *//" |
            sort -u >opts &&
        test -s opts &&
        while read -r o; do
            grep -q -e " $o" page.txt || {
                echo "shoal-$c.1 lacks $o" >&2; return 1; }
        done <opts || return 1
    done
'
fi

test_expect_success 'bash completion is installed under each command name' '
    d="$root/share/bash-completion/completions" &&
    test -f "$d/shoal" &&
    for c in shoald mpirun mpiexec; do
        test "$(readlink "$d/$c")" = shoal || return 1
    done &&
    bash -c ". \"$d/shoal\" && complete -p mpirun" | grep _shoal
'

test_done
