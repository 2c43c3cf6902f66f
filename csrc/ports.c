/* Host ports in use: a sorted array of the ports at the start of the request,
 * plus an open-addressing set of the ports the request has taken since. */
#include "ports.h"

static int64_t port_key(int64_t position, int protocol, int64_t port)
{
    return (position << 17) | ((int64_t)protocol << 16) | port;
}

static int base_has(const qm_ports *ports, int64_t key)
{
    int64_t lo = 0, hi = ports->n_base;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ports->base[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ports->n_base && ports->base[lo] == key;
}

/* The slot of the added set that holds key, or the empty slot where it would go
 * (linear probing; the set is never full: its capacity is at least twice what a
 * call can add). */
static uint64_t added_slot(const qm_ports *ports, int64_t key)
{
    uint64_t mask = (uint64_t)ports->added_capacity - 1;
    uint64_t slot = qm_splitmix64((uint64_t)key) & mask;
    while (ports->added[slot] != 0 && ports->added[slot] != key + 1)
        slot = (slot + 1) & mask;
    return slot;
}

static int added_has(const qm_ports *ports, int64_t key)
{
    return ports->added_capacity != 0 && ports->added[added_slot(ports, key)] != 0;
}

int qm_port_used(const qm_ports *ports, int64_t position, int protocol, int64_t port)
{
    int64_t key = port_key(position, protocol, port);
    return base_has(ports, key) || added_has(ports, key);
}

int qm_port_take(qm_ports *ports, int64_t position, int protocol, int64_t port)
{
    int64_t key = port_key(position, protocol, port);
    if (base_has(ports, key))
        return 0;
    uint64_t slot = added_slot(ports, key);
    if (ports->added[slot] != 0)
        return 0;
    ports->added[slot] = key + 1;
    ports->n_added++;
    return 1;
}

static int is_static(const int32_t *statics, int64_t n_static, int64_t port)
{
    for (int64_t k = 0; k < n_static; k++)
        if (statics[k] == port)
            return 1;
    return 0;
}

int qm_fit_ports(const qm_ports *ports, int64_t position, int protocol,
                 const int32_t *statics, int64_t n_static, int64_t n_dynamic, int32_t *out)
{
    for (int64_t k = 0; k < n_static; k++) {
        if (qm_port_used(ports, position, protocol, statics[k]))
            return 0;
        if (out)
            out[k] = statics[k];
    }
    int64_t found = 0;
    for (int64_t port = QM_DYNAMIC_PORT_FIRST; port <= QM_DYNAMIC_PORT_LAST && found < n_dynamic; port++) {
        if (qm_port_used(ports, position, protocol, port) || is_static(statics, n_static, port))
            continue;
        if (out)
            out[n_static + found] = (int32_t)port;
        found++;
    }
    return found == n_dynamic;
}
