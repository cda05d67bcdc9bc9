/* SPDX-License-Identifier: MIT */
/* job_wire.h - the frames of one gang job spread over several nodes, and
 * their binary encoding.
 *
 * The coordinator (`shoal run`) and one proxy per node (`shoal proxy`)
 * speak these frames; whatever carries them between the two (a socketpair,
 * the daemons' sealed streams, the control socket) only relays them. The
 * kind numbers are the job range of the daemons' seal types (32-63), so a
 * relay may use the first byte of a frame as its type.
 *
 *   coordinator -> proxy: LAUNCH (first, once), STDIN, BARRIER_OUT,
 *                         SIGNAL, KILL, OUTPUT (empty: the reader of that
 *                         rank's stream is gone, close its pipe),
 *                         CKPT_KEEP (the job's durable checkpoint version),
 *                         CKPT_REQUEST (--checkpoint=auto: every local rank
 *                         is asked for a checkpoint now), NAMES (the
 *                         answer to one of the proxy's), DMODEX (a REQUEST
 *                         for the data of a rank this node runs, or the
 *                         REPLY to one of the proxy's)
 *   proxy -> coordinator: STARTED or SPAWN_FAILED (once, after LAUNCH),
 *                         OUTPUT (empty: that stream reached its end),
 *                         BARRIER_IN, RANK_EXIT, ABORT, CKPT_COPIES (a
 *                         rank's version now copied to other nodes),
 *                         NAMES (a rank publishes, looks up or unpublishes
 *                         names: the job's table is the coordinator's),
 *                         SIGNAL (a rank asks that the job's ranks, or
 *                         some, get a signal: PMIx_Job_control),
 *                         DMODEX (a REQUEST: a local rank asks for the
 *                         data another rank committed, PMIx's direct
 *                         modex; or the REPLY to one the coordinator
 *                         relayed here), DONE (last)
 *   node's daemon -> coordinator: HOLD (the owner of that node came back:
 *                         stop the whole job; or left again: go on),
 *                         relayed as if the proxy had sent it
 *
 * Encoding is big-endian: u8 kind, then the kind's fields. A string is u32
 * length + bytes (no NUL inside); an optional string is u8 present + string;
 * a list is u32 count + items; times are u64 milliseconds. The decoder
 * trusts nothing: every length is checked against what is left before
 * anything is allocated, counts and sizes are bounded, trailing bytes are
 * an error, and garbage gives SHOAL_EPROTO, never a crash. Pure and
 * thread-safe. LAUNCH may end with an optional trailer (the versions its
 * ranks restore): it is written only when there is one, and a LAUNCH
 * without it decodes as before; after it (an empty restore list when the
 * job restores nothing) may come a second one, the job's mapping and
 * binding policies for PMIx (two strings of at most 63 capitals, digits
 * and ":=-_,"), which a LAUNCH without it lacks, and after them, optional
 * again, the ranking policy (PMIX_RANKBY, a third such string). So may STARTED
 * (the cpus each local rank was bound to, as the node's kernel numbers them,
 * for
 * --report-bindings): a STARTED without it is a node that says nothing of its
 * bindings. And SIGNAL (the ranks it is for): without it, every rank. And
 * RANK_EXIT (the counters file the rank left): without it, none.
 *
 * On a byte stream each frame is sent as u32 big-endian length + frame
 * (util/frame_reader.h splits them out again). */
#ifndef SHOAL_RUNTIME_JOB_JOB_WIRE_H
#define SHOAL_RUNTIME_JOB_JOB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

enum job_frame_kind {
    JOB_FRAME_LAUNCH = 32,
    JOB_FRAME_STARTED = 33,
    JOB_FRAME_SPAWN_FAILED = 34,
    JOB_FRAME_OUTPUT = 35,
    JOB_FRAME_STDIN = 36,
    JOB_FRAME_BARRIER_IN = 37,
    JOB_FRAME_BARRIER_OUT = 38,
    JOB_FRAME_RANK_EXIT = 39,
    JOB_FRAME_ABORT = 40,
    JOB_FRAME_SIGNAL = 41,
    JOB_FRAME_KILL = 42,
    JOB_FRAME_DONE = 43,
    JOB_FRAME_CKPT_COPIES = 44,
    JOB_FRAME_CKPT_KEEP = 45,
    JOB_FRAME_HOLD = 46,
    JOB_FRAME_CKPT_REQUEST = 47,
    JOB_FRAME_NAMES = 48,
    JOB_FRAME_DMODEX = 49,
};

