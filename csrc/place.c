/*
 * qm_place: one request, task after task (placement.md section 3).
 *
 * Each task's instance is found by the fastest path that gives exactly what
 * the full scan (scan.c) would:
 *  - sticky: when the chain starts with binpack on a resource the task uses,
 *    the instance that took the last task is now strictly the tightest, so it
 *    takes the next one too while it stays feasible; the next instance then
 *    comes from the sorted runs of runs.c;
 *  - the cell index (index.c) for chains without random;
 *  - the order-statistic draw (random.c) for chains that start with random;
 *  - the full scan otherwise, for the first task when its stage counts are
 *    asked for (explain), and whenever no feasible instance is left (to
 *    report why).
 */
#include <stdlib.h>
#include <string.h>

#include "placement.h"

/* Record why a task failed: the latest stage reached, the closest match, the counts. */
static void record_failure(const qm_ctx *c, const uint8_t *stage, const int64_t *counts,
                           qm_result *out)
{
    const qm_instances *in = c->in;
    int latest = QM_STAGE_NOT_ACTIVE;
    for (int k = QM_STAGE_AGENT; k < QM_STAGE_FEASIBLE; k++)
        if (counts[k] > 0)
            latest = k;
    int64_t closest = -1;
    if (latest != QM_STAGE_NOT_ACTIVE)
        for (int64_t i = 0; i < in->n; i++)
            if (stage[i] == latest && (closest < 0 || qm_tie(c, i) < qm_tie(c, closest)))
                closest = i;
    out->failed = 1;
    out->fail_stage = latest;
    out->fail_position = closest;
    memcpy(out->fail_counts, counts, sizeof(out->fail_counts));
}

static int check_arguments(const qm_instances *in, const qm_strategy *strategies,
                           int32_t n_strategies, const qm_request *rq, const qm_ports *ports,
                           int64_t count, const qm_result *out)
{
    if (!in || !rq || !ports || !out || (n_strategies > 0 && !strategies))
        return QM_ENULL;
    if (in->n < 0 || count < 0 || n_strategies < 0 || n_strategies > QM_MAX_STRATEGIES)
        return QM_EINVAL;
    if (in->n > 0 && (!in->prefilter || !in->cpu_remaining || !in->memory_remaining
                      || !in->gpu_remaining || !in->eni_limit || !in->eni_used || !in->member_ok
                      || !in->group_count || !in->running_tasks))
        return QM_ENULL;
    if (rq->cpu < 0 || rq->memory < 0 || rq->gpu < 0 || rq->eni < 0 || rq->eni > 1
        || rq->n_static_tcp < 0 || rq->n_static_udp < 0 || rq->dynamic_tcp < 0
        || rq->dynamic_udp < 0 || rq->first_task < 0)
        return QM_EINVAL;
    /* No task holds more ports of a protocol than there are; bounding the counts here keeps
     * the sums below far from overflow whatever the caller passed. */
    if (rq->n_static_tcp > QM_MAX_PORT || rq->n_static_udp > QM_MAX_PORT
        || rq->dynamic_tcp > QM_MAX_PORT || rq->dynamic_udp > QM_MAX_PORT)
        return QM_EINVAL;
    if ((rq->n_static_tcp && !rq->static_tcp) || (rq->n_static_udp && !rq->static_udp))
        return QM_ENULL;
    for (int64_t k = 0; k < rq->n_static_tcp; k++)
        if (rq->static_tcp[k] < 1 || rq->static_tcp[k] > QM_MAX_PORT)
            return QM_EINVAL;
    for (int64_t k = 0; k < rq->n_static_udp; k++)
        if (rq->static_udp[k] < 1 || rq->static_udp[k] > QM_MAX_PORT)
            return QM_EINVAL;
    uint8_t worst = 0; /* reductions without early exits vectorise */
    for (int64_t i = 0; i < in->n; i++)
        worst |= in->prefilter[i] > QM_STAGE_CPU;
    if (worst)
        return QM_EINVAL;
    for (int32_t k = 0; k < n_strategies; k++) {
        const qm_strategy *s = &strategies[k];
        if (s->kind < QM_BINPACK_CPU || s->kind > QM_RANDOM)
            return QM_EINVAL;
        if (s->kind != QM_SPREAD_ATTRIBUTE)
            continue;
        if ((in->n > 0 && !s->bucket) || !s->bucket_count || s->n_buckets < 1)
            return QM_ENULL;
        if (s->n_buckets > INT32_MAX)
            return QM_EINVAL;
        uint32_t outside = 0, limit = (uint32_t)s->n_buckets;
        for (int64_t i = 0; i < in->n; i++) /* negative values wrap above the limit */
            outside |= (uint32_t)s->bucket[i] >= limit;
        if (outside)
            return QM_EBOUNDS;
    }
    int64_t per_task = rq->n_static_tcp + rq->dynamic_tcp + rq->n_static_udp + rq->dynamic_udp;
    if (per_task > 0) {
        int64_t cap = ports->added_capacity;
        if (!ports->added || cap <= 0 || (cap & (cap - 1)) != 0 || ports->n_added < 0
            || ports->n_added > cap / 2)
            return QM_ECAPACITY;
        /* At most half full after the call (probing always finds an empty slot); divided,
         * not multiplied, so a huge count cannot wrap around. */
        if (count > (cap / 2 - ports->n_added) / per_task)
            return QM_ECAPACITY;
        if (!out->ports_tcp || !out->ports_udp)
            return QM_ENULL;
    }
    if (ports->n_base < 0 || (ports->n_base > 0 && !ports->base))
        return QM_EINVAL;
    if (count > 0 && !out->position)
        return QM_ENULL;
    return QM_OK;
}


