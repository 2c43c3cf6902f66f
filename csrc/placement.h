/* Internal: what the placement paths share (stages, strategy values, taking a
 * task). Kept inline: these run once per instance per task on the scan path. */
#ifndef QM_PLACEMENT_H
#define QM_PLACEMENT_H

#include "ports.h"

#define QM_MAX_STRATEGIES 16

/* The request-wide view the paths work on. */
typedef struct {
    const qm_instances *in;
    const qm_strategy *strategies;
    int32_t ranked;          /* strategies before the first random */
    int has_random;
    const qm_request *rq;
    qm_ports *ports;
    int has_ports;
    int64_t n_tcp, n_udp;    /* host ports per task */
    /* With dynamic mappings: per protocol and instance, the ports in use in
     * the dynamic range (dynamic_used[protocol * n + i]), so that "is there a
     * free one" is a subtraction, not a walk over the range. */
    int64_t *dynamic_used;
    int64_t statics_in_range[2]; /* the task's own static ports in the range */
    int owns_dynamic_used;       /* dynamic_used was counted for this call: qm_ctx_end frees it */
} qm_ctx;

/* Set up the request-wide view (place.c); qm_ctx_end frees what it allocated. */
void qm_ctx_begin(qm_ctx *c, const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
                  const qm_request *rq, qm_ports *ports);
void qm_ctx_end(qm_ctx *c);

/* Whether every static port is free on instance i and enough dynamic ones are. */
static inline int qm_ports_fit(const qm_ctx *c, int64_t i)
{
    const qm_request *rq = c->rq;
    if (!c->dynamic_used)
        return qm_fit_ports(c->ports, i, QM_TCP, rq->static_tcp, rq->n_static_tcp, rq->dynamic_tcp, NULL)
               && qm_fit_ports(c->ports, i, QM_UDP, rq->static_udp, rq->n_static_udp, rq->dynamic_udp, NULL);
    for (int64_t k = 0; k < rq->n_static_tcp; k++)
        if (qm_port_used(c->ports, i, QM_TCP, rq->static_tcp[k]))
            return 0;
    for (int64_t k = 0; k < rq->n_static_udp; k++)
        if (qm_port_used(c->ports, i, QM_UDP, rq->static_udp[k]))
            return 0;
    const int64_t range = QM_DYNAMIC_PORT_LAST - QM_DYNAMIC_PORT_FIRST + 1, n = c->in->n;
    return range - c->dynamic_used[i] - c->statics_in_range[QM_TCP] >= rq->dynamic_tcp
           && range - c->dynamic_used[n + i] - c->statics_in_range[QM_UDP] >= rq->dynamic_udp;
}

/* The first stage instance i fails for this task, or QM_STAGE_FEASIBLE. */
static inline int qm_stage_of(const qm_ctx *c, int64_t i)
{
    const qm_instances *in = c->in;
    const qm_request *rq = c->rq;
    int pre = in->prefilter[i];
    if (pre != QM_STAGE_CPU)
        return pre;
    if (in->cpu_remaining[i] < rq->cpu)
        return QM_STAGE_CPU;
    if (in->memory_remaining[i] < rq->memory)
        return QM_STAGE_MEMORY;
    if (in->gpu_remaining[i] < rq->gpu)
        return QM_STAGE_GPU;
    /* Written as a subtraction of the limit (>= 0) so that no eni_used can overflow it. */
    if (rq->eni > 0 && in->eni_limit[i] >= 0 && in->eni_used[i] > in->eni_limit[i] - rq->eni)
        return QM_STAGE_ENI;
    if (c->has_ports && !qm_ports_fit(c, i))
        return QM_STAGE_PORTS;
    if (!in->member_ok[i])
        return QM_STAGE_MEMBER_OF;
    if (rq->distinct_instance && in->group_count[i] > 0)
        return QM_STAGE_DISTINCT_INSTANCE;
    return QM_STAGE_FEASIBLE;
}

/* k(p) of section 6: the caller's array when given, else splitmix64(s ^ p) from the
 * request's seed state (so a new seed costs the caller nothing per instance). */
static inline uint64_t qm_tie(const qm_ctx *c, int64_t i)
{
    return c->in->tie_key ? c->in->tie_key[i] : qm_splitmix64(c->rq->seed_state ^ (uint64_t)i);
}

