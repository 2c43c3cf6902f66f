"""The live tasks of a cluster, as appendable column chunks, compacted as tasks stop.

A placement appends one chunk of numpy columns (no Python object per task);
stopping a task clears its ``alive`` flag, a chunk whose tasks all stopped is
dropped, and once stopped rows outnumber live ones every chunk is merged into
one of live rows (row order kept), so what is kept follows what is live.

Every task has a sequence number, in row order; a placed task's ARN is derived
from it (and read back from it: :func:`sequence_of` inverts the derivation),
so placing a million tasks makes no million strings and finding a task by ARN
needs no index. Tasks loaded with ARNs of their own keep them in a map.
"""

from __future__ import annotations

import bisect

import numpy as np
import pyarrow as pa

from quaymaster.keys import splitmix64, splitmix64_array
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
                 seqs: np.ndarray | None = None, seq_start: int = 0, uniform: dict | None = None,
                 **columns):
        self.instance_pos = instance_pos          # int64, NO_INSTANCE for Fargate
        self.tcp_ports = tcp_ports                # int32
        self.udp_ports = udp_ports
        self.seqs = seqs                          # sequence number per row (merged chunks); else
        self.seq_start = seq_start                # seq_start + row
        self.n_stopped = 0
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
        if name.startswith("__") or "instance_pos" not in self.__dict__:
            raise AttributeError(name)  # pickle probes before the state is restored
        uniform = self.__dict__.get("_uniform", {})
        n = len(self.__dict__["instance_pos"])
        if name == "alive":  # made on first use: most chunks never lose a task
            value = np.ones(n, dtype=np.bool_)
        elif name == "released":  # rows whose resources were given back at STOPPING (begin_stop)
            value = np.zeros(n, dtype=np.bool_)
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


def sequence_at(chunk: TaskChunk, row: int) -> int:
    return int(chunk.seqs[row]) if chunk.seqs is not None else chunk.seq_start + row


_FEW_IDS = 16


def task_id(sequence: np.ndarray) -> list[str]:
    """32 hex digits per sequence number, as ECS task ids look; deterministic."""
    seq = np.asarray(sequence, dtype=np.uint64)
    if len(seq) <= _FEW_IDS:  # Python integers: cheaper than numpy's setup for a few
        return [f"{splitmix64(s):016x}{splitmix64(s ^ 0xA5A5A5A5A5A5A5A5):016x}" for s in seq.tolist()]
    high = splitmix64_array(seq)
    low = splitmix64_array(seq ^ np.uint64(0xA5A5A5A5A5A5A5A5))
    return [f"{h:016x}{lo:016x}" for h, lo in zip(high.tolist(), low.tolist())]


_M1_INVERSE = pow(0xBF58476D1CE4E5B9, -1, 1 << 64)
_M2_INVERSE = pow(0x94D049BB133111EB, -1, 1 << 64)
_MASK = (1 << 64) - 1


def sequence_of(task_id_text: str) -> int | None:
    """The sequence number whose :func:`task_id` is ``task_id_text``, or None.

    splitmix64 is a bijection: the high half is inverted and the low half
    checked, so a look-up by ARN costs a few integer operations.
    """
    if len(task_id_text) != 32:
        return None
    try:
        high, low = int(task_id_text[:16], 16), int(task_id_text[16:], 16)
    except ValueError:
        return None
    # x ^ (x >> s) is undone by z ^ z >> s ^ z >> 2s (here 3s >= 64), written out: every
    # stop_task looks its ARN up this way.
    z = high ^ (high >> 31) ^ (high >> 62)
    z = (z * _M2_INVERSE) & _MASK
    z = z ^ (z >> 27) ^ (z >> 54)
    z = (z * _M1_INVERSE) & _MASK
    seq = ((z ^ (z >> 30) ^ (z >> 60)) - 0x9E3779B97F4A7C15) & _MASK
    if splitmix64(seq ^ 0xA5A5A5A5A5A5A5A5) != low or task_id_text != task_id_text.lower():
        return None
    return seq


