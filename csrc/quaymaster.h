/*
 * quaymaster native core: the public C API.
 *
 * Another native scheduler can include this header and link the core: every
 * function takes caller-owned arrays with their lengths, returns an int status
 * (QM_OK or a QM_E* code below), and never allocates memory the caller must
 * free. Arrays are indexed by instance position (the 0-based row of the
 * instance table), which is what ties and random draws are keyed on.
 *
 * The declarations between the CDEF markers are read verbatim by build.py and
 * handed to cffi, so they must stay free of preprocessor directives.
 */
#ifndef QUAYMASTER_H
#define QUAYMASTER_H

#include <stdint.h>
#include <stddef.h>

#define QM_VERSION_MAJOR 0
#define QM_VERSION_MINOR 1
#define QM_VERSION_PATCH 0

/* CDEF BEGIN */

/* Status codes returned by every function. */
enum {
    QM_OK = 0,
    QM_EINVAL = 1,      /* an argument is out of range or inconsistent */
    QM_ENULL = 2,       /* a required pointer is NULL */
    QM_EBOUNDS = 3,     /* an index points outside its array */
    QM_ECAPACITY = 4    /* a caller-provided buffer is too small */
};

/* "MAJOR.MINOR.PATCH" of the native core, a static string. */
const char *qm_version(void);

/* splitmix64 of placement.md section 6, exposed for tests and other cores. */
uint64_t qm_splitmix64(uint64_t x);

/* ---- Placement (spec: placement.md sections 4 to 6) -------------------- */

/* Stages, in the order candidates go through them. A candidate that fails a
 * stage stops there; QM_STAGE_FEASIBLE means it passed all nine. */
enum {
    QM_STAGE_NOT_ACTIVE = 0,
    QM_STAGE_AGENT = 1,
    QM_STAGE_ATTRIBUTE = 2,
    QM_STAGE_CPU = 3,
    QM_STAGE_MEMORY = 4,
    QM_STAGE_GPU = 5,
    QM_STAGE_ENI = 6,
    QM_STAGE_PORTS = 7,
    QM_STAGE_MEMBER_OF = 8,
    QM_STAGE_DISTINCT_INSTANCE = 9,
    QM_STAGE_FEASIBLE = 10,
    QM_N_STAGES = 11
};

/* Strategy kinds. */
enum {
    QM_BINPACK_CPU = 1,
    QM_BINPACK_MEMORY = 2,
    QM_SPREAD_INSTANCE = 3,    /* spread(instanceId) and spread(host) */
    QM_SPREAD_ATTRIBUTE = 4,   /* spread(attribute:<name>) */
    QM_RANDOM = 5
};

/* Fast paths (they give exactly the full scan's placements; tests turn them off). */
enum {
    QM_PATH_STICKY = 1,   /* binpack-first chains: the last winner while it fits */
    QM_PATH_INDEX = 2,    /* chains without random: per-cell heaps */
    QM_PATH_RANDOM = 4,   /* chains that start with random: the j-th feasible by a tree descent */
    QM_PATH_ALL = 7
};

/* The instances as the request sees them; arrays of length n, by position.
 * Mutable arrays are updated in place as tasks are placed. */
typedef struct {
    int64_t n;
    /* Stages that cannot change during a request, decided by the caller:
     * QM_STAGE_NOT_ACTIVE, QM_STAGE_AGENT or QM_STAGE_ATTRIBUTE when the
     * instance stops there, QM_STAGE_CPU when it goes on to the resources. */
    const uint8_t *prefilter;
    int64_t *cpu_remaining;
    int64_t *memory_remaining;
    int64_t *gpu_remaining;
    const int64_t *eni_limit;     /* < 0: no limit */
    int64_t *eni_used;            /* awsvpc tasks on the instance */
    const uint8_t *member_ok;     /* all memberOf expressions true (1) or not (0) */
    int64_t *group_count;         /* live tasks of the request's group */
    int64_t *running_tasks;       /* live tasks of any group */
    const uint64_t *tie_key;      /* k(p) of section 6; NULL: computed from the request's seed */
} qm_instances;

/* One strategy of the chain. bucket/bucket_count are used by
 * QM_SPREAD_ATTRIBUTE only: bucket[p] in [0, n_buckets) is the instance's
 * attribute value (instances lacking it share one bucket), bucket_count[b]
 * the live tasks of the group on all instances of bucket b. */
typedef struct {
    int32_t kind;
    const int32_t *bucket;
    int64_t *bucket_count;
    int64_t n_buckets;
} qm_strategy;