/* The value strategy s ranks instance i by; smaller is better. */
static inline int64_t qm_strategy_value(const qm_strategy *s, const qm_instances *in, int64_t i)
{
    switch (s->kind) {
    case QM_BINPACK_CPU:
        return in->cpu_remaining[i];
    case QM_BINPACK_MEMORY:
        return in->memory_remaining[i];
    case QM_SPREAD_INSTANCE:
        return in->group_count[i];
    default: /* QM_SPREAD_ATTRIBUTE */
        return s->bucket_count[s->bucket[i]];
    }
}

/* -1, 0, 1 as instance i's key over strategies first..ranked-1 compares with
 * best[first..]; fills values[first..] with i's key on the way (the scan ranks
 * from strategy 0, the sorted runs from 1, the run already settling the first). */
static inline int qm_compare_key(const qm_ctx *c, int32_t first, int64_t i, const int64_t *best,
                                 int64_t *values)
{
    int order = 0;
    for (int32_t k = first; k < c->ranked; k++) {
        values[k] = qm_strategy_value(&c->strategies[k], c->in, i);
        if (order == 0 && values[k] != best[k])
            order = values[k] < best[k] ? -1 : 1;
    }
    return order;
}

/* j(t, n) of the random strategy: the high word of the exact 128-bit product r(t) * n. */
static inline uint64_t qm_random_index(uint64_t seed_state, int64_t t, int64_t n)
{
    uint64_t r = qm_splitmix64(seed_state + (uint64_t)t + 1);
    return (uint64_t)(((unsigned __int128)r * (uint64_t)n) >> 64);
}

/* Full scan (scan.c): the instance task t goes to, or -1; fills stage[] and counts[]. */
int64_t qm_scan_choose(const qm_ctx *c, int64_t t, uint8_t *stage, int64_t *counts);

/* Give instance w one task: resources, ENI, counters, spread buckets, ports
 * (written to tcp/udp when the task has any). */
void qm_take(const qm_ctx *c, int64_t w, int32_t *tcp, int32_t *udp);

/* The cell index (index.c) over the instances whose stage[] is FEASIBLE, for
 * chains without random. qm_index_build returns 0 when the chain or fleet does
 * not suit it (or memory is short): the caller then scans. */
int qm_index_suits(const qm_ctx *c);
int qm_index_build(qm_index_state *x, const qm_ctx *c, const uint8_t *stage);
/* A request's lists of each cell's best instances (index.c): cell c's list is the first
 * few feasible instances of its heap in (strategy values, tie key) order, so that a new
 * seed needs no rebuilt heaps and the next task of a cell costs O(1). NULL: no memory. */
typedef struct qm_prefix qm_prefix;
qm_prefix *qm_prefix_new(const qm_index_state *x, int64_t count);
void qm_prefix_free(qm_prefix *p);
int64_t qm_index_choose(qm_index_state *x, const qm_ctx *c, qm_prefix *p);
void qm_index_placed(qm_index_state *x, const qm_ctx *c, qm_prefix *p, int64_t w);

/* Sticky refills (runs.c) for binpack-first chains: the next instance once
 * the last winner is full. qm_runs_choose returns -1 when none is feasible,
 * QM_RUNS_GIVE_UP when its premise does not hold (the caller then scans). */
#define QM_RUNS_GIVE_UP (-2)
typedef struct qm_runs qm_runs;
qm_runs *qm_runs_build(const qm_ctx *c, const uint8_t *stage);
int64_t qm_runs_choose(qm_runs *r, const qm_ctx *c, int64_t t);
void qm_runs_free(qm_runs *r);

/* The order-statistic path (random.c) for chains that start with random: the
 * feasible positions in blocks under a Fenwick tree, the j-th drawn in O(log n).
 * qm_random_build returns NULL when the chain does not suit it (or memory is
 * short); qm_random_choose returns -1 once no instance is feasible (the caller
 * then scans, to report why); qm_random_placed drops the winner if it no
 * longer fits. */
typedef struct qm_random qm_random;
int qm_random_suits(const qm_ctx *c);
qm_random *qm_random_build(const qm_ctx *c, const uint8_t *stage);
int qm_random_matches(const qm_random *r, const qm_ctx *c);
int64_t qm_random_choose(const qm_random *r, const qm_ctx *c, int64_t t);
void qm_random_placed(qm_random *r, const qm_ctx *c, int64_t w);
void qm_random_free(qm_random *r);

#endif