def csr(lists) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and flat values of a list of port lists."""
    lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((p for v in lists for p in v), dtype=np.int32, count=int(offsets[-1]))
    return offsets, flat


_TAIL_ROWS = 4096  # rows of the open chunk small placements go to
_COMPACT_AFTER = 1024  # stopped rows kept before the chunks are merged (and at least the live ones)


class TaskState:
    """All live tasks of a cluster, over chunks in sequence order."""

    def __init__(self, arn_prefix: str):
        self.arn_prefix = arn_prefix  # "arn:aws:ecs:<region>:<account>:task/<cluster>/"
        self.groups: list[str] = []
        self._group_index: dict[str, int] = {}
        self.chunks: list[TaskChunk] = []
        self._first_seqs: list[int] = []   # per chunk, its first row's sequence number
        self.next_sequence = 0
        self.explicit_arns: dict[int, str] = {}     # sequence -> ARN of loaded tasks
        self._explicit_index: dict[str, int] = {}   # ARN -> sequence
        self._tail: _Tail | None = None  # the chunk small placements are appended to
        self.rows = 0      # rows kept, live or stopped
        self.stopped = 0   # stopped rows still kept

    def group_code(self, group: str) -> int:
        code = self._group_index.get(group)
        if code is None:
            code = self._group_index[group] = len(self.groups)
            self.groups.append(group)
        return code

    def add(self, chunk: TaskChunk) -> None:
        """Append a chunk whose sequence numbers follow every kept one."""
        if len(chunk) == 0:
            return
        self.chunks.append(chunk)
        self._first_seqs.append(sequence_at(chunk, 0))
        self.rows += len(chunk)

    def add_loaded(self, chunk: TaskChunk, arns: list[str]) -> None:
        """Append loaded tasks with ARNs of their own (sequence numbers are reserved for them)."""
        start = self.reserve_sequence(len(chunk))
        chunk.seq_start = start
        for k, arn in enumerate(arns):
            self.explicit_arns[start + k] = arn
            self._explicit_index[arn] = start + k
        self.add(chunk)

    def name_task(self, sequence: int, arn: str) -> None:
        """The task placed at ``sequence`` answers to ``arn`` from now on (a task that was
        promised an ARN while it waited for capacity, then placed)."""
        self.explicit_arns[sequence] = arn
        self._explicit_index[arn] = sequence

    def reserve_sequence(self, count: int) -> int:
        start = self.next_sequence
        self.next_sequence += count
        return start

    def arn_of(self, sequence: int) -> str:
        explicit = self.explicit_arns.get(sequence)
        return explicit if explicit is not None else self.arn_prefix + task_id(np.array([sequence], np.uint64))[0]

    def chunk_arns(self, chunk: TaskChunk, rows=None) -> list[str]:
        """ARNs of a chunk's rows (all, or ``rows``)."""
        seqs = chunk.seqs if chunk.seqs is not None else np.arange(chunk.seq_start, chunk.seq_start + len(chunk))
        if rows is not None:
            seqs = seqs[rows]
        ids = task_id(np.asarray(seqs, dtype=np.uint64))
        arns = [self.arn_prefix + i for i in ids]
        if self.explicit_arns:
            for k, seq in enumerate(np.asarray(seqs).tolist()):
                explicit = self.explicit_arns.get(seq)
                if explicit is not None:
                    arns[k] = explicit
        return arns

    def locate(self, arn: str) -> tuple[TaskChunk, int] | None:
        """The chunk and row of a live task, or None."""
        seq = self._explicit_index.get(arn)
        if seq is None and arn.startswith(self.arn_prefix):
            seq = sequence_of(arn[len(self.arn_prefix):])
            if seq is not None and seq in self.explicit_arns:
                seq = None  # a loaded task answers only to its own ARN
        if seq is None or seq >= self.next_sequence:
            return None
        k = bisect.bisect_right(self._first_seqs, seq) - 1
        if k < 0:
            return None
        chunk = self.chunks[k]
        if chunk.seqs is None:
            row = seq - chunk.seq_start
            if row >= len(chunk):
                return None
        else:
            row = int(chunk.seqs.searchsorted(seq))  # the method: no numpy dispatch wrapper
            if row >= len(chunk) or chunk.seqs[row] != seq:
                return None
        return (chunk, row) if chunk.alive[row] else None

    def remove_many(self, found: list) -> None:
        """The tasks at distinct (chunk, row) stopped; compacting (which makes new chunks,
        so other (chunk, row) pairs would no longer name their task) waits until all are out."""
        for chunk, row in found:
            self.remove(chunk, row, compact=False)
        if self.stopped > max(_COMPACT_AFTER, self.rows - self.stopped):
            self.compact()

    def remove(self, chunk: TaskChunk, row: int, compact: bool = True) -> None:
        """The task at (chunk, row) stopped: its row leaves the live state."""
        chunk.alive[row] = False
        chunk.n_stopped += 1
        self.stopped += 1
        open_tail = self._tail is not None and chunk is self._tail.chunk
        if chunk.n_stopped == len(chunk) and not open_tail:  # the open tail stays for the next rows
            k = bisect.bisect_right(self._first_seqs, sequence_at(chunk, 0)) - 1
            del self.chunks[k], self._first_seqs[k]
            self.rows -= len(chunk)
            self.stopped -= len(chunk)
        if compact and self.stopped > max(_COMPACT_AFTER, self.rows - self.stopped):
            self.compact()

    def add_placed(self, positions: np.ndarray, uniform: dict, ports_tcp: np.ndarray,
                   ports_udp: np.ndarray, first_sequence: int) -> None:
        """Append the tasks of one placement. Small placements are written into the open
        tail chunk (so a thousand requests of a few tasks make one chunk, not a thousand);
        large ones get a chunk of their own."""
        placed = len(positions)
        if placed > _TAIL_ROWS // 4:
            self._tail = None
            self.add(TaskChunk(positions, tcp_ports=ports_tcp.reshape(-1), udp_ports=ports_udp.reshape(-1),
                               seq_start=first_sequence,
                               uniform={**uniform, "tcp_width": ports_tcp.shape[1],
                                        "udp_width": ports_udp.shape[1]}))
            return
        tail = self._tail
        if tail is None or tail.size + placed > _TAIL_ROWS:
            tail = self._tail = _Tail()
            self.chunks.append(tail.chunk)
            self._first_seqs.append(first_sequence)
        tail.append(positions, uniform, ports_tcp, ports_udp, first_sequence)
        self.rows += placed

    def compact(self) -> None:
        """Merge every chunk into one of its live rows, in order."""
        self._merge_tail(len(self.chunks))

    def _merge_tail(self, k: int) -> None:
        """Replace the last ``k`` chunks by one chunk of their live rows, in order."""
        self._tail = None
        tail = self.chunks[len(self.chunks) - k:]
        del self.chunks[len(self.chunks) - k:], self._first_seqs[len(self._first_seqs) - k:]
        self.rows -= sum(len(c) for c in tail)
        self.stopped -= sum(c.n_stopped for c in tail)
        live = [(c, np.flatnonzero(c.alive) if c.n_stopped else np.arange(len(c))) for c in tail]
        live = [(c, rows) for c, rows in live if len(rows)]
        if not live:
            return
        merged = {name: np.concatenate([np.asarray(getattr(c, name))[rows] for c, rows in live])
                  for name in TaskChunk.COLUMNS}
        seqs = np.concatenate([(c.seqs[rows] if c.seqs is not None else c.seq_start + rows).astype(np.int64)
                               for c, rows in live])
        ports = {}
        for proto in ("tcp", "udp"):
            parts = [_csr_rows(getattr(c, f"{proto}_offsets"), getattr(c, f"{proto}_ports"), rows)
                     for c, rows in live]
            lengths = np.concatenate([p[0] for p in parts])
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            ports[proto] = (offsets, np.concatenate([p[1] for p in parts]).astype(np.int32))
        chunk = TaskChunk(np.concatenate([c.instance_pos[rows] for c, rows in live]),
                          tcp_offsets=ports["tcp"][0], tcp_ports=ports["tcp"][1],
                          udp_offsets=ports["udp"][0], udp_ports=ports["udp"][1], seqs=seqs, **merged)
        if any("released" in c.__dict__ for c, _ in live):
            chunk.released = np.concatenate([c.released[rows] for c, rows in live])
        self.chunks.append(chunk)
        self._first_seqs.append(int(seqs[0]))
        self.rows += len(chunk)

    def live_count(self) -> int:
        return self.rows - self.stopped

    def __getstate__(self):
        saved = dict(self.__dict__)
        saved["_tail"] = None  # the open chunk's columns are views of its buffers: pickled, a plain chunk
        return saved

    def copy(self) -> TaskState:
        """An independent copy (stopped rows are at most the live ones: it costs what is live)."""
        twin = TaskState(self.arn_prefix)
        twin.groups, twin._group_index = list(self.groups), dict(self._group_index)
        twin.next_sequence = self.next_sequence
        twin.explicit_arns, twin._explicit_index = dict(self.explicit_arns), dict(self._explicit_index)
        for chunk in self.chunks:
            twin.add(_chunk_copy(chunk))
        return twin

    def to_table(self, instance_ids: list[str]) -> pa.Table:
        """The live tasks as the task table of docs/semantics.md (placement, ECS contract section 1.)"""
        parts = [self._chunk_table(c, instance_ids) for c in self.chunks if c.alive.any()]
        if not parts:
            return task_schema().empty_table()
        return pa.concat_tables(parts)

    def _chunk_table(self, chunk: TaskChunk, instance_ids: list[str]) -> pa.Table:
        keep = np.flatnonzero(chunk.alive)
        arns = self.chunk_arns(chunk, keep)
        ids = np.array(instance_ids + [None], dtype=object)  # index -1 -> None
        ports = {}
        for name, offsets, flat in (("host_ports", chunk.tcp_offsets, chunk.tcp_ports),
                                    ("host_ports_udp", chunk.udp_offsets, chunk.udp_ports)):
            lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat, pa.int32()))
            ports[name] = lists.take(pa.array(keep))
        groups = np.array(self.groups, dtype=object)
        schema = task_schema()
        status, held = chunk.status[keep], {n: getattr(chunk, n)[keep] for n in ("cpu", "memory", "gpu", "eni")}
        if "released" in chunk.__dict__:
            # A task between STOPPING and STOPPED holds its ports but no resources: the row says so
            # (and a cluster loaded from this table derives the same remaining resources).
            released = chunk.released[keep]
            status = np.where(released, STATUS_INDEX["STOPPING"], status)
            held = {n: np.where(released, 0, values) for n, values in held.items()}
        return pa.Table.from_arrays([
            pa.array(arns, pa.string()),
            pa.array(ids[chunk.instance_pos[keep]], pa.string()),
            pa.array(groups[chunk.group_code[keep]], pa.string()),
            pa.array(held["cpu"]), pa.array(held["memory"]), pa.array(held["gpu"]),
            ports["host_ports"], ports["host_ports_udp"],
            pa.array(np.array(TASK_STATUSES, dtype=object)[status], pa.string()),
            pa.array(chunk.daemon[keep]),
            pa.array(held["eni"]),
        ], schema=schema)


