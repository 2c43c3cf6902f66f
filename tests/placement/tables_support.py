"""Builders for the hand-computed placement and scale-in table tests.

- :func:`fleet`: an instance table, instance p named ``i-p`` (1024 CPU, 2048 MiB unless told);
- :func:`live`: a live tasks table, task q named ``task-q`` of ``family:web`` (holding
  nothing unless told);
- :func:`request`: a request in the reference's shape (engine_harness turns it into
  run_task arguments);
- :func:`arn`: the container instance ARN a failure names for an instance id.

A row given to ``fleet`` or ``live`` only lists what differs from the defaults; a column
missing from some rows is null there.
"""

from __future__ import annotations

import pyarrow as pa


def arn(instance_id: str) -> str:
    """The ARN of ``instance_id`` in the default cluster, as failures report it."""
    return f"arn:aws:ecs:us-east-1:000000000000:container-instance/default/{instance_id}"


def _table(rows: list[dict]) -> pa.Table:
    """One Arrow table of ``rows``, columns in first-seen order, absent values null."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.Table.from_pylist([{name: row.get(name) for name in names} for row in rows])


def fleet(*rows: dict, **common) -> pa.Table:
    """An instance table; instance p is i-p with 1024 CPU and 2048 MiB unless told."""
    return _table([{"ec2_instance_id": f"i-{p}", "cpu_registered": 1024, "memory_registered": 2048,
                    **common, **row} for p, row in enumerate(rows)])


def live(*rows: dict) -> pa.Table:
    """A tasks table; task q is task-q of family:web holding nothing unless told."""
    return _table([{"task_arn": f"task-{q}", "group": "family:web", "cpu": 0, "memory": 0, **row}
                   for q, row in enumerate(rows)])


def request(**fields) -> dict:
    """A request in the reference's shape: nothing needed, one task of family:web, unless told."""
    return {"cpu": 0, "memory": 0, "gpu": 0, "eni": 0, "static_tcp": [], "static_udp": [],
            "dynamic_tcp": 0, "dynamic_udp": 0, "required_attributes": [], "member_of": [],
            "distinct_instance": False, "count": 1, "group": "family:web", "strategy": [], **fields}


def random_fleet(n: int, seed: int, *, cpu=(1024, 2048), memory=(1024, 4096), **choices) -> pa.Table:
    """``n`` instances ``i-0000``... with CPU, memory and an availability zone drawn from
    ``seed``, then each further column of ``choices`` (name -> values), drawn in the order
    given, so a test's fleet is the same for the same seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    columns = {"ec2_instance_id": [f"i-{k:04d}" for k in range(n)],
               "cpu_registered": rng.choice(list(cpu), n),
               "memory_registered": rng.choice(list(memory), n),
               "attribute:ecs.availability-zone": rng.choice(["a", "b", "c"], n).tolist()}
    for name, values in choices.items():
        columns[name] = rng.choice(list(values), n).tolist()
    return pa.table(columns)