/* What a DMODEX frame is: a REQUEST for a rank's data (asking proxy ->
 * coordinator -> the proxy running the rank) or the REPLY to one (back
 * the same way). */
enum job_dmodex_op {
    JOB_DMODEX_REQUEST = 1,
    JOB_DMODEX_REPLY = 2,
};

/* What a NAMES frame asks (proxy -> coordinator) or answers (REPLY,
 * coordinator -> proxy); the numbers of pubsub.h's operations. */
enum job_names_op {
    JOB_NAMES_PUBLISH = 1,
    JOB_NAMES_LOOKUP = 2,
    JOB_NAMES_UNPUBLISH = 3,
    JOB_NAMES_REPLY = 4,
};

enum job_wire_limit {
    /* one encoded frame, as the control socket bounds its frames */
    JOB_WIRE_FRAME_MAX = 16 * 1024 * 1024,
    /* one string (argument, variable, key, value, message) */
    JOB_WIRE_STRING_MAX = 1024 * 1024,
    /* items of a list: ranks of a node, PUs of a rank, arguments, keys */
    JOB_WIRE_LIST_MAX = 1024 * 1024,
    /* an OUTPUT or STDIN payload */
    JOB_WIRE_DATA_MAX = 1024 * 1024,
    /* nodes holding one version of a rank's checkpoint */
    JOB_WIRE_HOLDERS_MAX = 256,
    /* a rank's counters file, carried by its RANK_EXIT */
    JOB_WIRE_COUNTERS_MAX = 64 * 1024,
};

enum job_output_stream {
    JOB_OUTPUT_STDOUT = 1,
    JOB_OUTPUT_STDERR = 2,
};

/* One rank a node runs. */
struct job_launch_rank {
    uint32_t rank;       /* global rank */
    uint32_t local_rank; /* 0..nranks-1 on this node */
    uint32_t npus;       /* 0: not bound */
    uint32_t *pus;       /* logical PU indexes in the node's topology */
};

/* A rank that starts from a checkpoint version its node may not hold: the
 * nodes (ids, as node-id files hold them) that keep a copy. */
struct job_launch_restore {
    uint32_t rank;
    uint32_t version;
    uint32_t nnodes;
    uint64_t *nodes;
};

struct job_launch {
    uint64_t job_id;
    uint32_t node_index;
    uint32_t job_size; /* ranks in the whole job (PMI_SIZE) */
    uint32_t universe_size;
    uint32_t nranks; /* ranks on this node */
    struct job_launch_rank *ranks;
    char *path;  /* resolved program */
    char **argv; /* NULL-terminated, argc entries */
    uint32_t argc;
    char **env; /* NULL-terminated "VAR=value" or "VAR" (-x), nenv entries */
    uint32_t nenv;
    char *wdir;            /* or NULL */
    char *process_mapping; /* PMI_process_mapping, or NULL */
    double timeout;        /* seconds, 0 none; the coordinator enforces it */
    double kill_grace;     /* seconds between SIGTERM and SIGKILL */
    bool enable_recovery;
    uint32_t nrestores; /* optional trailer; 0 none */
    struct job_launch_restore *restores;
    /* optional trailer after the restores: the job's PMIx mapping and
     * binding policies (PMIX_MAPBY, PMIX_BINDTO, as map_policy_names()
     * spells them), both or neither; NULL none */
    char *mapby;
    char *bindto;
    /* optional, after them: PMIX_RANKBY (as map_policy_names() spells
     * it); NULL none */
    char *rankby;
};

struct job_kv {
    char *key;
    char *value;
};

/* A rank's binding as its node applied (or, on a node described by a
 * synthetic topology, would apply) it. */
struct job_binding {
    uint32_t rank; /* global rank */
    char *pus;     /* OS PU indexes in hwloc's list syntax; "" unbound */
};

/* A rank's end, as waitpid() told it. */
struct job_rank_exit {
    uint32_t rank;
    bool signaled; /* value is a signal number, else an exit status */
    int32_t value;
    bool initialized;      /* it sent PMI init */
    bool finalized;        /* it sent PMI finalize */
    bool killed;           /* the runtime sent it SIGTERM or SIGKILL */
    bool oom_killed;       /* the OOM killer ended it within the job's cgroup */
    uint64_t memory_limit; /* with oom_killed: the job's limit in bytes on
                            * that node, 0 when unknown */
    /* optional trailer: the counters file the rank left on its node
     * (SHOAL_RANK_COUNTERS, node_job.h), at most JOB_WIRE_COUNTERS_MAX
     * bytes; 0 and NULL: none */
    uint32_t counters_len;
    uint8_t *counters;
};

