/*
 * The order-statistic path for chains that start with `random`.
 *
 * With random first, the survivors are all feasible instances, sorted by
 * position, and task t goes to the one at index j(t, n) (the scan's rule, see
 * scan.c). Positions are cut into blocks of QM_RANDOM_BLOCK; each block keeps
 * its feasible positions in order in a dense run, and a Fenwick tree over the
 * blocks holds their counts. The total is n; a descent of log2(blocks) steps
 * finds the block holding the j-th feasible position, and one load inside the
 * block gives it: O(log n) per task instead of a pass over every instance.
 * (The descent is a chain of dependent loads that nothing can predict, the
 * draws being random; blocks make it short. Removing an instance shifts the
 * rest of its block, at most QM_RANDOM_BLOCK moves, and happens at most once
 * per instance and request.)
 *
 * Why it is exact: within one request feasibility is monotone (resources only
 * shrink, ports and group members are only added) and a placement changes
 * only the instance it lands on, so after each placement the winner is the
 * one instance whose feasibility may have changed. It is re-tested and, if it
 * no longer fits, removed. When the set is empty the caller scans, which
 * finds no instance either and reports the failure exactly as the plain path.
 *
 * The set does not depend on the seed, so a caller that passes a kept index
 * keeps it there between requests (qm_index_state.random): the next request
 * of the same kind draws from it without a scan, once qm_random_repair has
 * re-tested the positions that changed in between (see there).
 */
#include <stdlib.h>
#include <string.h>

#include "placement.h"

#define QM_RANDOM_BLOCK 256

struct qm_random {
    int64_t n;
    int64_t total;      /* feasible instances */
    int64_t n_blocks;   /* ceil(n / QM_RANDOM_BLOCK) */
    int64_t top;        /* the highest power of two <= n_blocks: where the descent starts */
    /* tree[1..n_blocks]: the Fenwick sums of the blocks' counts; tree[n_blocks+1..2*top) hold
     * INT32_MAX so that the descent never steps past the end without a bounds test (it stays
     * branch-free). */
    int32_t *tree;
    int32_t *count;     /* count[b]: feasible positions in block b */
    int32_t *members;   /* members[b * QM_RANDOM_BLOCK + k]: block b's k-th feasible position */
    uint8_t *in_set;    /* in_set[i]: position i is in the set (a repair tests it in one load) */
};

int qm_random_suits(const qm_ctx *c)
{
    /* random first ends the chain: no strategy ranks before the draw. */
    return c->has_random && c->ranked == 0 && c->in->n > 0 && c->in->n <= INT32_MAX;
}

static void fill(qm_random *r, const uint8_t *stage)
{
    for (int64_t i = 0; i < r->n; i++) {
        int64_t b = i / QM_RANDOM_BLOCK;
        r->in_set[i] = stage[i] == QM_STAGE_FEASIBLE;
        if (r->in_set[i])
            r->members[b * QM_RANDOM_BLOCK + r->count[b]++] = (int32_t)i;
    }
    for (int64_t b = 1; b <= r->n_blocks; b++) {
        r->total += r->count[b - 1];
        r->tree[b] += r->count[b - 1];
        int64_t parent = b + (b & -b); /* linear-time build: push each sum to its parent */
        if (parent <= r->n_blocks)
            r->tree[parent] += r->tree[b];
    }
    for (int64_t b = r->n_blocks + 1; b < 2 * r->top; b++)
        r->tree[b] = INT32_MAX;
}

qm_random *qm_random_build(const qm_ctx *c, const uint8_t *stage)
{
    if (!qm_random_suits(c))
        return NULL;
    int64_t n_blocks = (c->in->n + QM_RANDOM_BLOCK - 1) / QM_RANDOM_BLOCK, top = 1;
    while (top * 2 <= n_blocks)
        top *= 2;
    qm_random *r = calloc(1, sizeof(*r));
    int32_t *tree = calloc((size_t)(2 * top), sizeof(int32_t));
    int32_t *count = calloc((size_t)n_blocks, sizeof(int32_t));
    int32_t *members = malloc((size_t)n_blocks * QM_RANDOM_BLOCK * sizeof(int32_t));
    uint8_t *in_set = malloc((size_t)c->in->n);
    if (!r || !tree || !count || !members || !in_set) { /* short of memory: the caller scans */
        free(r);
        free(tree);
        free(count);
        free(members);
        free(in_set);
        return NULL;
    }
    *r = (qm_random){.n = c->in->n, .n_blocks = n_blocks, .top = top, .tree = tree, .count = count,
                     .members = members, .in_set = in_set};
    fill(r, stage);
    return r;
}

