/* SPDX-License-Identifier: MIT */
/* membership.c - SWIM membership in simulation: convergence and detection.
 *
 * Pools of 16, 64 and 256 member tables run over the simulated network of
 * the membership simulator (1-5 ms latency), with the default tunables. For each size we
 * measure, in simulated time:
 *
 * - convergence: nodes start 5 ms apart, each joining through node 0;
 *   the time from the first start until every node sees every other
 *   alive, and the datagrams, streams and bytes that took;
 * - detection: in a converged pool, a random node is killed; the time
 *   until the first node declares it dead, and until all do. Repeated,
 *   and reported as medians, at 0% and 5% datagram loss, with the number
 *   of live nodes wrongly declared dead (which must be 0).
 *
 * The reference is the bound the tunables promise: one probe interval to
 * reach the lost node, one to fail, then the suspicion timeout; the ratio
 * measured/bound is what to track. Real daemons on loopback come later.
 *
 * usage: bench-membership [-r REPS] [-n SIZE]...
 * Prints one JSON object per measurement, then a table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchmarks/bench.h"
#include "runtime/member/member.h"
#include "runtime/member/member_sim.h"

enum { BENCH_MAX_SIZES = 8, BENCH_MAX_REPS = 101 };

struct bench_detect {
    size_t victim;
    bool killed[4096]; /* victims so far: restarted, so news of their
                        * earlier death may still arrive late */
    uint64_t first_dead;
    uint64_t false_dead;
    member_sim_t *sim;
};

static void bench_event(size_t observer,
                        enum member_event_kind kind,
                        const struct member_info *member,
                        uint64_t now,
                        void *arg)
{
    struct bench_detect *d = arg;
    size_t subject = (size_t)member->id - 1;

    (void)observer;
    if (kind != MEMBER_EVENT_DEAD)
        return;
    if (subject == d->victim && !d->first_dead)
        d->first_dead = now;
    if (member_sim_running(d->sim, subject) && !d->killed[subject])
        d->false_dead++;
}

static bool bench_all_know(member_sim_t *sim, void *arg)
{
    size_t victim = *(size_t *)arg;

    for (size_t i = 0; i < member_sim_size(sim); i++)
        if (i != victim && member_sim_running(sim, i)
            && !member_sim_sees(sim, i, victim, MEMBER_DEAD))
            return false;
    return true;
}

static member_sim_t *bench_pool(size_t n, double loss, uint64_t seed)
{
    struct member_sim_config config = {
        .nodes = n,
        .latency_min_ms = 1,
        .latency_max_ms = 5,
        .loss = loss,
        .seed = seed,
        .payload_len = 96,
    };
    member_sim_t *sim = NULL;

    member_tunables_default(&config.tunables);
    if (member_sim_create(&config, &sim) < 0) {
        fprintf(stderr, "bench-membership: out of memory\n");
        exit(1);
    }
    return sim;
}

static void bench_start(member_sim_t *sim)
{
    member_sim_start(sim, 0, 0, 0);
    for (size_t i = 1; i < member_sim_size(sim); i++) {
        member_sim_run(sim, member_sim_now(sim) + 5);
        member_sim_start(sim, i, 0, 0);
    }
}

struct bench_row {
    size_t nodes;
    double converge_ms;
    double datagrams_per_node_s;
    double bytes_per_node_s;
    double steady_datagrams; /* per node and second, once converged */
    double steady_bytes;
    uint64_t streams;
    double first_dead_ms[2]; /* medians at 0% and 5% loss */
    double all_dead_ms[2];
    uint64_t false_dead[2];
    double bound_ms;
};

static void bench_convergence(struct bench_row *row)
{
    member_sim_t *sim = bench_pool(row->nodes, 0.0, 1000 + row->nodes);
    uint64_t start = member_sim_now(sim);
    struct member_sim_counts counts;
    bool ok;

    bench_start(sim);
    ok = member_sim_run_until(sim, start + 120000, member_sim_converged, NULL);
    row->converge_ms = ok ? (double)(member_sim_now(sim) - start) : -1;
    member_sim_get_counts(sim, &counts);
    double seconds = (double)(member_sim_now(sim) - start) / 1000;
    row->datagrams_per_node_s =
        (double)counts.datagrams / (double)row->nodes / seconds;
    row->bytes_per_node_s = (double)counts.bytes / (double)row->nodes / seconds;
    row->streams = counts.streams;
    printf("{\"bench\":\"membership\",\"measure\":\"convergence\","
           "\"nodes\":%zu,\"converged\":%s,\"time_ms\":%.0f,"
           "\"datagrams\":%llu,\"streams\":%llu,\"bytes\":%llu,"
           "\"datagrams_per_node_s\":%.1f,\"bytes_per_node_s\":%.0f}\n",
           row->nodes, ok ? "true" : "false", row->converge_ms,
           (unsigned long long)counts.datagrams,
           (unsigned long long)counts.streams, (unsigned long long)counts.bytes,
           row->datagrams_per_node_s, row->bytes_per_node_s);

    /* what a quiet pool costs, once the news of the joins has been
     * retransmitted enough: probes, acks, and the push-pulls (bytes) */
    member_sim_run(sim, member_sim_now(sim) + 10000);
    member_sim_get_counts(sim, &counts);
    struct member_sim_counts before = counts;
    uint64_t quiet = member_sim_now(sim);
    member_sim_run(sim, quiet + 20000);
    member_sim_get_counts(sim, &counts);
    row->steady_datagrams = (double)(counts.datagrams - before.datagrams)
                            / (double)row->nodes / 20.0;
    row->steady_bytes =
        (double)(counts.bytes - before.bytes) / (double)row->nodes / 20.0;
    printf("{\"bench\":\"membership\",\"measure\":\"steady\","
           "\"nodes\":%zu,\"datagrams_per_node_s\":%.1f,"
           "\"bytes_per_node_s\":%.0f}\n",
           row->nodes, row->steady_datagrams, row->steady_bytes);
    member_sim_destroy(sim);
}