struct job_frame {
    enum job_frame_kind kind;
    union {
        struct job_launch launch;
        struct {
            uint32_t nbound; /* optional trailer; 0 none */
            struct job_binding *bound;
        } started;
        struct {
            int32_t code; /* negative errno / SHOAL_E* */
            char *message;
        } spawn_failed;
        struct {
            uint32_t rank;
            uint8_t stream; /* enum job_output_stream */
            uint32_t len;   /* 0: end of the stream */
            uint8_t *bytes;
        } output;
        struct {
            uint32_t len; /* 0: end of input */
            uint8_t *bytes;
        } input; /* STDIN */
        struct {
            uint32_t nkvs;
            struct job_kv *kvs;
        } barrier; /* BARRIER_IN, BARRIER_OUT */
        struct job_rank_exit rank_exit;
        struct {
            int32_t rank;  /* -1: not a rank's doing */
            int32_t code;  /* exit code the job ends with */
            bool fault;    /* a runtime fault (bad PMI message), not
                              MPI_Abort */
            char *message; /* the rank's text or the fault; may be "" */
        } abort;
        struct {
            int32_t signo;
            uint32_t nranks; /* optional trailer; 0: every rank */
            uint32_t *ranks;
        } signal;
        struct {
            bool now; /* SIGKILL at once, no grace period */
        } kill;
        struct {
            uint32_t rank;
            uint32_t version;
            uint32_t nnodes; /* nodes holding the version: the sender's
                                own first (its original, which its
                                daemon can serve), then the copies */
            uint64_t *nodes;
            uint32_t cost_ms; /* optional trailer: what the version cost
                                 the rank to write (its COST); 0 unknown */
        } ckpt_copies;
        struct {
            uint32_t version; /* the newest one durable on every rank */
        } ckpt_keep;
        struct {
            uint8_t op;     /* enum job_names_op */
            uint32_t id;    /* the proxy's, echoed in the REPLY */
            int32_t rank;   /* the rank asking (not in a REPLY: -1) */
            bool wait;      /* LOOKUP: until every key is published */
            int32_t status; /* REPLY: 0 or a negative errno */
            uint32_t nkvs;  /* PUBLISH and found: keys and values; LOOKUP,
                               UNPUBLISH: keys, values "" */
            struct job_kv *kvs;
        } names;
        struct {
            uint8_t op;     /* enum job_dmodex_op */
            uint32_t id;    /* the sender's, echoed in the REPLY */
            uint32_t rank;  /* the rank whose data is asked for */
            int32_t status; /* REPLY: 0 or a negative errno (-ESRCH: the
                               rank is gone, -ETIMEDOUT, ...); REQUEST 0 */
            uint32_t len;   /* REPLY with status 0: the rank's data as
                               OpenPMIx packs it (at most
                               JOB_WIRE_DATA_MAX bytes); otherwise 0 */
            uint8_t *bytes;
        } dmodex;
        struct {
            bool held;     /* stop the job's ranks; false: continue them */
            bool vacating; /* (not held) the sender's ranks will end: its
                              owner takes the node back */
            char *reason;  /* why, for the user; may be "" */
        } hold;
    };
};

/* Encode f into a new buffer: *out (caller frees with free()) of *len
 * bytes. Pointers in f are only read. Returns 0, -EINVAL for a frame that
 * breaks a limit or has an unknown kind, or -ENOMEM. */
int job_frame_encode(const struct job_frame *f, uint8_t **out, size_t *len);

/* Decode len bytes into f. Returns 0 (release f with job_frame_release())
 * or SHOAL_EPROTO / -ENOMEM with error filled; f then needs no release. */
int job_frame_decode(const uint8_t *buf,
                     size_t len,
                     struct job_frame *f,
                     shoal_error_t *error);

/* Free what job_frame_decode() allocated in f; NULL is accepted. Not for
 * frames a caller built. */
void job_frame_release(struct job_frame *f);

/* The name of a kind, for messages ("LAUNCH"); "?" when unknown. */
const char *job_frame_kind_name(int kind);

#endif
