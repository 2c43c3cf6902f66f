"""Placed tasks become live tasks of the cluster.

The C core has already taken their resources, ENIs and counters from the
instances; what is left is to record the tasks (one chunk of identical tasks)
and the host ports they hold.
"""

from __future__ import annotations

import numpy as np

from quaymaster.model.cluster import TCP, UDP, port_key
from quaymaster.model.tasks import STATUS_INDEX, TaskChunk

PLACED_STATUS = STATUS_INDEX["PENDING"]  # what RunTask reports for a task it just placed


def commit_placed(cluster, request, positions: np.ndarray, ports_tcp: np.ndarray,
                  ports_udp: np.ndarray) -> int | None:
    """Append the tasks placed at ``positions``; returns the ARN sequence number of
    the first (None when nothing was placed)."""
    placed = len(positions)
    if placed == 0:
        return None
    req = request.requirements
    tcp_width, udp_width = ports_tcp.shape[1], ports_udp.shape[1]
    first_sequence = cluster.tasks.reserve_sequence(placed)
    cluster.tasks.add(TaskChunk(
        positions,
        tcp_ports=ports_tcp.reshape(-1), udp_ports=ports_udp.reshape(-1),
        seq_start=first_sequence,
        uniform={"group_code": cluster.tasks.group_code(request.group), "cpu": req.cpu,
                 "memory": req.memory, "gpu": req.gpu, "eni": req.eni, "daemon": False,
                 "status": PLACED_STATUS, "tcp_width": tcp_width, "udp_width": udp_width},
    ))
    if tcp_width + udp_width:
        cluster._merge_port_keys(np.concatenate([
            port_key(np.repeat(positions, tcp_width), TCP, ports_tcp.reshape(-1)),
            port_key(np.repeat(positions, udp_width), UDP, ports_udp.reshape(-1))]))
    return first_sequence
