"""The columns of a batch of tasks being stopped, gathered for one ``qm_release*`` call.

The state owner stops the tasks of one lifecycle tick together
(``StateOwner.begin_stop_many`` / ``stop_many``): their positions, groups,
statuses, resources and host ports are read here per chunk with numpy. One
task (StopTask) goes through :class:`SingleRelease` instead.
"""

from __future__ import annotations

import numpy as np

from quaymaster.model.tasks import TaskChunk, _csr_rows
from quaymaster.native import lib, ffi, ptr


def row_ports(chunk: TaskChunk, row: int) -> tuple[np.ndarray, np.ndarray]:
    """The TCP and UDP host ports of one row."""
    return (chunk.tcp_ports[chunk.tcp_offsets[row]:chunk.tcp_offsets[row + 1]],
            chunk.udp_ports[chunk.udp_offsets[row]:chunk.udp_offsets[row + 1]])


class StopRows:
    """The columns of some (chunk, row) tasks, gathered per chunk with numpy (a batch of a
    tick's stops costs a few array operations per chunk, not per task)."""

    _NAMES = ("instance_pos", "group_code", "status", "cpu", "memory", "gpu", "eni")

    def __init__(self, found: list):
        by_chunk: dict = {}
        for chunk, row in found:
            by_chunk.setdefault(id(chunk), (chunk, []))[1].append(row)
        # rows sorted: _csr_rows reads a whole chunk's rows as its flat ports in chunk order
        self.segments = [(chunk, np.sort(np.array(rows, np.int64))) for chunk, rows in by_chunk.values()]
        columns: dict[str, list] = {name: [] for name in (*self._NAMES, "released")}
        csr: dict[str, tuple[list, list]] = {"tcp": ([], []), "udp": ([], [])}
        for chunk, rows in self.segments:
            for name in self._NAMES:
                columns[name].append(np.asarray(getattr(chunk, name))[rows])
            columns["released"].append(chunk.released[rows] if "released" in chunk.__dict__
                                       else np.zeros(len(rows), np.bool_))
            for proto, (lengths, flats) in csr.items():
                length, flat = _csr_rows(getattr(chunk, f"{proto}_offsets"), getattr(chunk, f"{proto}_ports"), rows)
                lengths.append(length)
                flats.append(np.asarray(flat, np.int32))
        joined = {name: np.concatenate(parts) if parts else np.zeros(0, np.int64)
                  for name, parts in columns.items()}
        self.position = joined["instance_pos"].astype(np.int64)
        self.group = joined["group_code"].astype(np.int64)
        self.status = joined["status"]
        self.released = joined["released"].astype(np.bool_)
        self.resources = {name: joined[name].astype(np.int64) for name in ("cpu", "memory", "gpu", "eni")}
        self.ports = {}
        for proto, (lengths, flats) in csr.items():
            offsets = np.zeros(len(self.position) + 1, np.int64)
            if lengths:
                np.cumsum(np.concatenate(lengths), out=offsets[1:])
            self.ports[proto] = (offsets, np.concatenate(flats) if flats else np.zeros(0, np.int32))

    def release_args(self, mask: np.ndarray) -> tuple:
        """``_release``'s arguments for the masked tasks: positions, resources, TCP and UDP CSR ports."""
        rows = np.flatnonzero(mask)
        out = [np.ascontiguousarray(self.position[rows]),
               {name: np.ascontiguousarray(values[rows]) for name, values in self.resources.items()}]
        for proto in ("tcp", "udp"):
            lengths, flat = _csr_rows(*self.ports[proto], rows)
            offsets = np.zeros(len(rows) + 1, np.int64)
            np.cumsum(lengths, out=offsets[1:])
            out += [offsets, np.ascontiguousarray(flat, np.int32)]
        return tuple(out)

    def items(self, mask: np.ndarray) -> list:
        """The masked tasks as (chunk, row), in gathered order."""
        pairs = [(chunk, row) for chunk, rows in self.segments for row in rows.tolist()]
        return [pairs[k] for k in np.flatnonzero(mask).tolist()]

    def mark_released(self, mask: np.ndarray) -> None:
        start = 0
        for chunk, rows in self.segments:
            chosen = rows[mask[start:start + len(rows)]]
            if len(chosen):
                chunk.released[chosen] = True
            start += len(rows)


class SingleRelease:
    """One ``qm_tasks`` of one task over C memory of its own, filled per stop: stopping
    one task then costs a few scalar stores and one ``qm_release`` call."""

    def __init__(self):
        self.values = ffi.new("int64_t[9]")  # position, cpu, memory, gpu, eni, tcp and udp offsets
        tasks = self.tasks = ffi.new("qm_tasks *")
        tasks.n, tasks.position = 1, self.values
        tasks.cpu, tasks.memory, tasks.gpu, tasks.eni = (self.values + k for k in (1, 2, 3, 4))
        tasks.tcp_offsets, tasks.udp_offsets = self.values + 5, self.values + 7
        tasks.tcp_ports = tasks.udp_ports = ffi.NULL

    def release(self, owner, group: str, position: int, chunk: TaskChunk, row: int) -> None:
        values, tasks = self.values, self.tasks
        values[0] = position  # .item(): a Python int without a numpy scalar in between
        values[1], values[2] = chunk.cpu.item(row), chunk.memory.item(row)
        values[3], values[4] = chunk.gpu.item(row), chunk.eni.item(row)
        keep = []  # the port arrays C reads, alive until it returns
        for at, offsets, flat, field in ((5, chunk.tcp_offsets, chunk.tcp_ports, "tcp_ports"),
                                         (7, chunk.udp_offsets, chunk.udp_ports, "udp_ports")):
            start, end = offsets.item(row), offsets.item(row + 1)
            if start == end:
                values[at] = values[at + 1] = 0
                setattr(tasks, field, ffi.NULL)
                continue
            ports = np.ascontiguousarray(flat[start:end], np.int32)
            keep.append(ports)
            values[at], values[at + 1] = 0, end - start
            setattr(tasks, field, ptr(ports))
        view = owner.instances_struct(owner.cluster.state.group_count(group))
        owner.release_status(lib.qm_release(view, owner.ports.struct, tasks), (position,))
        del keep