/* The position of the k-th (0-based) feasible instance; k < total. */
static int64_t kth_feasible(const qm_random *r, int64_t k)
{
    int64_t at = 0; /* the largest prefix of blocks [1, at] holding at most k feasible instances */
    for (int64_t step = r->top; step > 0; step >>= 1) {
        int64_t next = at + step, below = r->tree[next]; /* next < 2 * top: inside the tree */
        int64_t take = -(int64_t)(below <= k);           /* all ones or zero: a select, not a jump */
        at += step & take;
        k -= below & take;
    }
    return r->members[at * QM_RANDOM_BLOCK + k]; /* tree index at + 1 is block at */
}

int64_t qm_random_choose(const qm_random *r, const qm_ctx *c, int64_t t)
{
    if (r->total == 0)
        return -1;
    return kth_feasible(r, (int64_t)qm_random_index(c->rq->seed_state, t, r->total));
}

int qm_random_matches(const qm_random *r, const qm_ctx *c)
{
    return r->n == c->in->n;
}

/* Take position w out of the feasible set (nothing if it is not in). */
static void remove_position(qm_random *r, int64_t w)
{
    if (!r->in_set[w])
        return;
    r->in_set[w] = 0;
    int64_t b = w / QM_RANDOM_BLOCK;
    int32_t *run = r->members + b * QM_RANDOM_BLOCK;
    int32_t k = 0;
    while (k < r->count[b] && run[k] != w)
        k++;
    memmove(run + k, run + k + 1, sizeof(int32_t) * (size_t)(r->count[b] - k - 1));
    r->count[b]--;
    for (int64_t i = b + 1; i <= r->n_blocks; i += i & -i)
        r->tree[i] -= 1;
    r->total--;
}

/* Put position w into the feasible set, in position order within its block (nothing if
 * it is in already). */
static void insert_position(qm_random *r, int64_t w)
{
    if (r->in_set[w])
        return;
    r->in_set[w] = 1;
    int64_t b = w / QM_RANDOM_BLOCK;
    int32_t *run = r->members + b * QM_RANDOM_BLOCK;
    int32_t k = 0;
    while (k < r->count[b] && run[k] < w)
        k++;
    memmove(run + k + 1, run + k, sizeof(int32_t) * (size_t)(r->count[b] - k));
    run[k] = (int32_t)w;
    r->count[b]++;
    for (int64_t i = b + 1; i <= r->n_blocks; i += i & -i)
        r->tree[i] += 1;
    r->total++;
}

void qm_random_placed(qm_random *r, const qm_ctx *c, int64_t w)
{
    if (w < 0 || w >= r->n || qm_stage_of(c, w) == QM_STAGE_FEASIBLE)
        return;
    remove_position(r, w);
}

/* Why a kept draw stays exact: at the end of a request its set is the feasible set (see
 * the top of this file), and between requests an instance's feasibility for this request
 * changes only where the cluster logged a change (its tasks, ports, status, attributes) or
 * where the caller's memberOf verdict moved; the caller names all of those positions here
 * and each is re-tested. */
int qm_random_repair(qm_index_state *x, const qm_instances *in, const qm_strategy *strategies,
                     int32_t n_strategies, const qm_request *rq, qm_ports *ports,
                     const int64_t *positions, int64_t n_positions)
{
    if (!x || !in || !rq || !ports || (n_positions > 0 && !positions) || (n_strategies > 0 && !strategies))
        return QM_ENULL;
    if (n_positions < 0 || n_strategies < 0 || n_strategies > QM_MAX_STRATEGIES)
        return QM_EINVAL;
    if (!x->random)
        return QM_OK;
    for (int64_t k = 0; k < n_positions; k++)
        if (positions[k] < 0 || positions[k] >= in->n)
            return QM_EBOUNDS;
    qm_random *r = x->random;
    qm_ctx c;
    qm_ctx_begin(&c, in, strategies, n_strategies, rq, ports);
    if (!qm_random_suits(&c) || !qm_random_matches(r, &c)) { /* not this fleet's: built afresh */
        qm_random_free(r);
        x->random = NULL;
    } else {
        for (int64_t k = 0; k < n_positions; k++) {
            if (qm_stage_of(&c, positions[k]) == QM_STAGE_FEASIBLE)
                insert_position(r, positions[k]);
            else
                remove_position(r, positions[k]);
        }
    }
    qm_ctx_end(&c);
    return QM_OK;
}

void qm_index_release(qm_index_state *x)
{
    if (!x)
        return;
    qm_random_free(x->random);
    x->random = NULL;
}

void qm_random_free(qm_random *r)
{
    if (!r)
        return;
    free(r->tree);
    free(r->count);
    free(r->members);
    free(r->in_set);
    free(r);
}