/* What each task of the request needs. */
typedef struct {
    int64_t cpu;
    int64_t memory;
    int64_t gpu;
    int64_t eni;                  /* 0 or 1 */
    const int32_t *static_tcp;    /* host ports, distinct, 1..65535 */
    int64_t n_static_tcp;
    const int32_t *static_udp;
    int64_t n_static_udp;
    int64_t dynamic_tcp;          /* dynamic mappings per protocol */
    int64_t dynamic_udp;
    int32_t distinct_instance;    /* 1 if the distinctInstance constraint applies */
    uint64_t seed_state;          /* s = splitmix64(seed) */
    int64_t first_task;           /* task index t of the first task of this call */
    int32_t fast_paths;           /* QM_PATH_* bits the call may use; 0 = scan every task */
} qm_request;

/* Host ports in use. base: sorted keys (position << 17 | protocol << 16 |
 * port, protocol 0 tcp, 1 udp), read only. added: an open-addressing set of
 * key + 1 (0 = empty slot) for the ports taken during the request; its
 * capacity is a power of two, at least twice the ports the call can add. */
typedef struct {
    const int64_t *base;
    int64_t n_base;
    int64_t *added;
    int64_t added_capacity;
    int64_t n_added;
    /* NULL, or the cluster's count per protocol and instance of the ports in
     * use in the dynamic range (dynamic_used[protocol * n + i]), kept up to
     * date by qm_take and qm_release; when NULL qm_place counts them per call. */
    int64_t *dynamic_used;
} qm_ports;

/* Tasks handed back by qm_release (or checked by qm_ports_insert's callers):
 * columns of n tasks; ports are CSR, tcp_ports[tcp_offsets[r] .. tcp_offsets[r+1]). */
typedef struct {
    int64_t n;
    const int64_t *position;
    const int64_t *cpu;
    const int64_t *memory;
    const int64_t *gpu;
    const int64_t *eni;
    const int64_t *tcp_offsets;
    const int32_t *tcp_ports;
    const int64_t *udp_offsets;
    const int32_t *udp_ports;
} qm_tasks;

/* The outcome of qm_place. Arrays are the caller's, sized for `count` tasks. */
typedef struct {
    int64_t placed;               /* tasks placed by this call */
    int64_t *position;            /* [count] instance of each placed task */
    int32_t *ports_tcp;           /* [count * (n_static_tcp + dynamic_tcp)] static then dynamic */
    int32_t *ports_udp;           /* [count * (n_static_udp + dynamic_udp)] */
    int32_t failed;               /* 1 if task first_task + placed could not be placed */
    int32_t fail_stage;           /* latest stage reached, QM_STAGE_NOT_ACTIVE if no candidate */
    int64_t fail_position;        /* closest matching instance, -1 if none */
    int64_t fail_counts[11];      /* instances stopped at each stage, for the failed task */
    int64_t removed[11];          /* the first task's stage counts, when explained */
    int32_t explained;            /* 1 when removed[] holds them */
} qm_result;

/* The cell index of the fast path, in caller-owned memory so that it can
 * outlive one call: consecutive requests of the same kind on an otherwise
 * unchanged cluster reuse it instead of rebuilding it. Arrays of length n
 * (heap, slot, cell_of) and n + 1 (start, size, top_ok). The core sets
 * `built` when it fills them; the caller clears it whenever the cluster
 * changed in any other way than through requests placed with this index. */
typedef struct {
    int32_t *heap;
    int32_t *slot;
    int32_t *cell_of;
    int64_t *start;
    int64_t *size;
    uint8_t *top_ok;
    int64_t capacity;             /* n: the length the arrays were sized for */
    int64_t n_cells;
    int32_t only_improves;
    int32_t built;
    /* A chain that starts with random keeps its order-statistic draw over the
     * feasible set here (random.c) instead: NULL until the core builds it, then
     * owned by this struct (qm_index_release frees it; qm_random_repair brings
     * it up to date with positions changed outside the requests placed with it). */
    void *random;
} qm_index_state;

/* Free what the core keeps behind a qm_index_state (its random draw); the
 * caller's arrays stay the caller's. Safe on NULL and to call twice. */
void qm_index_release(qm_index_state *index);

/* Re-test the instances at `positions` (changed since the kept random draw's
 * last request: tasks came or went, status, attributes, memberOf verdicts) for
 * this request and put each in or out of the draw's feasible set, so that it
 * is again exactly the feasible set. Without a kept draw, nothing to do. */
int qm_random_repair(qm_index_state *index, const qm_instances *instances, const qm_strategy *strategies,
                     int32_t n_strategies, const qm_request *request, qm_ports *ports,
                     const int64_t *positions, int64_t n_positions);

