"""What a placement returns (docs/semantics.md (placement, ECS contract section 8)).

Placements are kept as arrays and presented as an Arrow table; Python objects
per task are made only when asked for (``to_ecs()``, ``failures``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from quaymaster.errors import QuaymasterError
from quaymaster.placement import reasons
from quaymaster.model import tasks as tasks_model
from quaymaster.model.instances import loaded_strings

#: The two lowercase hex digits of each byte value, as ASCII: _BYTE_HEX[b] == b"%02x" % b.
_BYTE_HEX = np.frombuffer(b"".join(b"%02x" % b for b in range(256)), dtype=np.uint8).reshape(256, 2)
#: The same two digits as one little-endian uint16, for writing them with one store.
_BYTE_HEX16 = np.ascontiguousarray(_BYTE_HEX).view("<u2").reshape(256).astype(np.uint16)
#: Rows per Arrow string chunk: keeps each chunk's 32-bit offsets far from overflow.
_ARN_CHUNK_ROWS = 1 << 22
_FEW_ARNS = 64  # task_arns() up to this many: Python strings directly (model.tasks.task_id)


class PlacementResult:
    """The outcome of one RunTask/StartTask request."""

    def __init__(self, cluster, request, outcome, *, instance_failures=()):
        self._cluster = cluster
        self.request = request
        self.outcome = outcome
        # StartTask reports each named instance on its own: [{task_index, reason, arn, detail}]
        self._instance_failures = list(instance_failures)
        self.failure = self._failure()

    # -- counts -------------------------------------------------------------

    @property
    def placed_count(self) -> int:
        return len(self.outcome.positions)

    @property
    def failed_count(self) -> int:
        return len(self.failures)

    def _failure(self) -> dict | None:
        """The one failure every unplaced task shares (the spec's Decision)."""
        o = self.outcome
        if not o.failed:
            return None
        state = self._cluster.state
        return {
            "reason": reasons.failure_reason(o.fail_stage),
            "arn": state.arns[o.fail_position] if o.fail_position >= 0 else None,
            "detail": reasons.failure_detail(state.n, o.fail_counts),
        }

    # -- tables -------------------------------------------------------------

    def task_arns(self) -> list[str]:
        if self.placed_count <= _FEW_ARNS:  # a few f-strings cost less than building Arrow buffers
            o = self.outcome
            sequences = np.arange(o.first_sequence, o.first_sequence + self.placed_count, dtype=np.uint64)
            prefix = self._cluster.tasks.arn_prefix
            return [prefix + task_id for task_id in tasks_model.task_id(sequences)]
        return self.task_arn_array().to_pylist()

    def task_arn_array(self) -> pa.ChunkedArray:
        """The placed tasks' ARNs as Arrow strings, made without a Python string per task."""
        o = self.outcome
        sequences = np.arange(o.first_sequence, o.first_sequence + self.placed_count, dtype=np.uint64)
        return task_arn_array(self._cluster.tasks.arn_prefix, sequences)

    @property
    def positions(self) -> np.ndarray:
        """The instance position of each placed task, by task index (read-only numpy).

        The cheap way to look at where tasks went; :attr:`placements` builds
        the full Arrow table (ids, ARNs, ports).
        """
        positions = self.outcome.positions.view()
        positions.flags.writeable = False
        return positions

    @property
    def task_indexes(self) -> np.ndarray:
        """The task index of each placed task (0..placed-1 for RunTask)."""
        if self.outcome.task_indexes is not None:
            return self.outcome.task_indexes
        return np.arange(self.placed_count, dtype=np.int64)

    @property
    def placements(self) -> pa.Table:
        """One row per placed task, by task index."""
        o = self.outcome
        state = self._cluster.state
        positions = pa.array(o.positions, pa.int64())
        return pa.table({
            "task_index": pa.array(self.task_indexes, pa.int64()),
            "position": positions,
            "ec2_instance_id": _strings_of(state, "ids").take(positions),
            "container_instance_arn": _strings_of(state, "arns").take(positions),
            "task_arn": self.task_arn_array(),
            "host_ports": _port_lists(o.ports_tcp),
            "host_ports_udp": _port_lists(o.ports_udp),
        })

    def placed_rows(self) -> tuple[list, list, list, list, list]:
        """The columns of :attr:`placements` a caller turns into objects, as Python lists:
        (task ARNs, container-instance ARNs, EC2 instance ids, TCP host ports, UDP host ports).

        A few tasks (the common RunTask and service launch) are read straight from the
        outcome and the instance lists; building the Arrow table and converting it back
        would cost more than the rows. Equal to the table's columns (tested).
        """
        if self.placed_count > _FEW_ARNS:
            table = self.placements
            return tuple(table.column(name).to_pylist() for name in (
                "task_arn", "container_instance_arn", "ec2_instance_id", "host_ports", "host_ports_udp"))
        o, state = self.outcome, self._cluster.state
        positions = o.positions.tolist()
        instance_arns, ids = state.arns, state.ids
        return (self.task_arns(), [instance_arns[p] for p in positions], [ids[p] for p in positions],
                o.ports_tcp.tolist(), o.ports_udp.tolist())

    @property
    def failures(self) -> Failures:
        """One ``{task_index, reason, arn, detail}`` per task not placed (a lazy sequence)."""
        first = self.placed_count + len(self._instance_failures)
        shared = self.request.count - first if self.failure is not None else 0
        return Failures(self._instance_failures, first, shared, self.failure)

    def failures_table(self) -> pa.Table:
        """The failures as an Arrow table (the shared failure repeated without Python rows)."""
        return self.failures.to_arrow()

    # -- ECS's shape and the explanation ------------------------------------

    def to_ecs(self) -> dict:
        """``{"tasks": [...], "failures": [...]}`` as RunTask answers.

        One dict per task is the point of this view; everything shared by the
        tasks is computed once and the per-task columns are read as whole lists.
        """
        failures = [{k: v for k, v in (("arn", f["arn"]), ("reason", f["reason"]),
                                       ("detail", f["detail"])) if v is not None}
                    for f in self.failures]
        return {"tasks": self._ecs_tasks(), "failures": failures}

    def _ecs_tasks(self) -> list[dict]:
        request, state = self.request, self._cluster.state
        req = request.requirements
        cluster_arn, group, launch_type = self._cluster.arn, request.group, request.launch_type
        definition_arn = getattr(request.task_definition, "arn", None)
        cpu, memory = str(req.cpu), str(req.memory)
        instance_arns = state.arns
        container_arns = [instance_arns[p] for p in self.outcome.positions.tolist()]
        return [{
            "taskArn": arn,
            "clusterArn": cluster_arn,
            "taskDefinitionArn": definition_arn,
            "containerInstanceArn": container_arn,
            "group": group,
            "launchType": launch_type,
            "lastStatus": "PENDING",
            "desiredStatus": "RUNNING",
            "cpu": cpu,
            "memory": memory,
            "networkBindings": bindings,
        } for arn, container_arn, bindings in zip(
            self.task_arns(), container_arns,
            _network_bindings(self.outcome.ports_tcp, self.outcome.ports_udp), strict=True)]

    def explain(self) -> dict[str, int]:
        """For each stage, how many instances it removed for the request's first task.

        The first task sees the cluster as the request found it; a failed task's
        own counts are in its failure ``detail``. The counts come free whenever the
        engine scanned every instance for the first task, which is always the case
        with ``run_task(..., explain=True)``; a request answered by the kept plan of
        an earlier request of the same kind skips that scan, and then this raises.
        """
        removed = self.outcome.removed
        if removed is None:
            raise QuaymasterError("this request reused the previous request's index and did not scan "
                                  "every instance; pass explain=True to run_task to record the stage counts")
        return {reasons.STAGE_NAME[stage]: int(removed[stage])
                for stage in range(reasons.NOT_ACTIVE, reasons.FEASIBLE)}

    def __repr__(self) -> str:
        return (f"PlacementResult(placed={self.placed_count}, failed={self.failed_count}"
                + (f", reason={self.failure['reason']!r}" if self.failure else "") + ")")


class Failures(Sequence):
    """The failures of a request, made a row at a time.

    Once a task fails, every later task of the request fails alike (the spec's
    Decision): those rows are one dict repeated, so a request of a billion
    tasks that fit nowhere costs no billion dicts until someone iterates.
    Compares equal to a list of the same rows.
    """

    def __init__(self, own: list[dict], first_shared: int, shared: int, failure: dict | None):
        self._own = own                  # rows with their own reason (StartTask's instances)
        self._first = first_shared       # task index of the first shared failure
        self._shared = shared            # how many tasks share `failure`
        self._failure = failure

    def __len__(self) -> int:
        return len(self._own) + self._shared

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < len(self._own):
            return self._own[index]
        return {"task_index": self._first + index - len(self._own), **self._failure}

    def __eq__(self, other) -> bool:
        if not isinstance(other, (list, tuple, Sequence)) or len(other) != len(self):
            return NotImplemented if not isinstance(other, (list, tuple, Sequence)) else False
        return all(a == b for a, b in zip(self, other))

    __hash__ = None  # mutable-looking sequences are not hashable

    def __repr__(self) -> str:
        shown = ", ".join(repr(row) for row in self[:3])
        return f"Failures([{shown}{', ...' if len(self) > 3 else ''}], {len(self)} rows)"

    def to_arrow(self) -> pa.Table:
        own = self._own
        shared, failure = self._shared, self._failure or {}
        index = np.concatenate([np.array([r["task_index"] for r in own], dtype=np.int64),
                                np.arange(self._first, self._first + shared, dtype=np.int64)])
        def column(key):
            head = pa.array([r[key] for r in own], pa.string())
            tail = pa.array([failure.get(key)], pa.string()).take(pa.array(np.zeros(shared, np.int64)))
            return pa.concat_arrays([head, tail])
        return pa.table({"task_index": index, "reason": column("reason"), "arn": column("arn"),
                         "detail": column("detail")})


def _strings_of(state, name: str) -> pa.Array:
    """``state.ids`` or ``state.arns`` as an Arrow array, kept until instances are added
    (the lists only ever grow: positions are fixed at registration)."""
    loaded = loaded_strings(state, name)
    if loaded is not None:  # no list made yet: the column it was loaded from
        return loaded.combine_chunks()
    values = getattr(state, name)
    kept = state.__dict__.get(f"_arrow_{name}")
    if kept is None or len(kept) != len(values):
        kept = pa.array(values, pa.string())
        state.__dict__[f"_arrow_{name}"] = kept
    return kept


def _network_bindings(tcp: np.ndarray, udp: np.ndarray) -> list[list[dict]]:
    """Each task's ``networkBindings``: its TCP host ports, then its UDP ones."""
    rows = tcp.shape[0]
    if tcp.shape[1] == 0 and udp.shape[1] == 0:
        return [[] for _ in range(rows)]
    return [[{"hostPort": port, "protocol": "tcp"} for port in t] + [{"hostPort": port, "protocol": "udp"}
                                                                      for port in u]
            for t, u in zip(tcp.tolist(), udp.tolist(), strict=True)]


def _port_lists(ports: np.ndarray) -> pa.Array:
    rows, width = ports.shape
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
    return pa.ListArray.from_arrays(offsets, pa.array(ports.reshape(-1), pa.int32()))


def task_arn_array(prefix: str, sequences: np.ndarray) -> pa.ChunkedArray:
    """``prefix`` + the 32-hex-digit task id of each sequence number, as Arrow strings.

    The same strings as ``quaymaster.model.tasks.task_id`` (splitmix64 of the
    sequence, then of the sequence xor a salt, 16 lowercase hex digits each),
    written by one kernel straight into the Arrow data buffer: a million ARNs
    cost milliseconds instead of a million f-strings.
    """
    from quaymaster.kernels import task_arns  # Numba loads only when a table is built
    seq = np.ascontiguousarray(sequences, dtype=np.uint64)
    head = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
    width = len(head) + 32
    chunks = []
    for start in range(0, max(len(seq), 1), _ARN_CHUNK_ROWS):
        part = seq[start:start + _ARN_CHUNK_ROWS]
        data = np.empty(len(part) * width, dtype=np.uint8)
        if len(part) and len(head) % 2 == 0:  # heads copied by numpy, digits two at a time
            data.reshape(len(part), width)[:, :len(head)] = head
            task_arns.write_ids16(part, _BYTE_HEX16, data.view(np.uint16), width // 2, len(head) // 2)
        elif len(part):
            task_arns.write_arns(head, part, _BYTE_HEX, data)
        offsets = np.arange(len(part) + 1, dtype=np.int32) * np.int32(width)
        chunks.append(pa.StringArray.from_buffers(len(part), pa.py_buffer(offsets), pa.py_buffer(data)))
    return pa.chunked_array(chunks, pa.string())
