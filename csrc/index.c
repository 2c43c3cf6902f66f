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

/* Whether instance a ranks before b inside a cell by the per-instance strategies
 * (spread(attribute) values are equal there). The heaps use this order only, not the
 * tie key, so they stay valid under any seed; ties are settled per request by the
 * cells' prefix lists below. */
static inline __attribute__((always_inline)) int before(const qm_ctx *c, int64_t a, int64_t b)
{
    for (int32_t k = 0; k < c->ranked; k++) {
        const qm_strategy *s = &c->strategies[k];
        if (s->kind == QM_SPREAD_ATTRIBUTE)
            continue;
        int64_t va = qm_strategy_value(s, c->in, a), vb = qm_strategy_value(s, c->in, b);
        if (va != vb)
            return va < vb;
    }
    return 0;
}

/* -1, 0, 1 as a's per-instance strategy values compare with b's. */
static int compare_values(const qm_ctx *c, int64_t a, int64_t b)
{
    return before(c, a, b) ? -1 : before(c, b, a) ? 1 : 0;
}

/* The order inside a cell: strategy values, then the tie key (a total order). */
static int cell_before(const qm_ctx *c, int64_t a, int64_t b)
{
    int order = compare_values(c, a, b);
    return order != 0 ? order < 0 : qm_tie(c, a) < qm_tie(c, b);
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
    uint64_t ta = qm_tie(c, a), tb = qm_tie(c, b);
    return ta == tb ? 0 : ta < tb ? -1 : 1;
}

/*
 * Prefix lists. Within one request only the instance that took the last task
 * changes (monotone feasibility; the other instances' values stay), so a cell's
 * first few feasible instances in (values, tie key) order stay its first few
 * once the winner is taken out, and the winner goes back in if its new place is
 * still inside the list. A list is (re)made from the heap when it runs empty:
 * the feasible instances whose values equal the (feasible) top's form the
 * subtree of equal values under the root, and its `k` smallest tie keys are
 * the cell's first `k` instances. A new seed then costs one such walk per cell
 * and request, not a rebuilt index.
 */
#define QM_PREFIX_CELLS_TIMES_K (1 << 20)
#define QM_PREFIX_MAX_K 4096

struct qm_prefix {
    int64_t k, n_cells;
    int64_t *begin, *end;  /* cell c's list: items[c * k + begin[c] .. c * k + end[c]) */
    int32_t *items;
    int32_t *stack;        /* heap indexes still to visit in a walk */
    int32_t *chosen;       /* a walk's best k as a max-heap by tie key */
    uint64_t *chosen_tie;  /* their tie keys */
};

qm_prefix *qm_prefix_new(const qm_index_state *x, int64_t count)
{
    int64_t n_cells = x->n_cells > 0 ? x->n_cells : 1;
    int64_t k = count < 1 ? 1 : count;
    if (k > QM_PREFIX_MAX_K)
        k = QM_PREFIX_MAX_K;
    if (k * n_cells > QM_PREFIX_CELLS_TIMES_K)
        k = QM_PREFIX_CELLS_TIMES_K / n_cells > 0 ? QM_PREFIX_CELLS_TIMES_K / n_cells : 1;
    qm_prefix *p = calloc(1, sizeof(qm_prefix));
    if (!p)
        return NULL;
    p->k = k;
    p->n_cells = n_cells;
    p->begin = calloc((size_t)n_cells, sizeof(int64_t));
    p->end = calloc((size_t)n_cells, sizeof(int64_t));
    p->items = malloc(sizeof(int32_t) * (size_t)(n_cells * k));
    p->stack = malloc(sizeof(int32_t) * (size_t)(x->capacity > 0 ? x->capacity : 1));
    p->chosen = malloc(sizeof(int32_t) * (size_t)k);
    p->chosen_tie = malloc(sizeof(uint64_t) * (size_t)k);
    if (!p->begin || !p->end || !p->items || !p->stack || !p->chosen || !p->chosen_tie) {
        qm_prefix_free(p);
        return NULL;
    }
    return p;
}

void qm_prefix_free(qm_prefix *p)
{
    if (!p)
        return;
    free(p->begin);
    free(p->end);
    free(p->items);
    free(p->stack);
    free(p->chosen);
    free(p->chosen_tie);
    free(p);
}

