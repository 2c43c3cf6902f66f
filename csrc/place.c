/*
 * The per-task placement loop of placement.md sections 3 to 6.
 *
 * For each task: every instance goes through the filter stages (cheap checks
 * first, in the spec's order, stopping at the first failure); the feasible
 * ones are ranked by the strategy chain, lexicographically, and the smallest
 * tie key wins. A `random` strategy ends the chain: the survivors of the
 * strategies before it are ordered by position and the draw j(t, n) picks one.
 * The winner's resources, ports and counters are updated before the next task
 * is placed, so each task sees what the earlier ones changed.
 */
#include <stdlib.h>
#include <string.h>

#include "ports.h"

#define QM_MAX_STRATEGIES 16

/* The first stage instance i fails for this task, or QM_STAGE_FEASIBLE. */
static int stage_of(const qm_instances *in, const qm_request *rq, const qm_ports *ports,
                    int has_ports, int64_t i)
{
    int pre = in->prefilter[i];
    if (pre != QM_STAGE_CPU)
        return pre;
    if (in->cpu_remaining[i] < rq->cpu)
        return QM_STAGE_CPU;
    if (in->memory_remaining[i] < rq->memory)
        return QM_STAGE_MEMORY;
    if (in->gpu_remaining[i] < rq->gpu)
        return QM_STAGE_GPU;
    if (rq->eni > 0 && in->eni_limit[i] >= 0 && in->eni_used[i] + rq->eni > in->eni_limit[i])
        return QM_STAGE_ENI;
    if (has_ports
        && !(qm_fit_ports(ports, i, QM_TCP, rq->static_tcp, rq->n_static_tcp, rq->dynamic_tcp, NULL)
             && qm_fit_ports(ports, i, QM_UDP, rq->static_udp, rq->n_static_udp, rq->dynamic_udp, NULL)))
        return QM_STAGE_PORTS;
    if (!in->member_ok[i])
        return QM_STAGE_MEMBER_OF;
    if (rq->distinct_instance && in->group_count[i] > 0)
        return QM_STAGE_DISTINCT_INSTANCE;
    return QM_STAGE_FEASIBLE;
}

/* The value strategy s ranks instance i by; smaller is better. */
static int64_t strategy_value(const qm_strategy *s, const qm_instances *in, int64_t i)
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

/* -1, 0, 1 as the key of instance i compares with `best` over the ranked strategies. */
static int compare_keys(const qm_strategy *strategies, int32_t ranked, const qm_instances *in,
                        int64_t i, const int64_t *best, int64_t *values)
{
    int order = 0;
    for (int32_t k = 0; k < ranked; k++) {
        values[k] = strategy_value(&strategies[k], in, i);
        if (order == 0 && values[k] != best[k])
            order = values[k] < best[k] ? -1 : 1;
    }
    return order;
}

static uint64_t random_index(uint64_t seed_state, int64_t t, int64_t n)
{
    uint64_t r = qm_splitmix64(seed_state + (uint64_t)t + 1);
    return (uint64_t)(((unsigned __int128)r * (uint64_t)n) >> 64);
}

static void take(const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
                 const qm_request *rq, qm_ports *ports, int64_t w, int32_t *tcp, int32_t *udp)
{
    in->cpu_remaining[w] -= rq->cpu;
    in->memory_remaining[w] -= rq->memory;
    in->gpu_remaining[w] -= rq->gpu;
    in->eni_used[w] += rq->eni;
    in->group_count[w] += 1;
    in->running_tasks[w] += 1;
    for (int32_t k = 0; k < n_strategies; k++)
        if (strategies[k].kind == QM_SPREAD_ATTRIBUTE)
            strategies[k].bucket_count[strategies[k].bucket[w]] += 1;
    int64_t n_tcp = rq->n_static_tcp + rq->dynamic_tcp, n_udp = rq->n_static_udp + rq->dynamic_udp;
    if (n_tcp + n_udp == 0)
        return;
    qm_fit_ports(ports, w, QM_TCP, rq->static_tcp, rq->n_static_tcp, rq->dynamic_tcp, tcp);
    qm_fit_ports(ports, w, QM_UDP, rq->static_udp, rq->n_static_udp, rq->dynamic_udp, udp);
    for (int64_t k = 0; k < n_tcp; k++)
        qm_port_take(ports, w, QM_TCP, tcp[k]);
    for (int64_t k = 0; k < n_udp; k++)
        qm_port_take(ports, w, QM_UDP, udp[k]);
}

/* Record why task t failed: the latest stage reached, the closest match, the counts. */
static void record_failure(const qm_instances *in, const uint8_t *stage, const int64_t *counts,
                           qm_result *out)
{
    int latest = QM_STAGE_NOT_ACTIVE;
    for (int k = QM_STAGE_AGENT; k < QM_STAGE_FEASIBLE; k++)
        if (counts[k] > 0)
            latest = k;
    int64_t closest = -1;
    if (latest != QM_STAGE_NOT_ACTIVE)
        for (int64_t i = 0; i < in->n; i++)
            if (stage[i] == latest && (closest < 0 || in->tie_key[i] < in->tie_key[closest]))
                closest = i;
    out->failed = 1;
    out->fail_stage = latest;
    out->fail_position = closest;
    memcpy(out->fail_counts, counts, sizeof(out->fail_counts));
}

