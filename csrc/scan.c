/*
 * The per-task scan of placement.md sections 4 to 6, the path every request
 * can take: every instance goes through the filter stages (cheap checks first,
 * in the spec's order, stopping at the first failure); the feasible ones are
 * ranked by the strategy chain, lexicographically, and the smallest tie key
 * wins. A `random` strategy ends the chain: the survivors of the strategies
 * before it are ordered by position and the draw j(t, n) picks one.
 */
#include <string.h>

#include "placement.h"

int64_t qm_scan_choose(const qm_ctx *c, int64_t t, uint8_t *stage, int64_t *counts)
{
    const qm_instances *in = c->in;
    int64_t best[QM_MAX_STRATEGIES], values[QM_MAX_STRATEGIES];
    int64_t winner = -1, survivors = 0;
    for (int64_t i = 0; i < in->n; i++) {
        int st = qm_stage_of(c, i);
        stage[i] = (uint8_t)st;
        counts[st]++;
        if (st != QM_STAGE_FEASIBLE)
            continue;
        if (winner < 0) {
            for (int32_t k = 0; k < c->ranked; k++)
                best[k] = qm_strategy_value(&c->strategies[k], in, i);
            winner = i;
            survivors = 1;
            continue;
        }
        int order = qm_compare_key(c, 0, i, best, values);
        if (order < 0) {
            memcpy(best, values, sizeof(int64_t) * (size_t)c->ranked);
            winner = i;
            survivors = 1;
        } else if (order == 0) {
            survivors++;
            if (qm_tie(c, i) < qm_tie(c, winner))
                winner = i;
        }
    }
    if (winner < 0 || !c->has_random)
        return winner;
    /* random: the j-th survivor by position. */
    uint64_t j = qm_random_index(c->rq->seed_state, t, survivors);
    for (int64_t i = 0; i < in->n; i++) {
        if (stage[i] != QM_STAGE_FEASIBLE || qm_compare_key(c, 0, i, best, values) != 0)
            continue;
        if (j == 0)
            return i;
        j--;
    }
    return -1; /* unreachable: survivors were counted above */
}
