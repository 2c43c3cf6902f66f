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
#include "placement.h"

static int is_spread_attribute(const int64_t *ids, int64_t n_ids, int64_t id)
{
    for (int64_t k = 0; k < n_ids; k++)
        if (ids[k] == id)
            return 1;
    return 0;
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
    return qm_index_repair(index, in, strategies, n_strategies, rq, log->position, log->n);
}