/* Choose the instance for task t, or -1. stage[] receives every instance's stage. */
static int64_t choose(const qm_instances *in, const qm_strategy *strategies, int32_t ranked,
                      int has_random, const qm_request *rq, const qm_ports *ports, int has_ports,
                      int64_t t, uint8_t *stage, int64_t *counts)
{
    int64_t best[QM_MAX_STRATEGIES], values[QM_MAX_STRATEGIES];
    int64_t winner = -1, survivors = 0;
    for (int64_t i = 0; i < in->n; i++) {
        int st = stage_of(in, rq, ports, has_ports, i);
        stage[i] = (uint8_t)st;
        counts[st]++;
        if (st != QM_STAGE_FEASIBLE)
            continue;
        int order = winner < 0 ? -1 : compare_keys(strategies, ranked, in, i, best, values);
        if (winner < 0)
            for (int32_t k = 0; k < ranked; k++)
                values[k] = strategy_value(&strategies[k], in, i);
        if (order < 0) {
            memcpy(best, values, sizeof(int64_t) * (size_t)ranked);
            winner = i;
            survivors = 1;
        } else if (order == 0) {
            survivors++;
            if (in->tie_key[i] < in->tie_key[winner])
                winner = i;
        }
    }
    if (winner < 0 || !has_random)
        return winner;
    /* random: the j-th survivor by position. */
    uint64_t j = random_index(rq->seed_state, t, survivors);
    for (int64_t i = 0; i < in->n; i++) {
        if (stage[i] != QM_STAGE_FEASIBLE
            || compare_keys(strategies, ranked, in, i, best, values) != 0)
            continue;
        if (j == 0)
            return i;
        j--;
    }
    return -1; /* unreachable: survivors were counted above */
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
                      || !in->group_count || !in->running_tasks || !in->tie_key))
        return QM_ENULL;
    if (rq->cpu < 0 || rq->memory < 0 || rq->gpu < 0 || rq->eni < 0 || rq->eni > 1
        || rq->n_static_tcp < 0 || rq->n_static_udp < 0 || rq->dynamic_tcp < 0
        || rq->dynamic_udp < 0 || rq->first_task < 0)
        return QM_EINVAL;
    if ((rq->n_static_tcp && !rq->static_tcp) || (rq->n_static_udp && !rq->static_udp))
        return QM_ENULL;
    for (int64_t k = 0; k < rq->n_static_tcp; k++)
        if (rq->static_tcp[k] < 1 || rq->static_tcp[k] > 65535)
            return QM_EINVAL;
    for (int64_t k = 0; k < rq->n_static_udp; k++)
        if (rq->static_udp[k] < 1 || rq->static_udp[k] > 65535)
            return QM_EINVAL;
    for (int64_t i = 0; i < in->n; i++)
        if (in->prefilter[i] > QM_STAGE_CPU)
            return QM_EINVAL;
    for (int32_t k = 0; k < n_strategies; k++) {
        const qm_strategy *s = &strategies[k];
        if (s->kind < QM_BINPACK_CPU || s->kind > QM_RANDOM)
            return QM_EINVAL;
        if (s->kind != QM_SPREAD_ATTRIBUTE)
            continue;
        if ((in->n > 0 && !s->bucket) || !s->bucket_count || s->n_buckets < 1)
            return QM_ENULL;
        for (int64_t i = 0; i < in->n; i++)
            if (s->bucket[i] < 0 || s->bucket[i] >= s->n_buckets)
                return QM_EBOUNDS;
    }
    int64_t per_task = rq->n_static_tcp + rq->dynamic_tcp + rq->n_static_udp + rq->dynamic_udp;
    if (per_task > 0) {
        int64_t cap = ports->added_capacity;
        if (!ports->added || cap <= 0 || (cap & (cap - 1)) != 0
            || (cap - 2 * ports->n_added) / 2 < per_task * count)
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

int qm_place(const qm_instances *in, const qm_strategy *strategies, int32_t n_strategies,
             const qm_request *rq, qm_ports *ports, int64_t count, int32_t one_at_a_time,
             qm_result *out)
{
    int status = check_arguments(in, strategies, n_strategies, rq, ports, count, out);
    if (status != QM_OK)
        return status;
    out->placed = 0;
    out->failed = 0;
    out->fail_stage = QM_STAGE_NOT_ACTIVE;
    out->fail_position = -1;
    memset(out->fail_counts, 0, sizeof(out->fail_counts));
    if (count == 0)
        return QM_OK;

    int32_t ranked = 0;
    while (ranked < n_strategies && strategies[ranked].kind != QM_RANDOM)
        ranked++;
    int has_random = ranked < n_strategies;
    int64_t n_tcp = rq->n_static_tcp + rq->dynamic_tcp, n_udp = rq->n_static_udp + rq->dynamic_udp;
    int has_ports = n_tcp + n_udp > 0;
    uint8_t *stage = malloc(in->n > 0 ? (size_t)in->n : 1);
    if (!stage)
        return QM_ECAPACITY;

    for (int64_t done = 0; done < count; done++) {
        int64_t counts[QM_N_STAGES] = {0};
        int64_t t = rq->first_task + done;
        int64_t w = choose(in, strategies, ranked, has_random, rq, ports, has_ports, t, stage, counts);
        for (int k = 0; k < QM_STAGE_FEASIBLE; k++)
            out->removed[k] += counts[k];
        if (w < 0) {
            record_failure(in, stage, counts, out);
            break;
        }
        out->position[done] = w;
        take(in, strategies, ranked, rq, ports, w,
             has_ports ? out->ports_tcp + done * n_tcp : NULL,
             has_ports ? out->ports_udp + done * n_udp : NULL);
        out->placed = done + 1;
        if (one_at_a_time)
            break;
    }
    free(stage);
    return QM_OK;
}
