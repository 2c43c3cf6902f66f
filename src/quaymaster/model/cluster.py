"""A cluster: container instances and live tasks, kept as columns.

``Cluster`` is the object users hold. Its state lives in an
:class:`InstanceState` (numpy columns by instance position) and a
:class:`TaskState` (chunks of task columns). Placement mutates both; the Arrow
tables of placement.md section 1 are produced on demand.

The ECS operations are grouped by topic in mixins defined next to the code
that implements them: container-instance administration
(:mod:`quaymaster.model.admin`) and placement (:mod:`quaymaster.placement.api`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster.errors import SchemaError
from quaymaster.model.coerce import coerce_instances, coerce_tasks
from quaymaster.model.instances import InstanceState
from quaymaster.model.tasks import STATUS_INDEX, NO_INSTANCE, TaskChunk, TaskState, csr
from quaymaster.model.schema import instance_schema

PROTOCOL_SHIFT = 16   # port key = position << 17 | protocol << 16 | port
POSITION_SHIFT = 17
TCP, UDP = 0, 1


class ClusterCore:
    """State, loading and saving; the ECS operations come from the mixins of :class:`Cluster`."""

    def __init__(self, name: str = "default", *, region: str = "us-east-1",
                 account: str = "000000000000"):
        self.name = name
        self.region = region
        self.account = account
        self.arn = f"arn:aws:ecs:{region}:{account}:cluster/{name}"
        self.state = InstanceState(instance_schema().empty_table())
        self.tasks = TaskState(f"arn:aws:ecs:{region}:{account}:task/{name}/")
        self._port_keys: np.ndarray | None = None
        # Bumped by every change of state; kept placement plans compare it.
        self._version = 0

    def _touch(self) -> None:
        """Record that the state changed (kept placement plans are then rebuilt)."""
        self._version += 1

    # -- loading and saving -------------------------------------------------

    @classmethod
    def from_arrow(cls, instances, tasks=None, *, name: str = "default",
                   region: str = "us-east-1", account: str = "000000000000"):
        """A cluster from an instance table and an optional live-task table.

        Either may be a ``pa.Table``, record batch, stream-exposing object, mapping
        or Parquet path. Both are validated before anything is loaded.
        """
        cluster = cls(name, region=region, account=account)
        instance_table = coerce_instances(instances, cluster=name, region=region, account=account)
        state = InstanceState(instance_table)
        task_table = coerce_tasks(tasks, state.position, instances=instance_table) if tasks is not None else None
        cluster.state = state
        if task_table is not None:
            cluster._load_tasks(task_table)
        cluster._derive_remaining(instance_table)
        return cluster

    @classmethod
    def from_parquet(cls, instances_path, tasks_path=None, **kwargs):
        return cls.from_arrow(instances_path, tasks_path, **kwargs)

    def to_parquet(self, instances_path, tasks_path=None) -> None:
        """Write the instance table (and the task table) as Parquet, losslessly."""
        pq.write_table(self.instance_table(), instances_path)
        if tasks_path is not None:
            pq.write_table(self.task_table(), tasks_path)

    def instance_table(self) -> pa.Table:
        return self.state.to_table()

    def task_table(self) -> pa.Table:
        return self.tasks.to_table(self.state.ids)

    @property
    def instances(self) -> pa.Table:
        """The container instances as the Arrow table of placement.md section 1."""
        return self.instance_table()

    # -- live tasks ---------------------------------------------------------

    def _load_tasks(self, table: pa.Table) -> None:
        ids = table.column("ec2_instance_id").to_pylist()
        position = self.state.position
        pos = np.array([NO_INSTANCE if i is None else position[i] for i in ids], dtype=np.int64)
        tcp_offsets, tcp_ports = csr(table.column("host_ports").to_pylist())
        udp_offsets, udp_ports = csr(table.column("host_ports_udp").to_pylist())
        chunk = TaskChunk(
            instance_pos=pos,
            group_code=np.array([self.tasks.group_code(g) for g in table.column("group").to_pylist()],
                                dtype=np.int32),
            cpu=table.column("cpu").to_numpy().astype(np.int64),
            memory=table.column("memory").to_numpy().astype(np.int64),
            gpu=table.column("gpu").to_numpy().astype(np.int64),
            eni=table.column("eni").to_numpy().astype(np.int64),
            daemon=table.column("daemon").to_numpy(zero_copy_only=False).astype(np.bool_),
            status=np.array([STATUS_INDEX[s] for s in table.column("last_status").to_pylist()],
                            dtype=np.int8),
            tcp_offsets=tcp_offsets, tcp_ports=tcp_ports,
            udp_offsets=udp_offsets, udp_ports=udp_ports,
            arns=table.column("task_arn").to_pylist(),
        )
        self.tasks.add(chunk)
        self._count_tasks(chunk, np.arange(len(chunk)), +1)

    def _count_tasks(self, chunk: TaskChunk, rows: np.ndarray, sign: int) -> None:
        """Add (sign=+1) or remove (-1) tasks' share of the per-instance counters."""
        state = self.state
        on_instance = rows[chunk.instance_pos[rows] != NO_INSTANCE]
        pos = chunk.instance_pos[on_instance]
        n = state.n
        np.add.at(state.running_tasks, pos, sign)
        np.add.at(state.eni_used, pos, sign * chunk.eni[on_instance])
        codes = chunk.group_code[on_instance]
        for code in np.unique(codes).tolist():
            counts = np.bincount(pos[codes == code], minlength=n)
            state.group_count(self.tasks.groups[code])[:] += sign * counts
        if len(on_instance) and (chunk.tcp_offsets[-1] or chunk.udp_offsets[-1]):
            self._port_keys = None

    def _derive_remaining(self, table: pa.Table) -> None:
        """remaining = registered - what live tasks hold, where not given."""
        state = self.state
        held = {name: np.zeros(state.n, dtype=np.int64) for name in ("cpu", "memory", "gpu")}
        for chunk in self.tasks.chunks:
            live = chunk.alive & (chunk.instance_pos != NO_INSTANCE)
            for name, total in held.items():
                np.add.at(total, chunk.instance_pos[live], getattr(chunk, name)[live])
        for name, total in held.items():
            given = table.column(f"{name}_remaining")
            derived = getattr(state, f"{name}_registered") - total
            if given.null_count == len(given):
                remaining = derived
            else:
                mask = given.is_null().to_numpy(zero_copy_only=False)
                remaining = np.where(mask, derived, given.fill_null(0).to_numpy())
            if (remaining < 0).any():
                row = int(np.flatnonzero(remaining < 0)[0])
                raise SchemaError(f"the live tasks on {state.ids[row]!r} hold more {name} than it "
                                  f"registered ({int(getattr(state, f'{name}_registered')[row])})",
                                  column=f"{name}_remaining", row=row, value=int(remaining[row]))
            setattr(state, f"{name}_remaining", np.ascontiguousarray(remaining, dtype=np.int64))

    # -- ports --------------------------------------------------------------

    def port_keys(self) -> np.ndarray:
        """Every host port in use, as sorted unique keys ``pos << 17 | proto << 16 | port``.

        The union of the agent's reserved ports and the live tasks' host ports;
        cached until ports change.
        """
        if self._port_keys is None:
            parts = [_agent_port_keys(self.state.reserved_tcp, TCP),
                     _agent_port_keys(self.state.reserved_udp, UDP)]
            for chunk in self.tasks.chunks:
                for proto, offsets, flat in ((TCP, chunk.tcp_offsets, chunk.tcp_ports),
                                             (UDP, chunk.udp_offsets, chunk.udp_ports)):
                    if len(flat):
                        owner = np.repeat(chunk.instance_pos, np.diff(offsets))
                        live = np.repeat(chunk.alive, np.diff(offsets)) & (owner != NO_INSTANCE)
                        parts.append(port_key(owner[live], proto, flat[live]))
            self._port_keys = _sorted_unique(np.concatenate(parts))
        return self._port_keys

    def _ports_changed(self) -> None:
        self._port_keys = None

    def _merge_port_keys(self, keys: np.ndarray) -> None:
        """Add newly taken ports to the cached keys (cheaper than a rebuild).

        Keys of new instances sort after every cached key (positions only grow),
        so registering instances one at a time appends instead of re-sorting.
        """
        if self._port_keys is None or len(keys) == 0:
            return
        keys = _sorted_unique(keys)
        cached = self._port_keys
        if len(cached) == 0 or keys[0] > cached[-1]:
            self._port_keys = np.concatenate([cached, keys])
            return
        # A request adds a few keys to many: inserting them where they sort costs one copy of
        # the cache, where union1d would re-sort (or hash) all of it on every request.
        at = np.searchsorted(cached, keys)
        present = cached[np.minimum(at, len(cached) - 1)] == keys
        self._port_keys = np.insert(cached, at[~present], keys[~present])


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """np.unique for int64 keys by sorting: numpy 2's hash-based unique is several times
    slower on the hundreds of thousands of keys a fleet's ports make."""
    keys = np.sort(np.asarray(keys, dtype=np.int64))
    if len(keys) < 2:
        return keys
    keep = np.empty(len(keys), dtype=np.bool_)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def port_key(position, protocol: int, port) -> np.ndarray:
    return ((np.asarray(position, dtype=np.int64) << POSITION_SHIFT)
            | (protocol << PROTOCOL_SHIFT) | np.asarray(port, dtype=np.int64))


def _agent_port_keys(per_instance: list[tuple[int, ...]], protocol: int) -> np.ndarray:
    lengths = np.fromiter((len(p) for p in per_instance), dtype=np.int64, count=len(per_instance))
    owners = np.repeat(np.arange(len(per_instance), dtype=np.int64), lengths)
    ports = np.fromiter((x for p in per_instance for x in p), dtype=np.int64, count=int(lengths.sum()))
    return port_key(owners, protocol, ports)
