/*
 * The cell index: exact placement without scanning every instance per task,
 * for strategy chains without `random`.
 *
 * Instances sharing their value of every spread(attribute) strategy form a
 * cell. Inside a cell those strategies rank everyone equally, so the cell's
 * order is that of the per-instance strategies (binpack, spread(instanceId))
 * and the tie key: a binary heap per cell keeps its best instance on top. The
 * best instance overall is the best of the cells' tops under the full key.
 *
 * Why it is exact: within one request an instance's feasibility only goes
 * from feasible to not (resources shrink, ports and group members are only
 * added), so an infeasible top can be dropped for good; and a placement only
 * changes the per-instance values of the instance it lands on, which is
 * re-sifted in its heap. Spread(attribute) counts live outside the heaps and
 * are read when the cells' tops are compared.
 */
#include <stdlib.h>
#include <string.h>

#include "placement.h"

#define QM_MAX_CELL_TABLE (1 << 22)

/* The state lives in the caller's qm_index_state: cell c holds
 * heap[start[c] .. start[c] + size[c]); slot[i] is where instance i sits (-1:
 * not indexed); top_ok[c] says the cell's top is known feasible;
 * only_improves says a placement can only move its instance up its heap. */
typedef qm_index_state qm_index;

/* Whether instance a ranks before b inside a cell (spread(attribute) values are equal there). */
static int before(const qm_ctx *c, int64_t a, int64_t b)
{
    for (int32_t k = 0; k < c->ranked; k++) {
        const qm_strategy *s = &c->strategies[k];
        if (s->kind == QM_SPREAD_ATTRIBUTE)
            continue;
        int64_t va = qm_strategy_value(s, c->in, a), vb = qm_strategy_value(s, c->in, b);
        if (va != vb)
            return va < vb;
    }
    return c->in->tie_key[a] < c->in->tie_key[b];
}

static void put(qm_index *x, int64_t at, int32_t instance)
{
    x->heap[at] = instance;
    x->slot[instance] = (int32_t)at;
}

static void sift_up(qm_index *x, const qm_ctx *c, int64_t base, int64_t k)
{
    int32_t item = x->heap[base + k];
    while (k > 0) {
        int64_t parent = (k - 1) / 2;
        if (!before(c, item, x->heap[base + parent]))
            break;
        put(x, base + k, x->heap[base + parent]);
        k = parent;
    }
    put(x, base + k, item);
}

static void sift_down(qm_index *x, const qm_ctx *c, int64_t base, int64_t size, int64_t k)
{
    int32_t item = x->heap[base + k];
    for (;;) {
        int64_t child = 2 * k + 1;
        if (child >= size)
            break;
        if (child + 1 < size && before(c, x->heap[base + child + 1], x->heap[base + child]))
            child++;
        if (!before(c, x->heap[base + child], item))
            break;
        put(x, base + k, x->heap[base + child]);
        k = child;
    }
    put(x, base + k, item);
}

static void pop_top(qm_index *x, const qm_ctx *c, int64_t cell)
{
    int64_t base = x->start[cell], last = --x->size[cell];
    x->slot[x->heap[base]] = -1;
    if (last > 0) {
        put(x, base, x->heap[base + last]);
        sift_down(x, c, base, last, 0);
    }
}

/* Whether taking a task can only improve an instance's place in its cell: the
 * first per-instance strategy is a binpack on a resource the task uses, so
 * its value strictly falls and decides the order. */
static int only_improves(const qm_ctx *c)
{
    for (int32_t k = 0; k < c->ranked; k++) {
        int kind = c->strategies[k].kind;
        if (kind == QM_SPREAD_ATTRIBUTE)
            continue;
        return (kind == QM_BINPACK_CPU && c->rq->cpu > 0)
               || (kind == QM_BINPACK_MEMORY && c->rq->memory > 0);
    }
    return 0;
}

/* Dense cell ids from the instances' spread(attribute) buckets; -1 if too many combinations. */
static int64_t assign_cells(const qm_ctx *c, const uint8_t *stage, int32_t *cell_of)
{
    int64_t n = c->in->n, table_size = 1;
    for (int32_t k = 0; k < c->ranked; k++)
        if (c->strategies[k].kind == QM_SPREAD_ATTRIBUTE) {
            table_size *= c->strategies[k].n_buckets;
            if (table_size > QM_MAX_CELL_TABLE)
                return -1;
        }
    int32_t *dense = malloc(sizeof(int32_t) * (size_t)table_size);
    if (!dense)
        return -1;
    for (int64_t v = 0; v < table_size; v++)
        dense[v] = -1;
    int64_t n_cells = 0;
    for (int64_t i = 0; i < n; i++) {
        /* Every instance gets its cell, feasible or not, so that a kept index can
         * take it in later (qm_index_repair); only the feasible ones go in now. */
        int64_t key = 0;
        for (int32_t k = 0; k < c->ranked; k++)
            if (c->strategies[k].kind == QM_SPREAD_ATTRIBUTE)
                key = key * c->strategies[k].n_buckets + c->strategies[k].bucket[i];
        if (dense[key] < 0)
            dense[key] = (int32_t)n_cells++;
        cell_of[i] = dense[key];
    }
    free(dense);
    return n_cells;
}

int qm_index_suits(const qm_ctx *c)
{
    return !c->has_random && c->ranked > 0 && c->in->n <= INT32_MAX;
}

