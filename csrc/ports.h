/* Host-port bookkeeping shared by the placement paths (internal header). */
#ifndef QM_PORTS_H
#define QM_PORTS_H

#include "quaymaster.h"

#define QM_DYNAMIC_PORT_FIRST 49153
#define QM_DYNAMIC_PORT_LAST 65535
#define QM_MAX_PORT 65535
#define QM_TCP 0
#define QM_UDP 1

/* Whether `port` of `protocol` is in use on instance `position`. */
int qm_port_used(const qm_ports *ports, int64_t position, int protocol, int64_t port);

/* Mark a port as used for the rest of the request; 1 if it was free. */
int qm_port_take(qm_ports *ports, int64_t position, int protocol, int64_t port);

/* Remove a port from the added set (the cluster's persistent set); 1 if it was held. */
int qm_port_release(qm_ports *ports, int64_t position, int protocol, int64_t port);

/* Whether the added set holds the port. */
int qm_port_held(const qm_ports *ports, int64_t position, int protocol, int64_t port);

/* Whether a task's ports of one protocol fit on an instance: every static port
 * free, and `n_dynamic` free ports in the dynamic range, taken lowest first
 * and skipping the task's own static ports. When `out` is not NULL the ports
 * are written there, statics first. */
int qm_fit_ports(const qm_ports *ports, int64_t position, int protocol,
                 const int32_t *statics, int64_t n_static, int64_t n_dynamic, int32_t *out);

#endif
