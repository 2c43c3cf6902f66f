/*
 * Sticky refills: exact placement for chains that start with binpack on a
 * resource the task uses (binpack(cpu) then spread then random, say).
 *
 * With such a chain the instance that took the last task is strictly the
 * tightest afterwards, so it keeps taking tasks until it no longer fits
 * (place.c). Only then is a new instance chosen, and at that moment every
 * other feasible instance is as the request found it: the ones that took tasks
 * are full. So the binpack values of the candidates are fixed, and sorting the
 * candidates once by (binpack value, position) turns "the survivors of the
 * first strategy" into the first run of equal values among the instances still
 * feasible. The rest of the chain (spread counts, random, tie key) is then
 * applied to that run only, exactly as the full scan would.
 */
#include <stdlib.h>
#include <string.h>

#include "placement.h"

struct qm_runs {
    int64_t m;
    int32_t *order;     /* candidates by (first strategy's value, position) */
    int64_t *value;     /* the first strategy's value of order[k] when sorted */
    uint8_t *dead;      /* per instance: known infeasible for the rest of the request */
    int64_t head;       /* order[0 .. head) are all dead */
};

typedef struct {
    int64_t value;
    int64_t position;
} keyed;

static int by_value_then_position(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->position > y->position) - (x->position < y->position);
}

void qm_runs_free(qm_runs *r)
{
    if (!r)
        return;
    free(r->order);
    free(r->value);
    free(r->dead);
    free(r);
}

qm_runs *qm_runs_build(const qm_ctx *c, const uint8_t *stage)
{
    int64_t n = c->in->n;
    if (n > INT32_MAX)
        return NULL;
    qm_runs *r = calloc(1, sizeof(qm_runs));
    if (!r)
        return NULL;
    r->order = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    r->value = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    r->dead = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!r->order || !r->value || !r->dead) {
        qm_runs_free(r);
        return NULL;
    }
    keyed *items = malloc(sizeof(keyed) * (size_t)(n > 0 ? n : 1));
    if (!items) {
        qm_runs_free(r);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        if (stage[i] == QM_STAGE_FEASIBLE)
            items[r->m++] = (keyed){qm_strategy_value(&c->strategies[0], c->in, i), i};
    qsort(items, (size_t)r->m, sizeof(keyed), by_value_then_position);
    for (int64_t k = 0; k < r->m; k++) {
        r->order[k] = (int32_t)items[k].position;
        r->value[k] = items[k].value;
    }
    free(items);
    return r;
}

/* The winner among the feasible members of order[from .. to), or -1. */
static int64_t choose_in_run(qm_runs *r, const qm_ctx *c, int64_t t, int64_t from, int64_t to)
{
    int64_t best[QM_MAX_STRATEGIES], values[QM_MAX_STRATEGIES];
    int64_t winner = -1, survivors = 0;
    for (int64_t k = from; k < to; k++) {
        int64_t i = r->order[k];
        if (r->dead[i])
            continue;
        if (qm_stage_of(c, i) != QM_STAGE_FEASIBLE) {
            r->dead[i] = 1;
            continue;
        }
        int order = winner < 0 ? -1 : qm_compare_key(c, 1, i, best, values);
        if (winner < 0)
            for (int32_t s = 1; s < c->ranked; s++)
                values[s] = qm_strategy_value(&c->strategies[s], c->in, i);
        if (order < 0) {
            memcpy(best, values, sizeof(best));
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
    uint64_t r_t = qm_splitmix64(c->rq->seed_state + (uint64_t)t + 1);
    uint64_t j = (uint64_t)(((unsigned __int128)r_t * (uint64_t)survivors) >> 64);
    for (int64_t k = from; k < to; k++) { /* the run is in position order */
        int64_t i = r->order[k];
        if (r->dead[i] || qm_compare_key(c, 1, i, best, values) != 0)
            continue;
        if (j == 0)
            return i;
        j--;
    }
    return -1;
}

int64_t qm_runs_choose(qm_runs *r, const qm_ctx *c, int64_t t)
{
    for (;;) {
        while (r->head < r->m && r->dead[r->order[r->head]])
            r->head++;
        if (r->head >= r->m)
            return -1;
        int64_t from = r->head, to = from;
        while (to < r->m && r->value[to] == r->value[from])
            to++;
        for (int64_t k = from; k < to; k++) {
            int64_t i = r->order[k];
            /* Only full instances took tasks; a live one with a new value breaks the premise. */
            if (r->dead[i] || qm_strategy_value(&c->strategies[0], c->in, i) == r->value[k])
                continue;
            if (qm_stage_of(c, i) != QM_STAGE_FEASIBLE)
                r->dead[i] = 1;
            else
                return QM_RUNS_GIVE_UP;
        }
        int64_t w = choose_in_run(r, c, t, from, to);
        if (w >= 0)
            return w;
        r->head = to; /* the whole run is infeasible for good */
    }
}