/* Count the ports in use in the dynamic range per protocol and instance, from
 * the base keys and the ports taken earlier in this request. NULL if short of
 * memory (the fit test then walks the range). */
static int64_t *count_dynamic_used(const qm_ctx *c)
{
    int64_t n = c->in->n;
    int64_t *used = calloc((size_t)(2 * n > 0 ? 2 * n : 1), sizeof(int64_t));
    if (!used)
        return NULL;
    const qm_ports *p = c->ports;
    for (int64_t k = 0; k < p->n_base + p->added_capacity; k++) {
        int64_t key = k < p->n_base ? p->base[k] : p->added[k - p->n_base] - 1;
        if (key < 0)
            continue; /* an empty slot of the added set */
        int64_t position = key >> 17, protocol = (key >> 16) & 1, port = key & 0xFFFF;
        if (position < n && port >= QM_DYNAMIC_PORT_FIRST)
            used[protocol * n + position]++;
    }
    return used;
}

/* The task's distinct static ports inside the dynamic range, per protocol: the dynamic
 * mappings cannot have them. A port listed twice (hand-built requirements allow it) is one
 * port, as in the walk of qm_fit_ports. */
static int64_t distinct_in_range(const int32_t *statics, int64_t n_static)
{
    uint8_t seen[(QM_DYNAMIC_PORT_LAST - QM_DYNAMIC_PORT_FIRST + 1 + 7) / 8] = {0};
    int64_t distinct = 0;
    for (int64_t k = 0; k < n_static; k++) {
        int64_t bit = statics[k] - QM_DYNAMIC_PORT_FIRST;
        if (bit < 0 || (seen[bit >> 3] >> (bit & 7)) & 1)
            continue;
        seen[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        distinct++;
    }
    return distinct;
}

static void count_statics_in_range(qm_ctx *c)
{
    c->statics_in_range[QM_TCP] = distinct_in_range(c->rq->static_tcp, c->rq->n_static_tcp);
    c->statics_in_range[QM_UDP] = distinct_in_range(c->rq->static_udp, c->rq->n_static_udp);
}

/* Whether the chain's first strategy makes the last winner strictly best again. */
static int chain_is_sticky(const qm_ctx *c)
{
    if (c->ranked == 0)
        return 0;
    int kind = c->strategies[0].kind;
    return (kind == QM_BINPACK_CPU && c->rq->cpu > 0) || (kind == QM_BINPACK_MEMORY && c->rq->memory > 0);
}

/* Whether a caller-kept index can be trusted: sized for this fleet, and its
 * cells lie inside its arrays (it passed through the caller's hands). */
static int index_is_sound(const qm_index_state *x, int64_t n)
{
    if (!x->built)
        return 1;
    if (!x->heap || !x->slot || !x->cell_of || !x->start || !x->size || !x->top_ok)
        return 0;
    if (x->capacity != n || x->n_cells < 0 || x->n_cells > n)
        return 0;
    for (int64_t cell = 0; cell < x->n_cells; cell++) {
        if (x->start[cell] < 0 || x->size[cell] < 0 || x->start[cell] + x->size[cell] > n)
            return 0;
    }
    /* One pass the compiler can vectorise: any entry outside [0, n)? */
    uint32_t bad = 0;
    for (int64_t k = 0; k < n; k++)
        bad |= (uint32_t)x->heap[k] >= (uint32_t)n;
    return x->n_cells == 0 || !bad;
}

void qm_ctx_begin(qm_ctx *c, const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
                  const qm_request *rq, qm_ports *ports)
{
    *c = (qm_ctx){.in = in, .strategies = strategies, .rq = rq, .ports = ports};
    while (c->ranked < n_strategies && strategies[c->ranked].kind != QM_RANDOM)
        c->ranked++;
    c->has_random = c->ranked < n_strategies;
    c->n_tcp = rq->n_static_tcp + rq->dynamic_tcp;
    c->n_udp = rq->n_static_udp + rq->dynamic_udp;
    c->has_ports = c->n_tcp + c->n_udp > 0;
    if (rq->dynamic_tcp + rq->dynamic_udp > 0) {
        /* The cluster keeps the counts up to date; without them, count now (NULL if
         * short of memory: the fit test then walks the range). */
        c->owns_dynamic_used = !ports->dynamic_used;
        c->dynamic_used = c->owns_dynamic_used ? count_dynamic_used(c) : ports->dynamic_used;
        count_statics_in_range(c);
    }
}

void qm_ctx_end(qm_ctx *c)
{
    if (c->owns_dynamic_used)
        free(c->dynamic_used);
    c->dynamic_used = NULL;
    c->owns_dynamic_used = 0;
}

/* The random draw this call uses: the one kept behind `index` when it was built for
 * this fleet, else NULL (built at the first scan). A kept draw this call cannot use
 * and keep exact (one task per call, the path turned off) is dropped. */
static qm_random *kept_draw(qm_index_state *index, const qm_ctx *c, int use_random)
{
    if (!index || !index->random)
        return NULL;
    qm_random *kept = index->random;
    if (use_random && qm_random_matches(kept, c))
        return kept;
    qm_random_free(kept);
    index->random = NULL;
    return NULL;
}

int qm_place(const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
             const qm_request *rq, qm_ports *ports, int64_t count, int32_t one_at_a_time,
             int32_t explain, qm_index_state *index, qm_result *out)
{
    int status = check_arguments(in, strategies, n_strategies, rq, ports, count, out);
    if (status != QM_OK)
        return status;
    out->placed = 0;
    out->failed = 0;
    out->explained = 0;
    out->fail_stage = QM_STAGE_NOT_ACTIVE;
    out->fail_position = -1;
    memset(out->fail_counts, 0, sizeof(out->fail_counts));
    if (count == 0)
        return QM_OK;

    uint8_t *stage = malloc(in->n > 0 ? (size_t)in->n : 1);
    if (!stage)
        return QM_ECAPACITY;
    qm_ctx c;
    qm_ctx_begin(&c, in, strategies, n_strategies, rq, ports);
    int sticky = (rq->fast_paths & QM_PATH_STICKY) && chain_is_sticky(&c);
    int use_index = index && (rq->fast_paths & QM_PATH_INDEX) && !sticky && !one_at_a_time
                    && qm_index_suits(&c);
    if (index && !index_is_sound(index, in->n))
        index->built = 0;
    qm_runs *runs = NULL;
    int use_random = (rq->fast_paths & QM_PATH_RANDOM) && !one_at_a_time && qm_random_suits(&c);
    qm_random *draw = kept_draw(index, &c, use_random);
    qm_prefix *prefix = NULL; /* made at the index's first use in this call */
    int64_t last = -1;

    for (int64_t done = 0; done < count; done++) {
        int64_t t = rq->first_task + done, w = -1;
        if (sticky && last >= 0 && qm_stage_of(&c, last) == QM_STAGE_FEASIBLE) {
            w = last;
        } else if (runs) {
            w = qm_runs_choose(runs, &c, t);
            if (w == QM_RUNS_GIVE_UP) {
                qm_runs_free(runs);
                runs = NULL;
                sticky = 0;
                w = -1;
            }
        } else if (use_index && index->built && !(explain && done == 0)
                   && (prefix || (prefix = qm_prefix_new(index, count - done)))) {
            w = qm_index_choose(index, &c, prefix);
        } else if (draw && !(explain && done == 0)) {
            w = qm_random_choose(draw, &c, t);
        }
        if (w < 0) {
            int64_t counts[QM_N_STAGES] = {0};
            w = qm_scan_choose(&c, t, stage, counts);
            if (done == 0 && rq->first_task == 0) { /* the request's first task: free to keep */
                memcpy(out->removed, counts, sizeof(int64_t) * QM_STAGE_FEASIBLE);
                out->explained = 1;
            }
            if (w < 0) {
                record_failure(&c, stage, counts, out);
                break;
            }
            int more = !one_at_a_time && done + 1 < count;
            if (sticky && !runs && more)
                runs = qm_runs_build(&c, stage);
            else if (use_index && !index->built)
                qm_index_build(index, &c, stage); /* kept by the caller: later requests use it too */
            else if (use_random && !draw && (more || index)) {
                draw = qm_random_build(&c, stage); /* kept behind the index for later requests */
                if (index)
                    index->random = draw;
            }
        }
        out->position[done] = w;
        qm_take(&c, w, c.has_ports ? out->ports_tcp + done * c.n_tcp : NULL,
                c.has_ports ? out->ports_udp + done * c.n_udp : NULL);
        if (use_index && index->built)
            qm_index_placed(index, &c, prefix, w);
        if (draw)
            qm_random_placed(draw, &c, w);
        last = w;
        out->placed = done + 1;
        if (one_at_a_time)
            break;
    }
    qm_runs_free(runs);
    qm_prefix_free(prefix);
    if (!index || index->random != draw)
        qm_random_free(draw);
    qm_ctx_end(&c);
    free(stage);
    return QM_OK;
}
