/* SPDX-License-Identifier: MIT */
/* slurmlist.h - Slurm's compressed host lists and per-node counts, as
 * SLURM_JOB_NODELIST and SLURM_TASKS_PER_NODE give them.
 *
 * Host lists: names separated by commas, where a bracket holds numbers
 * and ranges ("n[1-3,5],m7" is n1 n2 n3 n5 m7). A range keeps the width of
 * its lower bound ("n[08-10]" is n08 n09 n10), and several brackets in one
 * name expand as a product ("r[1-2]n[1-2]" is r1n1 r1n2 r2n1 r2n2), in
 * the order Slurm lists them. Counts: numbers separated by commas, where
 * "N(xR)" stands for R nodes of N ("2(x3),1" is 2 2 2 1).
 *
 * Pure: no I/O, no global state; safe from any thread. */
#ifndef SHOAL_UTIL_SLURMLIST_H
#define SHOAL_UTIL_SLURMLIST_H

#include <shoal/error.h>

enum slurmlist_limit {
    /* more names than any Slurm cluster has: a list past it is refused
     * rather than expanded into memory */
    SLURMLIST_MAX_HOSTS = 1 << 20,
};

/* Expand list into *names, a NULL-terminated array of *count strings
 * (caller frees with slurmlist_free()). Returns 0, or SHOAL_EUSAGE with
 * error naming the list and what is wrong in it (empty name, unbalanced
 * bracket, a range that is not NUMBER or NUMBER-NUMBER with the first not
 * above the second, too many names), or -ENOMEM; *names is then
 * untouched. */
int slurmlist_hosts(const char *list,
                    char ***names,
                    int *count,
                    shoal_error_t *error);

/* Free what slurmlist_hosts() made; NULL is accepted. */
void slurmlist_free(char **names);

/* Expand spec into counts[0 .. n): it must give exactly n counts, each at
 * least 1. Returns 0, or SHOAL_EUSAGE with error naming spec and what is
 * wrong (counts may then be partly written). */
int slurmlist_counts(const char *spec,
                     int n,
                     int *counts,
                     shoal_error_t *error);

#endif
