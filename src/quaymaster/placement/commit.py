"""Placed tasks become live tasks of the cluster.

The C core has already taken their resources, ENIs, counters and host ports
(``qm_take``); what is left is the task rows: one chunk of identical tasks.
The cluster's state owner (model/state_owner.py) calls :func:`placed_chunk`
and gives everything back if recording fails.
"""

from __future__ import annotations

import numpy as np

from quaymaster.model.tasks import STATUS_INDEX, TaskChunk

PLACED_STATUS = STATUS_INDEX["PENDING"]  # what RunTask reports for a task it just placed


def placed_chunk(tasks, request, positions: np.ndarray, ports_tcp: np.ndarray, ports_udp: np.ndarray,
                 first_sequence: int) -> TaskChunk:
    """The chunk of tasks placed at ``positions`` (sequence numbers from ``first_sequence``)."""
    req = request.requirements
    return TaskChunk(
        positions,
        tcp_ports=ports_tcp.reshape(-1), udp_ports=ports_udp.reshape(-1),
        seq_start=first_sequence,
        uniform={"group_code": tasks.group_code(request.group), "cpu": req.cpu,
                 "memory": req.memory, "gpu": req.gpu, "eni": req.eni, "daemon": False,
                 "status": PLACED_STATUS, "tcp_width": ports_tcp.shape[1], "udp_width": ports_udp.shape[1]},
    )


def commit_placed(cluster, request, positions: np.ndarray, ports_tcp: np.ndarray,
                  ports_udp: np.ndarray) -> int | None:
    """Append the tasks placed at ``positions``; returns the ARN sequence number of
    the first (None when nothing was placed)."""
    return cluster.owner.commit_placed(request, positions, ports_tcp, ports_udp)
