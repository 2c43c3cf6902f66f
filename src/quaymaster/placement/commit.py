"""Placed tasks become live tasks of the cluster.

The C core has already taken their resources, ENIs, counters and host ports
(``qm_take``); what is left is the task rows: one chunk of identical tasks.
The cluster's state owner (model/state_owner.py) calls :func:`placed_columns`
and gives everything back if recording fails.
"""

from __future__ import annotations

import numpy as np

from quaymaster.model.tasks import STATUS_INDEX

PLACED_STATUS = STATUS_INDEX["PENDING"]  # what RunTask reports for a task it just placed


def placed_columns(tasks, request) -> dict:
    """The columns every task of one placement shares."""
    req = request.requirements
    return {"group_code": tasks.group_code(request.group), "cpu": req.cpu, "memory": req.memory,
            "gpu": req.gpu, "eni": req.eni, "daemon": False, "status": PLACED_STATUS}


def commit_placed(cluster, request, positions: np.ndarray, ports_tcp: np.ndarray,
                  ports_udp: np.ndarray) -> int | None:
    """Append the tasks placed at ``positions``; returns the ARN sequence number of
    the first (None when nothing was placed)."""
    return cluster.owner.commit_placed(request, positions, ports_tcp, ports_udp)
