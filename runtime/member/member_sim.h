/* SPDX-License-Identifier: MIT */
/* member_sim.h - a deterministic, in-process pool of member tables.
 *
 * N member tables (runtime/member/member.h) run over a simulated network with a
 * simulated clock: datagrams take a random latency in a range and are lost
 * with a given probability, streams arrive whole; nodes can be crashed,
 * made to leave, restarted and cut off into partitions. Everything is
 * driven by one seed, so a run is reproducible to the message. Used by the
 * unit tests and the membership benchmark. Not thread-safe. */
#ifndef SHOAL_RUNTIME_MEMBER_MEMBER_SIM_H
#define SHOAL_RUNTIME_MEMBER_MEMBER_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/member/member.h"
#include "util/seal.h"

typedef struct member_sim member_sim_t;

struct member_sim_config {
    size_t nodes;
    struct member_tunables tunables;
    uint32_t latency_min_ms;
    uint32_t latency_max_ms;
    double loss; /* of each datagram */
    uint64_t seed;
    size_t payload_len; /* bytes of each node's payload */
    /* When set, every message travels sealed under this key (copied), as
     * between daemons; member_sim_set_key() gives a node another. */
    const seal_key_t *key;
    /* Deliver each datagram a second time with this probability: a
     * network that duplicates, or an attacker replaying. */
    double duplicate;
};

struct member_sim_counts {
    uint64_t datagrams;
    uint64_t streams;
    uint64_t bytes;
    uint64_t lost; /* to loss, partitions and crashed nodes */
};

/* Called for every event any running node reports: observer is the node
 * that saw it. */
typedef void (*member_sim_event_f)(size_t observer,
                                   enum member_event_kind kind,
                                   const struct member_info *member,
                                   uint64_t now_ms,
                                   void *arg);

/* Create a pool of config->nodes nodes, none running yet; the clock
 * starts at 1000 ms. Returns 0 or -ENOMEM/-EINVAL. */
int member_sim_create(const struct member_sim_config *config,
                      member_sim_t **out);
void member_sim_destroy(member_sim_t *sim);

void member_sim_on_event(member_sim_t *sim, member_sim_event_f fn, void *arg);

/* Start node i (again) with the given incarnation and have it join
 * through node seed (none when seed == i). Returns 0 or a negative errno. */
int member_sim_start(member_sim_t *sim,
                     size_t i,
                     uint32_t incarnation,
                     size_t seed);

/* Give node i its own key from its next start on (sealed pools only). */
void member_sim_set_key(member_sim_t *sim, size_t i, const seal_key_t *key);

/* Counters of node i's seal (zero when not sealed or not running). */
void member_sim_get_seal_stats(member_sim_t *sim,
                               size_t i,
                               struct seal_stats *stats);

/* Crash node i: it stops at once, telling no one. */
void member_sim_kill(member_sim_t *sim, size_t i);

/* Node i leaves gracefully, and stops linger_ms later. */
void member_sim_leave(member_sim_t *sim, size_t i, uint64_t linger_ms);

/* Put node i in partition group g (all start in 0): messages between
 * different groups are lost. */
void member_sim_partition(member_sim_t *sim, size_t i, int g);

void member_sim_set_loss(member_sim_t *sim, double loss);

/* Stall node i for ms: it handles no message and runs no timer until
 * then, as a daemon starved of CPU would; what arrived meanwhile is
 * handled when it wakes, in order. */
void member_sim_stall(member_sim_t *sim, size_t i, uint64_t ms);

/* Advance the clock to until_ms, delivering messages and ticking tables. */
void member_sim_run(member_sim_t *sim, uint64_t until_ms);

/* Advance until done(sim, arg) holds (checked every 10 ms) or until
 * until_ms. Returns whether it holds. */
bool member_sim_run_until(member_sim_t *sim,
                          uint64_t until_ms,
                          bool (*done)(member_sim_t *sim, void *arg),
                          void *arg);

uint64_t member_sim_now(const member_sim_t *sim);
size_t member_sim_size(const member_sim_t *sim);
bool member_sim_running(const member_sim_t *sim, size_t i);
uint64_t member_sim_id(size_t i);
/* Node i's table, or NULL when it is not running. */
member_table_t *member_sim_table(member_sim_t *sim, size_t i);
void member_sim_get_counts(const member_sim_t *sim,
                           struct member_sim_counts *counts);

/* Whether node observer holds subject in state (a member it does not know
 * counts as dead). */
bool member_sim_sees(member_sim_t *sim,
                     size_t observer,
                     size_t subject,
                     enum member_state state);

/* Whether every running node sees exactly the running nodes alive. */
bool member_sim_converged(member_sim_t *sim, void *unused);

#endif