/* Restore the max-heap (by tie key) of chosen[0 .. size) below position k; tie[] holds
 * the chosen instances' tie keys beside them. */
static void chosen_sift_down(int32_t *chosen, uint64_t *tie, int64_t size, int64_t k)
{
    int32_t item = chosen[k];
    uint64_t key = tie[k];
    for (;;) {
        int64_t child = 2 * k + 1;
        if (child >= size)
            break;
        if (child + 1 < size && tie[child + 1] > tie[child])
            child++;
        if (tie[child] <= key)
            break;
        chosen[k] = chosen[child];
        tie[k] = tie[child];
        k = child;
    }
    chosen[k] = item;
    tie[k] = key;
}

static void chosen_sift_up(int32_t *chosen, uint64_t *tie, int64_t k)
{
    int32_t item = chosen[k];
    uint64_t key = tie[k];
    while (k > 0 && tie[(k - 1) / 2] < key) {
        chosen[k] = chosen[(k - 1) / 2];
        tie[k] = tie[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    chosen[k] = item;
    tie[k] = key;
}

/* Drop the cell's infeasible tops (for good: monotone feasibility). */
static void clean_top(qm_index *x, const qm_ctx *c, int64_t cell)
{
    if (x->top_ok[cell])
        return;
    while (x->size[cell] > 0 && qm_stage_of(c, x->heap[x->start[cell]]) != QM_STAGE_FEASIBLE)
        pop_top(x, c, cell);
    x->top_ok[cell] = 1;
}

/* Make cell's list from its heap: the feasible instances with the top's values, the k
 * smallest tie keys first. Feasibility is tested only for those that would enter. */
static void make_list(qm_index *x, const qm_ctx *c, qm_prefix *p, int64_t cell)
{
    clean_top(x, c, cell);
    p->begin[cell] = p->end[cell] = 0;
    int64_t base = x->start[cell], size = x->size[cell];
    if (size == 0)
        return;
    int32_t top = x->heap[base];
    int64_t n_stack = 0, n_chosen = 0;
    /* Most of a large heap tying with its top (spread(instanceId) of a small group): one
     * sequential pass reads it faster than the walk; either finds the same instances. */
    int linear = size > 64 && (!before(c, top, x->heap[base + size - 1])
                               || !before(c, top, x->heap[base + size / 2])
                               || !before(c, top, x->heap[base + size / 4 * 3]));
    if (!linear)
        p->stack[n_stack++] = 0;
    for (int64_t step = 0; linear ? step < size : n_stack > 0; step++) {
        int64_t at = linear ? step : p->stack[--n_stack];
        int32_t i = x->heap[base + at];
        if (at != 0 && before(c, top, i))
            continue; /* worse values: neither it nor anything below it ties with the top */
        uint64_t tie = qm_tie(c, i);
        if ((n_chosen < p->k || tie < p->chosen_tie[0])
            && (at == 0 || qm_stage_of(c, i) == QM_STAGE_FEASIBLE)) {
            if (n_chosen < p->k) {
                p->chosen[n_chosen] = i;
                p->chosen_tie[n_chosen] = tie;
                chosen_sift_up(p->chosen, p->chosen_tie, n_chosen++);
            } else {
                p->chosen[0] = i;
                p->chosen_tie[0] = tie;
                chosen_sift_down(p->chosen, p->chosen_tie, n_chosen, 0);
            }
        }
        if (!linear)
            for (int64_t child = 2 * at + 1; child <= 2 * at + 2 && child < size; child++)
                p->stack[n_stack++] = (int32_t)child;
    }
    int32_t *list = p->items + cell * p->k;
    for (int64_t m = n_chosen; m > 0; m--) { /* largest first out of the max-heap */
        list[m - 1] = p->chosen[0];
        p->chosen[0] = p->chosen[m - 1];
        p->chosen_tie[0] = p->chosen_tie[m - 1];
        chosen_sift_down(p->chosen, p->chosen_tie, m - 1, 0);
    }
    p->end[cell] = n_chosen;
}

int64_t qm_index_choose(qm_index *x, const qm_ctx *c, qm_prefix *p)
{
    int64_t winner = -1;
    for (int64_t cell = 0; cell < x->n_cells; cell++) {
        if (p->begin[cell] == p->end[cell])
            make_list(x, c, p, cell);
        if (p->begin[cell] == p->end[cell])
            continue;
        int64_t best = p->items[cell * p->k + p->begin[cell]];
        if (winner < 0 || compare_full(c, best, winner) < 0)
            winner = best;
    }
    return winner;
}

/* The winner w took a task: out of its cell's list, and back in if its new place is
 * still inside it (the slot it left at the front makes room). */
static void prefix_placed(const qm_index *x, const qm_ctx *c, qm_prefix *p, int64_t cell, int64_t w)
{
    int32_t *list = p->items + cell * p->k;
    int64_t b = p->begin[cell], e = p->end[cell];
    if (b == e || list[b] != w) {  /* placed by another path: the list is made afresh */
        p->begin[cell] = p->end[cell] = 0;
        return;
    }
    int feasible = qm_stage_of(c, w) == QM_STAGE_FEASIBLE;
    if (feasible && x->only_improves)
        return; /* its values only fell: still the cell's first */
    b++;
    if (b < e && feasible && cell_before(c, w, list[e - 1])) {
        int64_t at = b;
        while (at < e && cell_before(c, list[at], w))
            at++;
        memmove(list + b - 1, list + b, sizeof(int32_t) * (size_t)(at - b));
        list[at - 1] = (int32_t)w;
        b--;
    }
    if (b == e)
        b = e = 0;
    p->begin[cell] = b;
    p->end[cell] = e;
}

void qm_index_placed(qm_index *x, const qm_ctx *c, qm_prefix *p, int64_t w)
{
    int32_t at = x->slot[w];
    int32_t cell = x->cell_of[w];
    if (cell >= 0 && cell < x->n_cells && p)
        prefix_placed(x, c, p, cell, w);
    if (at < 0 || cell < 0 || cell >= x->n_cells || at < x->start[cell]
        || at >= x->start[cell] + x->size[cell] || x->heap[at] != w)
        return; /* not indexed (or not as the core left it) */
    int64_t base = x->start[cell];
    x->top_ok[cell] = 0; /* w's feasibility changed; other instances' did not */
    sift_up(x, c, base, at - base);
    if (!x->only_improves)
        sift_down(x, c, base, x->size[cell], x->slot[w] - base);
}

/* Put the instances `dirty` (whose values changed, several at once) back in order. Absent
 * ones are appended to their cell's heap; then every heap slot on a path from a dirty one
 * up to its cell's root is sifted down, deepest first: a heapify restricted to those
 * paths, exact because the subtrees off them hold no changed value and are heaps already.
 * (Sifting each changed instance on its own is not enough when its parent changed too.)
 * Returns 0 when short of memory. */
static int reinsert_all(qm_index *x, const qm_ctx *c, const int64_t *dirty, int64_t n_dirty)
{
    int64_t n = c->in->n;
    uint8_t *marked = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!marked)
        return 0;
    int64_t deepest = -1;
    for (int64_t k = 0; k < n_dirty; k++) {
        int64_t i = dirty[k];
        int32_t cell = x->cell_of[i];
        int64_t base = x->start[cell];
        x->top_ok[cell] = 0;
        if (x->slot[i] < 0)
            put(x, base + x->size[cell]++, (int32_t)i);
        for (int64_t at = x->slot[i] - base; !marked[base + at]; at = (at - 1) / 2) {
            marked[base + at] = 1; /* its ancestors get marked too (or already are) */
            if (base + at > deepest)
                deepest = base + at;
            if (at == 0)
                break;
        }
    }
    for (int64_t k = deepest; k >= 0; k--) {
        if (!marked[k])
            continue;
        int32_t cell = x->cell_of[x->heap[k]];
        sift_down(x, c, x->start[cell], x->size[cell], k - x->start[cell]);
    }
    free(marked);
    return 1;
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
    if (!reinsert_all(x, &c, dirty, n_dirty))
        x->built = 0; /* short of memory: the next request builds afresh */
    return QM_OK;
}
