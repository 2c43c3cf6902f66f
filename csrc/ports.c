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

/* Remove key from the added set by backward-shift deletion (linear probing
 * needs no tombstones then); 1 if it was there. */
int qm_port_release(qm_ports *ports, int64_t position, int protocol, int64_t port)
{
    if (ports->added_capacity == 0)
        return 0;
    uint64_t mask = (uint64_t)ports->added_capacity - 1;
    uint64_t hole = added_slot(ports, port_key(position, protocol, port));
    if (ports->added[hole] == 0)
        return 0;
    for (uint64_t j = (hole + 1) & mask; ports->added[j] != 0; j = (j + 1) & mask) {
        uint64_t home = qm_splitmix64((uint64_t)(ports->added[j] - 1)) & mask;
        /* The entry at j may fill the hole unless its home lies cyclically in (hole, j]. */
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        ports->added[hole] = ports->added[j];
        hole = j;
    }
    ports->added[hole] = 0;
    ports->n_added--;
    return 1;
}

int qm_port_held(const qm_ports *ports, int64_t position, int protocol, int64_t port)
{
    return added_has(ports, port_key(position, protocol, port));
}

static int set_is_sound(const qm_ports *p)
{
    int64_t cap = p->added_capacity;
    return p->added && cap > 0 && (cap & (cap - 1)) == 0 && p->n_added >= 0 && p->n_added <= cap / 2
           && p->n_base == 0;
}

static void count_dynamic(qm_ports *p, int64_t n, int64_t key, int64_t sign)
{
    int64_t position = key >> 17, protocol = (key >> 16) & 1, port = key & 0xFFFF;
    if (p->dynamic_used && position < n && port >= QM_DYNAMIC_PORT_FIRST)
        p->dynamic_used[protocol * n + position] += sign;
}

int qm_ports_insert(qm_ports *p, int64_t n, const int64_t *keys, int64_t n_keys, int64_t *duplicate)
{
    if (!p || (n_keys > 0 && !keys) || !duplicate)
        return QM_ENULL;
    *duplicate = -1;
    if (!set_is_sound(p) || n_keys < 0 || n < 0)
        return QM_EINVAL;
    if (n_keys > p->added_capacity / 2 - p->n_added)
        return QM_ECAPACITY;
    for (int64_t k = 0; k < n_keys; k++)
        if (keys[k] < 0 || (keys[k] >> 17) >= n)
            return QM_EBOUNDS;
    const int64_t ahead = 16; /* loading inserts ~10^6 keys at random slots: fetch ahead */
    const uint64_t mask = (uint64_t)p->added_capacity - 1;
    int64_t k = 0;
    for (; k < n_keys; k++) {
        int64_t key = keys[k];
        if (k + ahead < n_keys)
            __builtin_prefetch(&p->added[qm_splitmix64((uint64_t)keys[k + ahead]) & mask], 1);
        if (!qm_port_take(p, key >> 17, (int)((key >> 16) & 1), key & 0xFFFF))
            break;
        count_dynamic(p, n, key, +1);
    }
    if (k == n_keys)
        return QM_OK;
    *duplicate = k;
    while (k-- > 0) { /* undo: the call changes nothing */
        int64_t key = keys[k];
        qm_port_release(p, key >> 17, (int)((key >> 16) & 1), key & 0xFFFF);
        count_dynamic(p, n, key, -1);
    }
    return QM_EINVAL;
}

int qm_ports_rehash(const qm_ports *from, qm_ports *to)
{
    if (!from || !to)
        return QM_ENULL;
    if (!set_is_sound(from) || !to->added || to->added_capacity <= 0
        || (to->added_capacity & (to->added_capacity - 1)) != 0 || to->n_added != 0
        || from->n_added > to->added_capacity / 2)
        return QM_EINVAL;
    for (int64_t s = 0; s < from->added_capacity; s++) {
        int64_t stored = from->added[s];
        if (stored == 0)
            continue;
        int64_t key = stored - 1;
        qm_port_take(to, key >> 17, (int)((key >> 16) & 1), key & 0xFFFF);
    }
    return QM_OK;
}

int64_t qm_ports_of(const qm_ports *ports, int64_t position, int64_t *out, int64_t capacity)
{
    if (!ports || (capacity > 0 && !out))
        return -QM_ENULL;
    if (!set_is_sound(ports) || capacity < 0 || position < 0)
        return -QM_EINVAL;
    int64_t found = 0;
    for (int64_t s = 0; s < ports->added_capacity; s++) {
        int64_t stored = ports->added[s];
        if ((stored - 1) >> 17 == position) { /* an empty slot (0) gives -1: one rare branch */
            if (found < capacity)
                out[found] = stored - 1;
            found++;
        }
    }
    return found;
}
