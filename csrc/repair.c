/*
 * Replaying the cluster's change log on a kept plan (placement/engine.py's
 * Plan.repair): one pass over the rows logged since the plan's last request.
 *
 * A row is one changed instance position: TASKS (delta tasks of a group came
 * or went), STATUS, ATTRIBUTE (the attribute's id in `group`) or INSTANCES (new
 * positions). The group's spread(attribute) bucket counts move by its own
 * rows' deltas; every changed position goes back into (or is re-sifted in) its
 * cell's heap through qm_index_repair. Rows a plan cannot repair (new
 * instances, a change of an attribute it spreads by) are reported before
 * anything changes, and the caller builds afresh.
 */
#include <stdlib.h>

#include "placement.h"

static int is_spread_attribute(const int64_t *ids, int64_t n_ids, int64_t id)
{
    for (int64_t k = 0; k < n_ids; k++)
        if (ids[k] == id)
            return 1;
    return 0;
}

/* Whether the heap order (the ranked per-instance strategies) reads only the group's own
 * task counts: every ranked strategy but spread(attribute) is spread(instanceId). Then
 * another group's tasks coming or going change no instance's place in its heap, only
 * whether it is feasible. */
static int order_reads_own_group_only(const qm_strategy *strategies, int32_t n_strategies)
{
    for (int32_t k = 0; k < n_strategies && strategies[k].kind != QM_RANDOM; k++)
        if (strategies[k].kind != QM_SPREAD_ATTRIBUTE && strategies[k].kind != QM_SPREAD_INSTANCE)
            return 0;
    return 1;
}

/* Whether a log row leaves its instance's place in the heap as it is, so that only its
 * cell's top needs re-testing: the instance is in the heap and its values did not change
 * (a status or attribute change; another group's tasks when the order reads only this
 * group's counts). An instance absent from the heap may have become feasible: it is
 * repaired (put in) whatever the row. Feasibility that fell is handled as the heaps
 * handle it within a request: an infeasible top is dropped when it is reached. */
static int keeps_heap_place(const qm_index_state *x, const qm_log_rows *log, int64_t r, int64_t group_code,
                            int own_group_only)
{
    int64_t i = log->position[r];
    if (x->slot[i] < 0)
        return 0;
    if (log->kind[r] == QM_LOG_STATUS || log->kind[r] == QM_LOG_ATTRIBUTE)
        return 1;
    return own_group_only && log->group[r] != group_code;
}

/* qm_index_repair of the rows that need it; the others only clear their cell's top_ok.
 * Rows were bounds-checked by the caller. */
static int repair_index(qm_index_state *x, const qm_instances *in, const qm_strategy *strategies,
                        int32_t n_strategies, const qm_request *rq, const qm_log_rows *log, int64_t group_code)
{
    if (!x->built || x->capacity != in->n || !x->slot || !x->cell_of || !x->top_ok || x->n_cells <= 0)
        return qm_index_repair(x, in, strategies, n_strategies, rq, log->position, log->n);
    int64_t *dirty = malloc(sizeof(int64_t) * (size_t)(log->n > 0 ? log->n : 1));
    if (!dirty)
        return qm_index_repair(x, in, strategies, n_strategies, rq, log->position, log->n);
    int own_group_only = order_reads_own_group_only(strategies, n_strategies);
    int64_t n_dirty = 0;
    for (int64_t r = 0; r < log->n; r++) {
        int64_t i = log->position[r];
        int32_t cell = x->cell_of[i];
        if (cell < 0 || cell >= x->n_cells || !keeps_heap_place(x, log, r, group_code, own_group_only))
            dirty[n_dirty++] = i;
        else
            x->top_ok[cell] = 0;
    }
    int status = qm_index_repair(x, in, strategies, n_strategies, rq, dirty, n_dirty);
    free(dirty);
    return status;
}

int qm_plan_repair(qm_index_state *index, const qm_instances *in, const qm_strategy *strategies,
                   int32_t n_strategies, const qm_request *rq, const qm_log_rows *log,
                   int64_t group_code, const int64_t *spread_ids, int64_t n_spread_ids, int32_t *flags)
{
    if (!in || !rq || !log || !flags || (n_strategies > 0 && !strategies) || (n_spread_ids > 0 && !spread_ids))
        return QM_ENULL;
    if (log->n < 0 || n_spread_ids < 0 || n_strategies < 0 || n_strategies > QM_MAX_STRATEGIES)
        return QM_EINVAL;
    if (log->n > 0 && (!log->position || !log->group || !log->delta || !log->kind))
        return QM_ENULL;
    *flags = 0;
    for (int64_t r = 0; r < log->n; r++) {
        int kind = log->kind[r];
        if (log->position[r] < 0 || log->position[r] >= in->n)
            return QM_EBOUNDS;
        if (kind == QM_LOG_INSTANCES
            || (kind == QM_LOG_ATTRIBUTE && is_spread_attribute(spread_ids, n_spread_ids, log->group[r]))) {
            *flags = QM_REPAIR_REBUILD;
            return QM_OK; /* nothing changed: the caller builds afresh */
        }
        if (kind == QM_LOG_STATUS || kind == QM_LOG_ATTRIBUTE)
            *flags |= QM_REPAIR_STATIC;
    }
    for (int32_t k = 0; k < n_strategies; k++) {
        const qm_strategy *s = &strategies[k];
        if (s->kind != QM_SPREAD_ATTRIBUTE)
            continue;
        if (!s->bucket || !s->bucket_count)
            return QM_ENULL;
        for (int64_t r = 0; r < log->n; r++) /* bounds first: a refused call changes nothing */
            if (log->kind[r] == QM_LOG_TASKS && log->group[r] == group_code
                && (s->bucket[log->position[r]] < 0 || s->bucket[log->position[r]] >= s->n_buckets))
                return QM_EBOUNDS;
    }
    for (int32_t k = 0; k < n_strategies; k++) {
        const qm_strategy *s = &strategies[k];
        if (s->kind != QM_SPREAD_ATTRIBUTE)
            continue;
        for (int64_t r = 0; r < log->n; r++)
            if (log->kind[r] == QM_LOG_TASKS && log->group[r] == group_code)
                s->bucket_count[s->bucket[log->position[r]]] += log->delta[r];
    }
    if (!index)
        return QM_OK;
    return repair_index(index, in, strategies, n_strategies, rq, log, group_code);
}
