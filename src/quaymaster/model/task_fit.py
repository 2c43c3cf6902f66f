"""Live tasks must fit the instances they are loaded on.

Checked when a task table is loaded beside its instance table (see
``coerce.coerce_tasks``): on each instance the tasks together hold no more
CPU, memory or GPU than it registered (summed exactly: a sum past int64 is
refused, not wrapped), and no host port twice per protocol, the agent's
reserved ports included. A refusal is a :class:`SchemaError` naming the task
column and the first task row (in table order) that breaks the rule.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import SchemaError

_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1


def check_tasks_fit(tasks: pa.Table, instances: pa.Table) -> None:
    """Refuse live tasks that hold more than their instance has (both tables coerced)."""
    position = pc.index_in(tasks.column("ec2_instance_id"),
                           value_set=instances.column("ec2_instance_id").combine_chunks())
    position = pc.fill_null(position, -1).to_numpy().astype(np.int64)
    on_instance = position >= 0
    for name in ("cpu", "memory", "gpu"):
        _check_resource(tasks, instances, name, position, on_instance)
    for name, reserved in (("host_ports", "reserved_ports"), ("host_ports_udp", "reserved_ports_udp")):
        _check_ports(tasks, instances, name, reserved, position)


def _check_resource(tasks, instances, name: str, position, on_instance) -> None:
    held = tasks.column(name).to_numpy().astype(np.int64)[on_instance]
    owner = position[on_instance]
    registered = instances.column(f"{name}_registered").to_numpy().astype(np.int64)
    n = len(registered)
    # Exact sums without overflow: each value split in 31 high and 32 low bits, each half
    # summed in int64 (fine for up to 2^31 tasks), compared with the registered amount.
    high = _exact_sum(held >> _LOW_BITS, owner, n)
    low = _exact_sum(held & _LOW_MASK, owner, n)
    high += low >> _LOW_BITS
    low &= _LOW_MASK
    over = (high > registered >> _LOW_BITS) | ((high == registered >> _LOW_BITS)
                                               & (low > (registered & _LOW_MASK)))
    if over.any():
        _raise_first_over(tasks, instances, name, position, over, registered)


def _exact_sum(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, owner, values)
    return total


def _raise_first_over(tasks, instances, name, position, over, registered) -> None:
    """The row whose task takes its instance's running sum past what it registered."""
    held = tasks.column(name).to_pylist()
    running: dict[int, int] = {}
    for row in np.flatnonzero(over[np.maximum(position, 0)] & (position >= 0)).tolist():
        p = int(position[row])
        running[p] = running.get(p, 0) + held[row]
        if running[p] > int(registered[p]):
            instance = instances.column("ec2_instance_id")[p].as_py()
            raise SchemaError(f"the live tasks on {instance!r} hold {running[p]} {name}, more than it "
                              f"registered ({int(registered[p])})", column=name, row=row, value=held[row])


def _check_ports(tasks, instances, name: str, reserved: str, position) -> None:
    """No host port twice on one instance (per protocol), reserved ports included."""
    lists = tasks.column(name).combine_chunks()
    rows = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    if not len(rows):
        return
    ports = pc.list_flatten(lists).to_numpy().astype(np.int64)
    owner = position[rows]
    rows, ports, owner = rows[owner >= 0], ports[owner >= 0], owner[owner >= 0]
    agent = instances.column(reserved).combine_chunks()
    agent_keys = (pc.list_parent_indices(agent).to_numpy().astype(np.int64) << 17
                  | pc.list_flatten(agent).to_numpy().astype(np.int64))
    keys = owner << 17 | ports
    conflict = np.isin(keys, agent_keys)
    order = np.argsort(keys, kind="stable")  # table order within one key
    again = np.zeros(len(keys), dtype=np.bool_)
    again[order[1:]] = keys[order[1:]] == keys[order[:-1]]
    conflict |= again
    if conflict.any():
        at = int(np.flatnonzero(conflict)[0])
        instance = instances.column("ec2_instance_id")[int(owner[at])].as_py()
        why = "reserved by the agent" if np.isin(keys[at], agent_keys) else "held by an earlier task"
        raise SchemaError(f"host port {int(ports[at])} on {instance!r} is already {why}", column=name,
                          row=int(rows[at]), value=int(ports[at]))
