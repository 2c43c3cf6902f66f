"""A cluster: container instances and live tasks, kept as columns.

``Cluster`` is the object users hold. Its state lives in an
:class:`InstanceState` (numpy columns by instance position), a
:class:`TaskState` (chunks of task columns) and the host ports in use; all
three are changed only through the cluster's :class:`StateOwner`
(model/state_owner.py). Caches live apart, in one :class:`Caches` object the
cluster drops when copied or pickled. The Arrow tables of docs/semantics.md (placement)
section 1 are produced on demand, as snapshots that never change afterwards.

The ECS operations are grouped by topic in mixins defined next to the code
that implements them: container-instance administration
(:mod:`quaymaster.model.admin`) and placement (:mod:`quaymaster.placement.api`).
"""

from __future__ import annotations

import copy as _copy

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster.errors import SchemaError
from quaymaster.model.coerce import coerce_instances, coerce_tasks
from quaymaster.model.instances import InstanceState
from quaymaster.model.schema import instance_schema
from quaymaster.model.state_owner import (  # noqa: F401 (port_key and the shifts are re-exported)
    POSITION_SHIFT,
    PROTOCOL_SHIFT,
    TCP,
    UDP,
    Caches,
    SeedStream,
    StateOwner,
    port_key,
)
from quaymaster.model.tasks import STATUS_INDEX, NO_INSTANCE, TaskChunk, TaskState, csr


class ClusterCore:
    """State, loading and saving; the ECS operations come from the mixins of :class:`Cluster`."""

    def __init__(self, name: str = "default", *, region: str = "us-east-1",
                 account: str = "000000000000", seed_stream: SeedStream | None = None):
        self.name = name
        self.region = region
        self.account = account
        self.arn = f"arn:aws:ecs:{region}:{account}:cluster/{name}"
        self.state = InstanceState(instance_schema().empty_table())
        self.tasks = TaskState(f"arn:aws:ecs:{region}:{account}:task/{name}/")
        self.seed_stream = seed_stream if seed_stream is not None else SeedStream()
        self.owner = StateOwner(self)
        self.caches = Caches()

    # -- copies and pickles -------------------------------------------------

    def copy(self):
        """An independent cluster in the same state, whose next placements equal this one's.

        Caches are not copied (the copy rebuilds what it needs); the seed
        stream is copied, so both continue it from the same point.
        """
        twin = object.__new__(type(self))
        for key, value in self.__dict__.items():
            if key not in ("state", "tasks", "owner", "caches", "seed_stream"):
                twin.__dict__[key] = _copy.deepcopy(value)
        twin.state = self.state.copy()
        twin.tasks = self.tasks.copy()
        twin.seed_stream = self.seed_stream.copy()
        twin.owner = self.owner.copy_for(twin)
        twin.caches = Caches()
        return twin

    snapshot = copy

    def __getstate__(self):
        saved = dict(self.__dict__)
        saved.pop("caches", None)
        return saved

    def __setstate__(self, saved):
        self.__dict__.update(saved)
        self.caches = Caches()

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
        cluster.owner = StateOwner(cluster)
        cluster.owner.instances_added(0, state.reserved_tcp, state.reserved_udp)
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
        """The container instances as the Arrow table of docs/semantics.md (placement, ECS contract section 1.)

        A snapshot: later changes of the cluster do not show in it."""
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
        )
        self.owner.load_tasks(chunk, table.column("task_arn").to_pylist())

    def _derive_remaining(self, table: pa.Table) -> None:
        """remaining = registered - what live tasks hold, where not given."""
        state = self.state
        held = {name: np.zeros(state.n, dtype=np.int64) for name in ("cpu", "memory", "gpu")}
        for chunk in self.tasks.chunks:
            live = chunk.alive & (chunk.instance_pos != NO_INSTANCE)
            for name, total in held.items():
                _add_checked(total, chunk.instance_pos[live], getattr(chunk, name)[live], name, state)
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

        The agent's reserved ports and the live tasks' host ports (a sorted copy
        of the owner's set, for describing; placement reads the set itself).
        """
        return self.owner.ports.sorted_keys()


def _add_checked(total: np.ndarray, positions: np.ndarray, amounts: np.ndarray, name: str, state) -> None:
    """total[positions] += amounts, refusing sums that do not fit in int64."""
    sums = np.zeros(len(total), dtype=np.float64)
    np.add.at(sums, positions, amounts.astype(np.float64))
    if len(sums) and sums.max() >= 2.0 ** 62:
        row = int(np.argmax(sums))
        raise SchemaError(f"the live tasks on {state.ids[row]!r} hold more {name} than can be counted",
                          column=name, row=row, value=float(sums[row]))
    np.add.at(total, positions, amounts)