/* Place up to `count` tasks one after another (section 3). Stops at the first
 * task that cannot be placed (result->failed = 1), or after one placement when
 * `one_at_a_time` is set (the caller re-evaluates state-dependent memberOf
 * expressions between tasks). `index` may be NULL (no index fast path);
 * when given, it is built at the first full scan of a chain that suits it,
 * even for one task, since the caller keeps it for later requests.
 * The first task's stage counts go to result->removed (explained = 1)
 * whenever that task is placed by a full scan; `explain` forces the scan
 * (which a kept index would otherwise skip). */
int qm_place(const qm_instances *instances, const qm_strategy *strategies,
             int32_t n_strategies, const qm_request *request, qm_ports *ports,
             int64_t count, int32_t one_at_a_time, int32_t explain,
             qm_index_state *index, qm_result *result);

/* ---- The cluster's mutable state: taking and releasing (state.c) ------ */

/* Give back what `tasks` (all of the group whose counts are in->group_count)
 * hold: resources, ENIs, counters and host ports; the mirror of what qm_place
 * takes. Every task is checked first (position in range, amounts >= 0, every
 * port held, no sum past int64); on any problem nothing changes. */
int qm_release(const qm_instances *in, qm_ports *ports, const qm_tasks *tasks);

/* The two halves of qm_release, for a task that stops in two steps (its
 * resources are given back when it reaches STOPPING, the rest when it is
 * STOPPED). qm_release_resources gives back CPU, memory, GPU and ENIs only;
 * qm_release_slot gives back the group's and the instance's task counts and
 * the host ports. Each checks its own half first and changes nothing on a
 * problem; qm_release is exactly qm_release_resources then qm_release_slot. */
int qm_release_resources(const qm_instances *in, const qm_tasks *tasks);
int qm_release_slot(const qm_instances *in, qm_ports *ports, const qm_tasks *tasks);

/* Insert port keys into the set `ports->added` (the cluster's persistent
 * set; n_base must be 0), counting dynamic-range ports in
 * ports->dynamic_used for instances < n. A key already present, or listed
 * twice, refuses the whole call (QM_EINVAL, its index in *duplicate) and
 * changes nothing; QM_ECAPACITY if the set would be more than half full. */
int qm_ports_insert(qm_ports *ports, int64_t n, const int64_t *keys, int64_t n_keys,
                    int64_t *duplicate);

/* Copy every key of `from` into the empty set `to` (of any power-of-two
 * capacity at least twice the keys). */
int qm_ports_rehash(const qm_ports *from, qm_ports *to);

/* The keys of one instance's ports in the set `ports->added`, in slot order:
 * up to `capacity` of them go to `out`; returns how many there are (or a
 * negative QM_ status). One pass over the set, no allocation. */
int64_t qm_ports_of(const qm_ports *ports, int64_t position, int64_t *out, int64_t capacity);

/* Rows of the cluster's change log (model/state_owner.py's ChangeLog): what
 * changed at each position. kind is one of the QM_LOG_* values. */
enum {
    QM_LOG_TASKS = 0,
    QM_LOG_STATUS = 1,
    QM_LOG_ATTRIBUTE = 2,
    QM_LOG_INSTANCES = 3
};
typedef struct {
    int64_t n;
    const int64_t *position;
    const int64_t *group;     /* TASKS: the group's code; ATTRIBUTE: the attribute's id */
    const int64_t *delta;     /* TASKS: tasks that came (+) or went (-) */
    const int8_t *kind;
} qm_log_rows;

/* What qm_plan_repair found: the plan must be built afresh (nothing was
 * changed), or static stages (status, attributes) changed at some positions
 * (the caller recomputes them there). */
enum {
    QM_REPAIR_REBUILD = 1,
    QM_REPAIR_STATIC = 2
};

/* Replay change-log rows on a kept plan of group `group_code`: its
 * spread(attribute) bucket counts move by the group's deltas and every
 * changed position is repaired in `index` (may be NULL) as qm_index_repair
 * does. New instances, or a change of an attribute whose id is in
 * spread_ids, set QM_REPAIR_REBUILD and change nothing. */
int qm_plan_repair(qm_index_state *index, const qm_instances *instances, const qm_strategy *strategies,
                   int32_t n_strategies, const qm_request *request, const qm_log_rows *log,
                   int64_t group_code, const int64_t *spread_ids, int64_t n_spread_ids, int32_t *flags);

/* Repair a kept cell index after the instances `dirty` changed outside the
 * requests placed with it (stops, drains, other requests): each goes back
 * into its cell's heap (or is re-sifted there), and its cell's top is
 * re-checked at the next choice. */
int qm_index_repair(qm_index_state *index, const qm_instances *instances,
                    const qm_strategy *strategies, int32_t n_strategies,
                    const qm_request *request, const int64_t *dirty, int64_t n_dirty);

/* CDEF END */

#endif /* QUAYMASTER_H */
