/*
 * Taking and releasing: the only code that changes what instances hold.
 *
 * qm_take gives an instance one task (called by qm_place for each task it
 * places); qm_release gives back what tasks hold when they stop, either at
 * once or in two steps (qm_release_resources at STOPPING, qm_release_slot
 * at STOPPED). They are
 * each other's mirror, field for field: resources, ENIs, the group's and the
 * instance's task counts, host ports and the dynamic-range port counts. The
 * spread(attribute) bucket counts belong to a request (they are per group)
 * and are repaired by the kept plan that owns them.
 */
#include "placement.h"

void qm_take(const qm_ctx *c, int64_t w, int32_t *tcp, int32_t *udp)
{
    const qm_instances *in = c->in;
    const qm_request *rq = c->rq;
    in->cpu_remaining[w] -= rq->cpu;
    in->memory_remaining[w] -= rq->memory;
    in->gpu_remaining[w] -= rq->gpu;
    in->eni_used[w] += rq->eni;
    in->group_count[w] += 1;
    in->running_tasks[w] += 1;
    for (int32_t k = 0; k < c->ranked; k++)
        if (c->strategies[k].kind == QM_SPREAD_ATTRIBUTE)
            c->strategies[k].bucket_count[c->strategies[k].bucket[w]] += 1;
    if (!c->has_ports)
        return;
    qm_fit_ports(c->ports, w, QM_TCP, rq->static_tcp, rq->n_static_tcp, rq->dynamic_tcp, tcp);
    qm_fit_ports(c->ports, w, QM_UDP, rq->static_udp, rq->n_static_udp, rq->dynamic_udp, udp);
    for (int64_t k = 0; k < c->n_tcp; k++)
        if (qm_port_take(c->ports, w, QM_TCP, tcp[k]) && c->dynamic_used && tcp[k] >= QM_DYNAMIC_PORT_FIRST)
            c->dynamic_used[w]++;
    for (int64_t k = 0; k < c->n_udp; k++)
        if (qm_port_take(c->ports, w, QM_UDP, udp[k]) && c->dynamic_used && udp[k] >= QM_DYNAMIC_PORT_FIRST)
            c->dynamic_used[c->in->n + w]++;
}

static int ports_are_held(const qm_ports *ports, int64_t position, int protocol, const int64_t *offsets,
                          const int32_t *flat, int64_t row)
{
    for (int64_t k = offsets[row]; k < offsets[row + 1]; k++)
        if (flat[k] < 1 || flat[k] > QM_MAX_PORT || !qm_port_held(ports, position, protocol, flat[k]))
            return 0;
    return 1;
}

static int check_tasks(const qm_instances *in, const qm_tasks *t)
{
    if (t->n < 0)
        return QM_EINVAL;
    if (t->n > 0 && (!t->position || !t->tcp_offsets || !t->udp_offsets))
        return QM_ENULL;
    for (int64_t r = 0; r < t->n; r++)
        if (t->position[r] < 0 || t->position[r] >= in->n)
            return QM_EBOUNDS;
    return QM_OK;
}

/* Whether every task's resources can be given back: nothing below is allowed to fail. */
static int check_resources(const qm_instances *in, const qm_tasks *t)
{
    int status = check_tasks(in, t);
    if (status != QM_OK)
        return status;
    if (t->n > 0 && (!t->cpu || !t->memory || !t->gpu || !t->eni || !in->cpu_remaining
                     || !in->memory_remaining || !in->gpu_remaining || !in->eni_used))
        return QM_ENULL;
    for (int64_t r = 0; r < t->n; r++) {
        int64_t p = t->position[r];
        if (t->cpu[r] < 0 || t->memory[r] < 0 || t->gpu[r] < 0 || t->eni[r] < 0
            || in->cpu_remaining[p] > INT64_MAX - t->cpu[r] || in->memory_remaining[p] > INT64_MAX - t->memory[r]
            || in->gpu_remaining[p] > INT64_MAX - t->gpu[r] || in->eni_used[p] < t->eni[r])
            return QM_EINVAL;
    }
    return QM_OK;
}

