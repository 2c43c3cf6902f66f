"""The live tasks of a cluster, as appendable column chunks.

A placement appends one chunk of numpy columns (no Python object per task);
stopping a task clears its ``alive`` flag. ARNs of placed tasks are derived
from a per-cluster sequence number and only turned into strings when a table
is asked for, so placing a million tasks makes no million strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from quaymaster.keys import splitmix64_array
from quaymaster.model.schema import TASK_STATUSES, task_schema

STATUS_INDEX = {name: code for code, name in enumerate(TASK_STATUSES)}
NO_INSTANCE = -1


class TaskChunk:
    """Tasks added together, as columns of equal length.

    Ports are CSR: ``tcp_ports[tcp_offsets[r]:tcp_offsets[r+1]]``. A chunk of
    identical tasks (one placement request) passes ``uniform``: the columns
    every task shares, as scalars (and ``tcp_width``/``udp_width`` for the
    port offsets); they become arrays only when read, so a request of ten
    tasks does not pay for ten columns, nor a million-task one for a million
    copies.
    """

    COLUMNS = {"group_code": np.int32, "cpu": np.int64, "memory": np.int64, "gpu": np.int64,
               "eni": np.int64, "daemon": np.bool_, "status": np.int8}

    def __init__(self, instance_pos: np.ndarray, *, tcp_ports: np.ndarray, udp_ports: np.ndarray,
                 tcp_offsets: np.ndarray | None = None, udp_offsets: np.ndarray | None = None,
                 arns: list[str] | None = None, seq_start: int = 0, uniform: dict | None = None,
                 **columns):
        self.instance_pos = instance_pos          # int64, NO_INSTANCE for Fargate
        self.tcp_ports = tcp_ports                # int32
        self.udp_ports = udp_ports
        self.arns = arns                          # explicit ARNs (loaded tables); else from seq_start
        self.seq_start = seq_start
        self._uniform = uniform or {}
        if tcp_offsets is not None:
            self.tcp_offsets = tcp_offsets
        if udp_offsets is not None:
            self.udp_offsets = udp_offsets
        for name, values in columns.items():
            if name not in self.COLUMNS:
                raise TypeError(f"unknown task column {name!r}")
            setattr(self, name, values)

    def __getattr__(self, name: str):
        # Only reached for attributes not set yet: the uniform columns.
        uniform = self.__dict__.get("_uniform", {})
        n = len(self.__dict__["instance_pos"])
        if name == "alive":  # made on first use: most chunks never lose a task
            value = np.ones(n, dtype=np.bool_)
        elif name in self.COLUMNS and name in uniform:
            value = np.broadcast_to(np.asarray(uniform[name], dtype=self.COLUMNS[name]), (n,))
        elif name in ("tcp_offsets", "udp_offsets") and f"{name[:3]}_width" in uniform:
            width = uniform[f"{name[:3]}_width"]
            value = np.arange(n + 1, dtype=np.int64) * width
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value

    def __len__(self) -> int:
        return len(self.instance_pos)


def task_id(sequence: np.ndarray) -> list[str]:
    """32 hex digits per sequence number, as ECS task ids look; deterministic."""
    seq = np.asarray(sequence, dtype=np.uint64)
    high = splitmix64_array(seq)
    low = splitmix64_array(seq ^ np.uint64(0xA5A5A5A5A5A5A5A5))
    return [f"{h:016x}{lo:016x}" for h, lo in zip(high.tolist(), low.tolist())]


def csr(lists) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and flat values of a list of port lists."""
    lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((p for v in lists for p in v), dtype=np.int32, count=int(offsets[-1]))
    return offsets, flat


class TaskState:
    """All live tasks of a cluster, over chunks."""

    def __init__(self, arn_prefix: str):
        self.arn_prefix = arn_prefix  # "arn:aws:ecs:<region>:<account>:task/<cluster>/"
        self.groups: list[str] = []
        self._group_index: dict[str, int] = {}
        self.chunks: list[TaskChunk] = []
        self.next_sequence = 0
        self._arn_index: dict[str, tuple[int, int]] | None = None

    def group_code(self, group: str) -> int:
        code = self._group_index.get(group)
        if code is None:
            code = self._group_index[group] = len(self.groups)
            self.groups.append(group)
        return code

    def add(self, chunk: TaskChunk) -> None:
        self.chunks.append(chunk)
        if self._arn_index is not None:
            self._index_chunk(len(self.chunks) - 1)

    def reserve_sequence(self, count: int) -> int:
        start = self.next_sequence
        self.next_sequence += count
        return start

    def chunk_arns(self, chunk: TaskChunk) -> list[str]:
        if chunk.arns is not None:
            return chunk.arns
        ids = task_id(np.arange(chunk.seq_start, chunk.seq_start + len(chunk), dtype=np.uint64))
        return [self.arn_prefix + i for i in ids]

    def _index_chunk(self, k: int) -> None:
        chunk = self.chunks[k]
        for row, arn in enumerate(self.chunk_arns(chunk)):
            if chunk.alive[row]:
                self._arn_index[arn] = (k, row)

    def locate(self, arn: str) -> tuple[TaskChunk, int] | None:
        """The chunk and row of a live task, or None."""
        if self._arn_index is None:
            self._arn_index = {}
            for k in range(len(self.chunks)):
                self._index_chunk(k)
        where = self._arn_index.get(arn)
        if where is None:
            return None
        chunk = self.chunks[where[0]]
        return (chunk, where[1]) if chunk.alive[where[1]] else None

    def forget(self, arn: str) -> None:
        if self._arn_index is not None:
            self._arn_index.pop(arn, None)

    def live_count(self) -> int:
        return sum(int(c.alive.sum()) for c in self.chunks)

    def to_table(self, instance_ids: list[str]) -> pa.Table:
        """The live tasks as the task table of placement.md section 1."""
        parts = [self._chunk_table(c, instance_ids) for c in self.chunks if c.alive.any()]
        if not parts:
            return task_schema().empty_table()
        return pa.concat_tables(parts)

    def _chunk_table(self, chunk: TaskChunk, instance_ids: list[str]) -> pa.Table:
        keep = np.flatnonzero(chunk.alive)
        arns = self.chunk_arns(chunk)
        ids = np.array(instance_ids + [None], dtype=object)  # index -1 -> None
        ports = {}
        for name, offsets, flat in (("host_ports", chunk.tcp_offsets, chunk.tcp_ports),
                                    ("host_ports_udp", chunk.udp_offsets, chunk.udp_ports)):
            lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat, pa.int32()))
            ports[name] = lists.take(pa.array(keep))
        groups = np.array(self.groups, dtype=object)
        schema = task_schema()
        return pa.Table.from_arrays([
            pa.array([arns[r] for r in keep.tolist()], pa.string()),
            pa.array(ids[chunk.instance_pos[keep]], pa.string()),
            pa.array(groups[chunk.group_code[keep]], pa.string()),
            pa.array(chunk.cpu[keep]), pa.array(chunk.memory[keep]), pa.array(chunk.gpu[keep]),
            ports["host_ports"], ports["host_ports_udp"],
            pa.array(np.array(TASK_STATUSES, dtype=object)[chunk.status[keep]], pa.string()),
            pa.array(chunk.daemon[keep]),
            pa.array(chunk.eni[keep]),
        ], schema=schema)
