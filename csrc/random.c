/*
 * The order-statistic path for chains that start with `random`.
 *
 * With random first, the survivors are all feasible instances, sorted by
 * position, and task t goes to the one at index j(t, n) (the scan's rule, see
 * scan.c). A Fenwick tree over instance positions, holding 1 for each feasible
 * instance, gives n as its total and the j-th feasible position by a descent
 * of log2(n) steps, instead of a pass over every instance per task.
 *
 * Why it is exact: within one request feasibility is monotone (resources only
 * shrink, ports and group members are only added) and a placement changes
 * only the instance it lands on, so after each placement the winner is the
 * one instance whose feasibility may have changed. It is re-tested and, if it
 * no longer fits, removed. When the set is empty the caller scans, which
 * finds no instance either and reports the failure exactly as the plain path.
 */
#include <stdlib.h>

#include "placement.h"

struct qm_random {
    int64_t n;
    int64_t total;     /* feasible instances */
    int64_t top;       /* the highest power of two <= n: where the descent starts */
    /* tree[1..n]: the Fenwick sums of the feasible flags; tree[n+1..2*top) hold INT32_MAX
     * so that the descent never steps past n without a bounds test (it stays branch-free). */
    int32_t *tree;
    uint8_t *in_set;   /* in_set[p]: position p is counted in the tree */
};

int qm_random_suits(const qm_ctx *c)
{
    /* random first ends the chain: no strategy ranks before the draw. */
    return c->has_random && c->ranked == 0 && c->in->n > 0 && c->in->n <= INT32_MAX;
}

qm_random *qm_random_build(const qm_ctx *c, const uint8_t *stage)
{
    if (!qm_random_suits(c))
        return NULL;
    int64_t n = c->in->n, top = 1;
    while (top * 2 <= n)
        top *= 2;
    qm_random *r = malloc(sizeof(*r));
    int32_t *tree = calloc((size_t)(2 * top), sizeof(int32_t));
    uint8_t *in_set = malloc((size_t)n);
    if (!r || !tree || !in_set) { /* short of memory: the caller scans */
        free(r);
        free(tree);
        free(in_set);
        return NULL;
    }
    r->n = n;
    r->tree = tree;
    r->in_set = in_set;
    r->total = 0;
    for (int64_t i = 1; i <= n; i++) {
        int32_t feasible = stage[i - 1] == QM_STAGE_FEASIBLE;
        in_set[i - 1] = (uint8_t)feasible;
        tree[i] += feasible;
        r->total += feasible;
        int64_t parent = i + (i & -i); /* linear-time build: push each sum to its parent */
        if (parent <= n)
            tree[parent] += tree[i];
    }
    for (int64_t i = n + 1; i < 2 * top; i++)
        tree[i] = INT32_MAX;
    r->top = top;
    return r;
}

/* The position of the k-th (0-based) feasible instance; k < total. */
static int64_t kth_feasible(const qm_random *r, int64_t k)
{
    int64_t at = 0; /* the largest prefix [1, at] holding at most k feasible instances */
    for (int64_t step = r->top; step > 0; step >>= 1) {
        int64_t next = at + step, below = r->tree[next]; /* next < 2 * top: inside the tree */
        int64_t take = -(int64_t)(below <= k);        /* all ones or zero: a select, not a jump */
        at += step & take;                            /* (the draws are random: nothing predicts them) */
        k -= below & take;
    }
    return at; /* tree index at + 1 is position at */
}

int64_t qm_random_choose(const qm_random *r, const qm_ctx *c, int64_t t)
{
    if (r->total == 0)
        return -1;
    return kth_feasible(r, (int64_t)qm_random_index(c->rq->seed_state, t, r->total));
}

void qm_random_placed(qm_random *r, const qm_ctx *c, int64_t w)
{
    if (w < 0 || w >= r->n || !r->in_set[w] || qm_stage_of(c, w) == QM_STAGE_FEASIBLE)
        return;
    r->in_set[w] = 0;
    for (int64_t i = w + 1; i <= r->n; i += i & -i)
        r->tree[i] -= 1;
    r->total--;
}

void qm_random_free(qm_random *r)
{
    if (!r)
        return;
    free(r->tree);
    free(r->in_set);
    free(r);
}