class _Tail:
    """An open chunk whose columns are views of buffers with room to grow."""

    def __init__(self):
        self.size = 0
        self.buffers = {name: np.zeros(_TAIL_ROWS, dtype) for name, dtype in TaskChunk.COLUMNS.items()}
        self.buffers["instance_pos"] = np.zeros(_TAIL_ROWS, np.int64)
        self.buffers["seqs"] = np.zeros(_TAIL_ROWS, np.int64)
        self.buffers["alive"] = np.ones(_TAIL_ROWS, np.bool_)
        self.buffers["released"] = np.zeros(_TAIL_ROWS, np.bool_)
        self.offsets = {proto: np.zeros(_TAIL_ROWS + 1, np.int64) for proto in ("tcp", "udp")}
        self.ports = {proto: np.zeros(64, np.int32) for proto in ("tcp", "udp")}
        self.chunk = TaskChunk(self.buffers["instance_pos"][:0], tcp_ports=self.ports["tcp"][:0],
                               udp_ports=self.ports["udp"][:0], tcp_offsets=self.offsets["tcp"][:1],
                               udp_offsets=self.offsets["udp"][:1], seqs=self.buffers["seqs"][:0])
        self._point()

    def append(self, positions, uniform: dict, ports_tcp, ports_udp, first_sequence: int) -> None:
        start, end = self.size, self.size + len(positions)
        b = self.buffers
        b["instance_pos"][start:end] = positions
        b["seqs"][start:end] = np.arange(first_sequence, first_sequence + len(positions))
        for name in TaskChunk.COLUMNS:
            b[name][start:end] = uniform[name]
        for proto, ports in (("tcp", ports_tcp), ("udp", ports_udp)):
            offsets, width = self.offsets[proto], ports.shape[1]
            used = int(offsets[start])
            if width == 0:
                offsets[start + 1:end + 1] = used
                continue
            need = used + width * len(positions)
            if need > len(self.ports[proto]):
                grown = np.zeros(max(need, 2 * len(self.ports[proto])), np.int32)
                grown[:used] = self.ports[proto][:used]
                self.ports[proto] = grown
            self.ports[proto][used:need] = ports.reshape(-1)
            offsets[start + 1:end + 1] = used + width * np.arange(1, len(positions) + 1)
        self.size = end
        self._point()

    def _point(self) -> None:
        """Make the chunk's columns the filled part of the buffers."""
        c, n = self.chunk, self.size
        for name, buffer in self.buffers.items():
            setattr(c, name, buffer[:n])
        for proto in ("tcp", "udp"):
            setattr(c, f"{proto}_offsets", self.offsets[proto][:n + 1])
            setattr(c, f"{proto}_ports", self.ports[proto][:int(self.offsets[proto][n])])


def _csr_rows(offsets: np.ndarray, flat: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths and flat values of some rows of a CSR column."""
    lengths = offsets[rows + 1] - offsets[rows]
    if not len(flat):
        return lengths, flat[:0]
    if (lengths == lengths[0]).all() and len(rows) == len(offsets) - 1:
        return lengths, flat
    index = np.repeat(offsets[rows] - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + \
        np.arange(int(lengths.sum()))
    return lengths, flat[index]


def _chunk_copy(chunk: TaskChunk) -> TaskChunk:
    """A chunk for another TaskState: columns shared, ``alive`` copied.

    Sharing is safe because a chunk's columns never change once written: only
    ``alive`` and ``released`` do (stopping), and an open tail chunk's buffers are only written
    past the rows a copy can see (the copy never appends to them).
    """
    twin = TaskChunk.__new__(TaskChunk)
    twin.__dict__.update(chunk.__dict__)
    if "alive" in chunk.__dict__:
        twin.alive = chunk.alive.copy()
    if "released" in chunk.__dict__:
        twin.released = chunk.released.copy()
    return twin