int qm_index_build(qm_index *x, const qm_ctx *c, const uint8_t *stage)
{
    int64_t n = c->in->n;
    x->built = 0;
    if (!qm_index_suits(c) || x->capacity != n || !x->heap || !x->slot || !x->cell_of || !x->start
        || !x->size || !x->top_ok)
        return 0;
    x->n_cells = assign_cells(c, stage, x->cell_of);
    if (x->n_cells < 0)
        return 0;
    memset(x->start, 0, sizeof(int64_t) * (size_t)(x->n_cells + 1));
    memset(x->size, 0, sizeof(int64_t) * (size_t)(x->n_cells + 1));
    memset(x->top_ok, 0, (size_t)(x->n_cells + 1));
    x->only_improves = only_improves(c);
    for (int64_t i = 0; i < n; i++)
        x->start[x->cell_of[i] + 1]++;
    for (int64_t cell = 0; cell < x->n_cells; cell++)
        x->start[cell + 1] += x->start[cell];
    for (int64_t i = 0; i < n; i++) {
        x->slot[i] = -1;
        int32_t cell = x->cell_of[i];
        if (stage[i] == QM_STAGE_FEASIBLE)
            put(x, x->start[cell] + x->size[cell]++, (int32_t)i);
    }
    for (int64_t cell = 0; cell < x->n_cells; cell++)
        for (int64_t k = x->size[cell] / 2 - 1; k >= 0; k--)
            sift_down(x, c, x->start[cell], x->size[cell], k);
    x->built = 1;
    return 1;
}

/* -1, 0, 1 as the full chain key of a compares with b's. */
static int compare_full(const qm_ctx *c, int64_t a, int64_t b)
{
    for (int32_t k = 0; k < c->ranked; k++) {
        int64_t va = qm_strategy_value(&c->strategies[k], c->in, a);
        int64_t vb = qm_strategy_value(&c->strategies[k], c->in, b);
        if (va != vb)
            return va < vb ? -1 : 1;
    }
    if (c->in->tie_key[a] == c->in->tie_key[b])
        return 0;
    return c->in->tie_key[a] < c->in->tie_key[b] ? -1 : 1;
}

int64_t qm_index_choose(qm_index *x, const qm_ctx *c)
{
    int64_t winner = -1;
    for (int64_t cell = 0; cell < x->n_cells; cell++) {
        if (!x->top_ok[cell]) {
            while (x->size[cell] > 0) {
                int32_t top = x->heap[x->start[cell]];
                if (top < 0 || top >= c->in->n) { /* not an index the core built: drop it */
                    x->built = 0;
                    return -1;
                }
                if (qm_stage_of(c, top) == QM_STAGE_FEASIBLE)
                    break;
                pop_top(x, c, cell);
            }
            x->top_ok[cell] = 1;
        }
        if (x->size[cell] == 0)
            continue;
        int64_t top = x->heap[x->start[cell]];
        if (winner < 0 || compare_full(c, top, winner) < 0)
            winner = top;
    }
    return winner;
}

void qm_index_placed(qm_index *x, const qm_ctx *c, int64_t w)
{
    int32_t at = x->slot[w];
    int32_t cell = x->cell_of[w];
    if (at < 0 || cell < 0 || cell >= x->n_cells || at < x->start[cell]
        || at >= x->start[cell] + x->size[cell] || x->heap[at] != w)
        return; /* not indexed (or not as the core left it) */
    int64_t base = x->start[cell];
    x->top_ok[cell] = 0; /* w's feasibility changed; other instances' did not */
    sift_up(x, c, base, at - base);
    if (!x->only_improves)
        sift_down(x, c, base, x->size[cell], x->slot[w] - base);
}

/* Put instance i (back) where its cell's heap wants it. */
static void reinsert(qm_index *x, const qm_ctx *c, int64_t i)
{
    int32_t cell = x->cell_of[i];
    int64_t base = x->start[cell];
    x->top_ok[cell] = 0;
    int64_t at = x->slot[i];
    if (at < 0) {
        at = base + x->size[cell]++;
        put(x, at, (int32_t)i);
    }
    sift_up(x, c, base, at - base);
    sift_down(x, c, base, x->size[cell], x->slot[i] - base);
}

/* Whether a kept index is as qm_index_build left it, as far as repair relies on. */
static int repairable(const qm_index *x, int64_t n)
{
    if (!x->built || x->capacity != n || x->n_cells < 0 || x->n_cells > n)
        return 0;
    if (x->n_cells > 0 && x->start[x->n_cells] != n)
        return 0;
    for (int64_t cell = 0; cell < x->n_cells; cell++)
        if (x->start[cell] < 0 || x->size[cell] < 0 || x->start[cell] + x->size[cell] > x->start[cell + 1])
            return 0;
    return 1;
}

int qm_index_repair(qm_index *x, const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
                    const qm_request *rq, const int64_t *dirty, int64_t n_dirty)
{
    if (!x || !in || !rq || (n_dirty > 0 && !dirty) || (n_strategies > 0 && !strategies))
        return QM_ENULL;
    if (n_dirty < 0 || n_strategies < 0 || n_strategies > QM_MAX_STRATEGIES)
        return QM_EINVAL;
    if (!x->built)
        return QM_OK; /* nothing kept: the next request builds afresh */
    if (!repairable(x, in->n)) {
        x->built = 0;
        return QM_OK;
    }
    for (int64_t k = 0; k < n_dirty; k++)
        if (dirty[k] < 0 || dirty[k] >= in->n || x->cell_of[dirty[k]] < 0 || x->cell_of[dirty[k]] >= x->n_cells)
            return QM_EBOUNDS;
    qm_ctx c = {.in = in, .strategies = strategies, .rq = rq};
    while (c.ranked < n_strategies && strategies[c.ranked].kind != QM_RANDOM)
        c.ranked++;
    for (int64_t k = 0; k < n_dirty; k++)
        reinsert(x, &c, dirty[k]);
    return QM_OK;
}