static void
bench_detection(struct bench_row *row, int li, double loss, int reps)
{
    double first[BENCH_MAX_REPS], all[BENCH_MAX_REPS];
    int nfirst = 0, nall = 0;
    static struct bench_detect d;
    member_sim_t *sim = bench_pool(row->nodes, loss, 2000 + row->nodes);
    uint64_t rng = 12345 + row->nodes;

    memset(&d, 0, sizeof(d));
    d.sim = sim;
    member_sim_on_event(sim, bench_event, &d);
    bench_start(sim);
    member_sim_run_until(sim, member_sim_now(sim) + 120000,
                         member_sim_converged, NULL);
    for (int r = 0; r < reps; r++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t victim = 1 + (size_t)((rng >> 33) % (row->nodes - 1));
        uint64_t killed = member_sim_now(sim);
        d.victim = victim;
        d.killed[victim] = true;
        d.first_dead = 0;
        member_sim_kill(sim, victim);
        bool ok =
            member_sim_run_until(sim, killed + 30000, bench_all_know, &victim);
        if (d.first_dead)
            first[nfirst++] = (double)(d.first_dead - killed);
        if (ok)
            all[nall++] = (double)(member_sim_now(sim) - killed);
        /* bring it back, so that the pool keeps its size */
        member_sim_start(sim, victim, 0, 0);
        member_sim_run_until(sim, member_sim_now(sim) + 30000,
                             member_sim_converged, NULL);
        member_sim_run(sim, member_sim_now(sim) + 1000);
    }
    row->first_dead_ms[li] = bench_median(first, nfirst);
    row->all_dead_ms[li] = bench_median(all, nall);
    row->false_dead[li] = d.false_dead;
    printf("{\"bench\":\"membership\",\"measure\":\"detection\","
           "\"nodes\":%zu,\"loss\":%.2f,\"reps\":%d,"
           "\"first_dead_median_ms\":%.0f,\"all_dead_median_ms\":%.0f,"
           "\"bound_ms\":%.0f,\"ratio_to_bound\":%.2f,\"false_dead\":%llu}\n",
           row->nodes, loss, reps, row->first_dead_ms[li], row->all_dead_ms[li],
           row->bound_ms, row->first_dead_ms[li] / row->bound_ms,
           (unsigned long long)d.false_dead);
    member_sim_destroy(sim);
}

int main(int argc, char **argv)
{
    size_t sizes[BENCH_MAX_SIZES] = {16, 64, 256};
    int nsizes = 3, nsized = 0;
    int reps = 11;
    struct bench_row rows[BENCH_MAX_SIZES];
    struct member_tunables tun;
    int opt;

    while ((opt = getopt(argc, argv, "r:n:")) != -1) {
        if (opt == 'r') {
            reps = atoi(optarg);
        } else if (opt == 'n' && nsized < BENCH_MAX_SIZES) {
            sizes[nsized++] = (size_t)atoi(optarg);
            nsizes = nsized;
        } else {
            fprintf(stderr, "usage: bench-membership [-r REPS] [-n SIZE]...\n");
            return 2;
        }
    }
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        fprintf(stderr, "bench-membership: REPS must be 1 to %d\n",
                BENCH_MAX_REPS);
        return 2;
    }
    member_tunables_default(&tun);
    for (int i = 0; i < nsizes; i++) {
        if (sizes[i] < 3 || sizes[i] > 4096) {
            fprintf(stderr, "bench-membership: SIZE must be 3 to 4096\n");
            return 2;
        }
        struct bench_row *row = &rows[i];
        double n = (double)sizes[i];
        memset(row, 0, sizeof(*row));
        row->nodes = sizes[i];
        row->bound_ms = 2.0 * tun.probe_interval_ms
                        + tun.suspicion_timeout_ms * (n > 10 ? log10(n) : 1);
        bench_convergence(row);
        bench_detection(row, 0, 0.0, reps);
        bench_detection(row, 1, 0.05, reps);
    }
    printf("\nmembership (simulated, 1-5 ms latency, default tunables, "
           "medians of %d kills)\n",
           reps);
    printf("%6s %10s %14s %12s %12s %10s %6s\n", "nodes", "converge",
           "quiet dgram/s", "detect 0%", "detect 5%", "bound", "false");
    for (int i = 0; i < nsizes; i++) {
        const struct bench_row *r = &rows[i];
        printf("%6zu %8.0fms %6.1f (%4.0fB) %7.0f/%-4.0f %7.0f/%-4.0f "
               "%8.0fms %6llu\n",
               r->nodes, r->converge_ms, r->steady_datagrams,
               r->steady_datagrams > 0 ? r->steady_bytes / r->steady_datagrams
                                       : 0,
               r->first_dead_ms[0], r->all_dead_ms[0], r->first_dead_ms[1],
               r->all_dead_ms[1], r->bound_ms,
               (unsigned long long)(r->false_dead[0] + r->false_dead[1]));
    }
    printf("quiet: datagrams each node sends per second once converged "
           "(mean size)\n"
           "detect: ms until the first node / all nodes declared it dead\n");
    return 0;
}