/* Whether every task's counts and host ports can be given back. */
static int check_slot(const qm_instances *in, const qm_ports *ports, const qm_tasks *t)
{
    int status = check_tasks(in, t);
    if (status != QM_OK)
        return status;
    if (t->n > 0 && (!in->group_count || !in->running_tasks))
        return QM_ENULL;
    for (int64_t r = 0; r < t->n; r++) {
        int64_t p = t->position[r];
        if (in->group_count[p] < 1 || in->running_tasks[p] < 1)
            return QM_EINVAL;
        int has_ports = t->tcp_offsets[r + 1] > t->tcp_offsets[r] || t->udp_offsets[r + 1] > t->udp_offsets[r];
        if (has_ports && (!ports || ((t->tcp_offsets[r + 1] > t->tcp_offsets[r]) && !t->tcp_ports)
                          || ((t->udp_offsets[r + 1] > t->udp_offsets[r]) && !t->udp_ports)))
            return QM_ENULL;
        if (has_ports && (!ports_are_held(ports, p, QM_TCP, t->tcp_offsets, t->tcp_ports, r)
                          || !ports_are_held(ports, p, QM_UDP, t->udp_offsets, t->udp_ports, r)))
            return QM_EINVAL;
    }
    return QM_OK;
}

static void release_ports(qm_ports *ports, int64_t n, int64_t p, int protocol, const int64_t *offsets,
                          const int32_t *flat, int64_t row)
{
    for (int64_t k = offsets[row]; k < offsets[row + 1]; k++)
        if (qm_port_release(ports, p, protocol, flat[k]) && ports->dynamic_used && flat[k] >= QM_DYNAMIC_PORT_FIRST)
            ports->dynamic_used[protocol * n + p]--;
}

static void give_back_resources(const qm_instances *in, const qm_tasks *t)
{
    for (int64_t r = 0; r < t->n; r++) {
        int64_t p = t->position[r];
        in->cpu_remaining[p] += t->cpu[r];
        in->memory_remaining[p] += t->memory[r];
        in->gpu_remaining[p] += t->gpu[r];
        in->eni_used[p] -= t->eni[r];
    }
}

static void give_back_slot(const qm_instances *in, qm_ports *ports, const qm_tasks *t)
{
    for (int64_t r = 0; r < t->n; r++) {
        int64_t p = t->position[r];
        in->group_count[p] -= 1;
        in->running_tasks[p] -= 1;
        if (ports) {
            release_ports(ports, in->n, p, QM_TCP, t->tcp_offsets, t->tcp_ports, r);
            release_ports(ports, in->n, p, QM_UDP, t->udp_offsets, t->udp_ports, r);
        }
    }
}

int qm_release_resources(const qm_instances *in, const qm_tasks *t)
{
    if (!in || !t)
        return QM_ENULL;
    int status = check_resources(in, t);
    if (status != QM_OK)
        return status;
    give_back_resources(in, t);
    return QM_OK;
}

int qm_release_slot(const qm_instances *in, qm_ports *ports, const qm_tasks *t)
{
    if (!in || !t)
        return QM_ENULL;
    int status = check_slot(in, ports, t);
    if (status != QM_OK)
        return status;
    give_back_slot(in, ports, t);
    return QM_OK;
}

int qm_release(const qm_instances *in, qm_ports *ports, const qm_tasks *t)
{
    if (!in || !t)
        return QM_ENULL;
    int status = check_resources(in, t);
    if (status == QM_OK)
        status = check_slot(in, ports, t);
    if (status != QM_OK)
        return status;   /* both halves checked before either changes anything */
    give_back_resources(in, t);
    give_back_slot(in, ports, t);
    return QM_OK;
}
