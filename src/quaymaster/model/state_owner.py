"""The one owner of a cluster's mutable state.

Everything that takes or gives back what instances hold (CPU, memory, GPU,
ENIs, host ports, group and task counts, task rows) goes through
:class:`StateOwner`. Taking is the C core's ``qm_take`` (called by
``qm_place`` for every task it places); releasing is ``qm_release``, its
mirror, next to it in ``csrc/state.c``. A task can also stop in two steps
(the services' lifecycle): :meth:`StateOwner.begin_stop` gives back its CPU,
memory, GPU and ENIs when it reaches STOPPING (``qm_release_resources``), and
:meth:`StateOwner.stop` the rest (``qm_release_slot``: host ports, group and
task counts, its row) when it is STOPPED. Host ports live in one persistent
hash set in C memory (:class:`PortSet`): placing inserts into it, stopping
removes from it, so no request rebuilds port keys from task lists.

Every change is also recorded as the instance positions it touched
(:class:`ChangeLog`), so that kept placement plans repair themselves
(placement/engine.py) instead of being thrown away.

A commit is atomic: :meth:`StateOwner.commit_placed` appends the task rows of
what the core took, and gives it all back through ``qm_release`` if anything
fails in between.

Caches (kept plans, tie keys, lookup indexes) are not state: they live in one
:class:`Caches` object the cluster drops when it is copied or pickled.
"""

from __future__ import annotations

import operator

import numpy as np

from quaymaster.errors import InvalidParameterError, SchemaError
from quaymaster.keys import splitmix64
from quaymaster.native import check, ffi, kept_ptr, lib, ptr
from quaymaster.model.change_log import ATTRIBUTE, INSTANCES, STATUS, TASKS, ChangeLog  # noqa: F401
from quaymaster.model.stop_rows import SingleRelease, StopRows, row_ports
from quaymaster.model.tasks import NO_INSTANCE, STATUS_INDEX, TaskChunk
from quaymaster.model.port_lists import lengths_and_values

PROTOCOL_SHIFT = 16   # port key = position << 17 | protocol << 16 | port
POSITION_SHIFT = 17
TCP, UDP = 0, 1
UINT64_MASK = (1 << 64) - 1
_MIN_PORT_CAPACITY = 1 << 10
_LAST_WANTED_RUNNING = STATUS_INDEX["RUNNING"]  # PROVISIONING..RUNNING: still meant to run
_PENDING = STATUS_INDEX["PENDING"]


def port_key(position, protocol: int, port) -> np.ndarray:
    return ((np.asarray(position, dtype=np.int64) << POSITION_SHIFT)
            | (protocol << PROTOCOL_SHIFT) | np.asarray(port, dtype=np.int64))


class SeedStream:
    """Placement seeds for requests that give none: ``splitmix64(stream_seed + n)``.

    ``n`` counts the requests that took a seed from the stream so far. A region
    can own one stream and hand it to all its clusters; a cluster owns its own
    otherwise. Copies and pickles of a cluster continue the same stream.
    """

    def __init__(self, stream_seed: int = 0, drawn: int = 0):
        self.stream_seed = int(stream_seed) & UINT64_MASK
        self.drawn = int(drawn)

    def next_seed(self) -> int:
        seed = splitmix64((self.stream_seed + self.drawn) & UINT64_MASK)
        self.drawn += 1
        return seed

    def copy(self) -> SeedStream:
        return SeedStream(self.stream_seed, self.drawn)

    def __repr__(self) -> str:
        return f"SeedStream(stream_seed={self.stream_seed}, drawn={self.drawn})"


class PortSet:
    """Every host port in use (agent-reserved and the live tasks'), as the C core's set.

    ``table`` is an open-addressing set of ``key + 1`` (0: empty), at most half
    full; ``dynamic_used[protocol * n + p]`` counts the ports in use in the
    dynamic range per instance, so a request never counts them itself.
    """

    def __init__(self, n: int, capacity: int = _MIN_PORT_CAPACITY):
        self.n = n
        self.table = np.zeros(capacity, dtype=np.int64)
        self.dynamic_used = np.zeros(2 * n, dtype=np.int64)
        self.shared: dict[int, int] = {}  # key -> holders beyond the first (loaded tables only)
        self.struct = ffi.new("qm_ports *")
        self._point(0)

    def _point(self, n_added: int) -> None:
        s = self.struct
        s.base, s.n_base = ffi.NULL, 0
        s.added, s.added_capacity, s.n_added = ptr(self.table), len(self.table), n_added
        s.dynamic_used = ptr(self.dynamic_used) if len(self.dynamic_used) else ffi.NULL

    @property
    def size(self) -> int:
        return int(self.struct.n_added)

    def room(self) -> int:
        """Keys that can still be inserted before the set must grow."""
        return len(self.table) // 2 - self.size

    def ensure_room(self, keys: int) -> None:
        """Grow (rehash into a table twice as large, or more) until ``keys`` more fit."""
        if keys <= self.room():
            return
        capacity = len(self.table)
        while capacity // 2 - self.size < keys:
            capacity *= 2
        bigger = PortSet.__new__(PortSet)
        bigger.n, bigger.dynamic_used, bigger.shared = self.n, self.dynamic_used, self.shared
        bigger.table = np.zeros(capacity, dtype=np.int64)
        bigger.struct = ffi.new("qm_ports *")
        bigger._point(0)
        check(lib.qm_ports_rehash(self.struct, bigger.struct), "qm_ports_rehash")
        self.table, self.struct = bigger.table, bigger.struct

    def insert(self, keys: np.ndarray, what: str) -> None:
        """Add keys (refused whole, with a typed error, if one is already in use or listed twice)."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        self.ensure_room(len(keys))
        duplicate = ffi.new("int64_t *")
        status = lib.qm_ports_insert(self.struct, self.n, ptr(keys), len(keys), duplicate)
        if status == lib.QM_EINVAL and duplicate[0] >= 0:
            key = int(keys[duplicate[0]])
            protocol = "udp" if (key >> PROTOCOL_SHIFT) & 1 else "tcp"
            raise SchemaError(f"{what}: host port {key & 0xFFFF}/{protocol} is in use twice on the "
                              f"instance at position {key >> POSITION_SHIFT}", column=what,
                              row=int(duplicate[0]), value=key & 0xFFFF)
        check(status, "qm_ports_insert")

    def insert_loaded(self, keys: np.ndarray) -> None:
        """Add the ports of loaded tasks; a port already in use (reserved by the agent, or
        held by another loaded task) is counted in ``shared`` instead, so that stopping
        one holder leaves it in use for the others."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        order = np.sort(keys)
        repeated = np.zeros(len(order), dtype=np.bool_)
        repeated[1:] = order[1:] == order[:-1]
        held = np.isin(order, self.sorted_keys()) if self.size else np.zeros(len(order), np.bool_)
        extra = repeated | held
        self.insert(order[~extra], "host_ports")
        for key in order[extra].tolist():
            self.shared[key] = self.shared.get(key, 0) + 1

    def grow_instances(self, n: int) -> None:
        """Make room in the dynamic-range counts for instances appended up to ``n``."""
        old = self.n
        used = np.zeros(2 * n, dtype=np.int64)
        used[:old], used[n:n + old] = self.dynamic_used[:old], self.dynamic_used[old:]
        self.n, self.dynamic_used = n, used
        self._point(self.size)

    def ports_of(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The TCP and UDP ports in use on one instance, sorted (one pass of the core over
        the set, not numpy temporaries of its size)."""
        held = np.empty(64, np.int64)
        found = lib.qm_ports_of(self.struct, position, ptr(held), len(held))
        if found > len(held):
            held = np.empty(found, np.int64)
            found = lib.qm_ports_of(self.struct, position, ptr(held), len(held))
        if found < 0:
            check(-found, "qm_ports_of")
        held = np.sort(held[:found])
        udp = ((held >> PROTOCOL_SHIFT) & 1).astype(np.bool_)
        return held[~udp] & 0xFFFF, held[udp] & 0xFFFF

    def sorted_keys(self) -> np.ndarray:
        """Every key in use, sorted (for describing instances; not used when placing)."""
        held = self.table[self.table != 0] - 1
        return np.sort(held)

    def copy(self) -> PortSet:
        twin = PortSet.__new__(PortSet)
        twin.n, twin.table, twin.dynamic_used = self.n, self.table.copy(), self.dynamic_used.copy()
        twin.shared = dict(self.shared)
        twin.struct = ffi.new("qm_ports *")
        twin._point(self.size)
        return twin

    def __getstate__(self):
        return {"n": self.n, "table": self.table, "dynamic_used": self.dynamic_used, "size": self.size,
                "shared": self.shared}

    def __setstate__(self, saved):
        self.n, self.table, self.dynamic_used = saved["n"], saved["table"], saved["dynamic_used"]
        self.shared = saved["shared"]
        self.struct = ffi.new("qm_ports *")
        self._point(saved["size"])


class Caches:
    """What a cluster keeps between calls only to be fast; never part of its state.

    Dropped (and rebuilt on demand) when the cluster is copied or pickled.
    """

    def __init__(self):
        self.plans: dict = {}         # placement/engine.py's kept plans
        self.tie_keys: dict = {}      # seed -> k(p) for every position
        self.instance_arns = None     # admin.py's ARN -> position index
        self.member_masks: dict = {}  # memberOf texts -> (log, attribute epoch, mask): placement/prepare.py
        self.prefilters: dict = {}    # static stages -> what placement/prepare.py shares between plans
        self.spread_buckets: dict = {}  # attribute -> (log, attribute epoch, bucket per instance): prepare.py


class StateOwner:
    """Takes and releases everything instances hold; the only code that does."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.ports = PortSet(cluster.state.n)
        self.log = ChangeLog()
        # Per instance: live tasks still meant to run, and those PENDING (DescribeContainerInstances).
        self.running_wanted = np.zeros(cluster.state.n, dtype=np.int64)
        self.pending = np.zeros(cluster.state.n, dtype=np.int64)

    def _count_statuses(self, positions: np.ndarray, statuses: np.ndarray, sign: int) -> None:
        on = positions != NO_INSTANCE
        np.add.at(self.running_wanted, positions[on & (statuses <= _LAST_WANTED_RUNNING)], sign)
        np.add.at(self.pending, positions[on & (statuses == _PENDING)], sign)

    # -- views the C core reads and writes ------------------------------------

    def instances_struct(self, group_count: np.ndarray):
        """A qm_instances over the live arrays (for qm_release; placement builds its own),
        kept per group while the arrays it points at stay the same objects."""
        state = self.cluster.state
        views = self.__dict__.setdefault("_views", {})
        arrays = (state.cpu_remaining, state.memory_remaining, state.gpu_remaining, state.eni_limit,
                  state.eni_used, state.running_tasks, group_count)
        kept = views.get(id(group_count))
        if kept is not None and all(map(operator.is_, kept[0], arrays)):
            return kept[1]
        view = instances_view(state, group_count)
        views[id(group_count)] = (arrays, view)  # the arrays are held: their ids stay theirs
        return view

    # -- instances ------------------------------------------------------------

    def instances_added(self, start: int, reserved_tcp, reserved_udp) -> None:
        """New instances at positions start..: their reserved ports are now in use."""
        n = self.cluster.state.n
        self.ports.grow_instances(n)
        grown = np.zeros(n - len(self.pending), dtype=np.int64)
        self.running_wanted = np.concatenate([self.running_wanted, grown])
        self.pending = np.concatenate([self.pending, grown])
        self.ports.insert(np.concatenate([_port_keys_of(start, reserved_tcp, TCP),
                                          _port_keys_of(start, reserved_udp, UDP)]), "reserved_ports")
        self.log.record(np.arange(start, n), kind=INSTANCES)

    def instances_changed(self, position: int, what: str) -> None:
        """Admin changes ("status", "attributes:<name>"): kept plans re-check the position."""
        if what.startswith("attributes:"):
            self.log.record_attribute(position, what[len("attributes:"):])
        else:
            self.log.record(position, kind=STATUS)

    # -- tasks ----------------------------------------------------------------

    def load_tasks(self, chunk: TaskChunk, arns: list[str]) -> None:
        """Live tasks of a loaded table: counters and ports (resources are derived by the loader)."""
        tasks, state = self.cluster.tasks, self.cluster.state
        on = np.flatnonzero(chunk.instance_pos != NO_INSTANCE)
        pos = chunk.instance_pos[on]
        np.add.at(state.running_tasks, pos, 1)
        np.add.at(state.eni_used, pos, chunk.eni[on])
        codes = chunk.group_code[on]
        for code in np.unique(codes).tolist():
            state.group_count(tasks.groups[code])[:] += np.bincount(pos[codes == code], minlength=state.n)
        keys = [port_key(np.repeat(chunk.instance_pos, np.diff(offsets)), proto, flat)
                for proto, offsets, flat in ((TCP, chunk.tcp_offsets, chunk.tcp_ports),
                                             (UDP, chunk.udp_offsets, chunk.udp_ports))]
        owners = [np.repeat(chunk.instance_pos, np.diff(o)) for o in (chunk.tcp_offsets, chunk.udp_offsets)]
        keys = np.concatenate([k[o != NO_INSTANCE] for k, o in zip(keys, owners)])
        self.ports.insert_loaded(keys)
        self._count_statuses(chunk.instance_pos, chunk.status, +1)
        tasks.add_loaded(chunk, arns)

    def commit_placed(self, request, positions: np.ndarray, ports_tcp: np.ndarray,
                      ports_udp: np.ndarray) -> int | None:
        """Record the tasks the core just took resources for; returns the first ARN sequence.

        If recording fails, what the core took is given back (``qm_release``)
        before the error propagates: nothing stays half-taken.
        """
        from quaymaster.placement.commit import placed_columns

        placed = len(positions)
        if placed == 0:
            return None
        tasks = self.cluster.tasks
        try:
            first_sequence = tasks.next_sequence
            tasks.add_placed(positions, placed_columns(tasks, request), ports_tcp, ports_udp, first_sequence)
            tasks.next_sequence += placed
        except BaseException:
            self._give_back(request.group, positions, request.requirements, ports_tcp, ports_udp)
            raise
        code = tasks.group_code(request.group)
        if placed <= 16:  # np.add.at costs microseconds even for one element
            self.log.record(positions, code, +1)
            for position in positions.tolist():  # placed tasks are PENDING
                self.running_wanted[position] += 1
                self.pending[position] += 1
        elif placed < self.cluster.state.n // 4:
            self.log.record(positions, code, +1)
            np.add.at(self.running_wanted, positions, 1)
            np.add.at(self.pending, positions, 1)
        else:  # a big placement: one log row and one count per instance it reached
            per_instance = np.bincount(positions, minlength=self.cluster.state.n)
            reached = np.flatnonzero(per_instance)
            self.log.record_counts(reached, code, per_instance[reached])
            self.running_wanted += per_instance
            self.pending += per_instance
        return first_sequence

    def _give_back(self, group, positions, req, ports_tcp, ports_udp) -> None:
        n = len(positions)
        width_tcp, width_udp = ports_tcp.shape[1], ports_udp.shape[1]
        columns = {name: np.full(n, getattr(req, name), np.int64) for name in ("cpu", "memory", "gpu", "eni")}
        self._release(group, np.ascontiguousarray(positions, np.int64), columns,
                      np.arange(n + 1, dtype=np.int64) * width_tcp, np.ascontiguousarray(ports_tcp.reshape(-1)),
                      np.arange(n + 1, dtype=np.int64) * width_udp, np.ascontiguousarray(ports_udp.reshape(-1)))

    def stop(self, chunk: TaskChunk, row: int) -> None:
        """Stop one live task: what :meth:`stop_many` of one does, without gathering columns
        (the common StopTask of a placed task costs a few microseconds). Tasks on no instance,
        tasks that began stopping and ports shared by loaded tasks take :meth:`stop_many`."""
        position = chunk.instance_pos.item(row)
        if (position == NO_INSTANCE or self.ports.shared
                or ("released" in chunk.__dict__ and chunk.released[row])):
            self.stop_many([(chunk, row)])
            return
        tasks, code = self.cluster.tasks, chunk.group_code.item(row)
        self._single.release(self, tasks.groups[code], position, chunk, row)
        status = chunk.status.item(row)
        if status <= _LAST_WANTED_RUNNING:
            self.running_wanted[position] -= 1
            if status == _PENDING:
                self.pending[position] -= 1
        self.log.record_one(position, code, -1)
        tasks.remove(chunk, row)

    @property
    def _single(self) -> SingleRelease:
        single = self.__dict__.get("_single_release")
        if single is None:
            single = self.__dict__["_single_release"] = SingleRelease()
        return single

    def begin_stop(self, chunk: TaskChunk, row: int) -> bool:
        """First half of a two-step stop (:meth:`begin_stop_many` of one); False when the
        task already began stopping (nothing changes)."""
        return self.begin_stop_many([(chunk, row)]) == 1

    def stop_many(self, found: list) -> None:
        """Stop live tasks, given as distinct (chunk, row): each gives back all it still holds
        (``qm_release``; only ``qm_release_slot`` after :meth:`begin_stop_many`: host ports,
        group and task counts), then its row goes. One C call per group and kind."""
        tasks = self.cluster.tasks
        rows = StopRows(found)
        on = rows.position != NO_INSTANCE
        if on.any():
            for code in np.unique(rows.group[on]).tolist():
                for done in (False, True):
                    mask = on & (rows.group == code) & (rows.released == done)
                    if mask.any():
                        self._release(tasks.groups[code], *rows.release_args(mask), slot_only=done)
                        if self.ports.shared:
                            for chunk, row in rows.items(mask):
                                self._keep_shared(int(chunk.instance_pos[row]), *row_ports(chunk, row))
            self._uncount_statuses(rows, on & ~rows.released)
            self.log.record(rows.position[on], rows.group[on], -1)
        tasks.remove_many(found)

    def begin_stop_many(self, found: list) -> int:
        """First half of a two-step stop for tasks that reached STOPPING, given as distinct
        (chunk, row): their CPU, memory, GPU and ENIs are given back in one
        ``qm_release_resources`` call (all or nothing); their rows, host ports and group and
        task counts stay until :meth:`stop_many`. Tasks that already began stopping are
        left as they are. Returns how many began stopping now."""
        rows = StopRows(found)
        fresh = ~rows.released
        on = fresh & (rows.position != NO_INSTANCE)
        if on.any():
            self._release(None, *rows.release_args(on), resources_only=True)
        rows.mark_released(fresh)
        if on.any():
            self._uncount_statuses(rows, on)
            # delta 0: the groups' counts are unchanged, but kept plans re-check the positions
            self.log.record(rows.position[on], rows.group[on], 0)
        return int(fresh.sum())

    def _uncount_statuses(self, rows: StopRows, mask: np.ndarray) -> None:
        """Tasks on instances that stop being meant to run (DescribeContainerInstances' counts)."""
        np.subtract.at(self.running_wanted, rows.position[mask & (rows.status <= _LAST_WANTED_RUNNING)], 1)
        np.subtract.at(self.pending, rows.position[mask & (rows.status == _PENDING)], 1)

    def _keep_shared(self, position: int, tcp, udp) -> None:
        """Ports the stopped task shared with another holder stay in use."""
        shared = self.ports.shared
        keys = np.concatenate([port_key(position, TCP, tcp), port_key(position, UDP, udp)]).tolist()
        back = [key for key in keys if key in shared]
        for key in back:
            shared[key] -= 1
            if shared[key] == 0:
                del shared[key]
        self.ports.insert(np.array(back, dtype=np.int64), "host_ports")

    def release_status(self, status: int, positions) -> None:
        """Raise the typed error of a refused ``qm_release*`` (or NativeError for a bug)."""
        if status == lib.QM_EINVAL:
            raise InvalidParameterError("a task does not hold what it is being released for "
                                        "(the cluster's state is inconsistent)", field="task",
                                        value=int(positions[0]) if len(positions) else None)
        check(status, "qm_release")

    def _release(self, group, positions, columns, tcp_offsets, tcp_ports, udp_offsets, udp_ports, *,
                 resources_only: bool = False, slot_only: bool = False) -> None:
        state = self.cluster.state  # resources only: no group is read, any group's view will do
        counts = state.group_count(group) if group is not None else state.running_tasks
        view = self.instances_struct(counts)
        tasks = ffi.new("qm_tasks *")
        tasks.n = len(positions)
        tasks.position = ptr(positions)
        for name, values in columns.items():
            setattr(tasks, name, ptr(values))
        tcp_ports = np.ascontiguousarray(tcp_ports, np.int32)  # named: alive while C reads them
        udp_ports = np.ascontiguousarray(udp_ports, np.int32)
        tasks.tcp_offsets, tasks.tcp_ports = ptr(tcp_offsets), ptr(tcp_ports)
        tasks.udp_offsets, tasks.udp_ports = ptr(udp_offsets), ptr(udp_ports)
        if resources_only:
            status = lib.qm_release_resources(view, tasks)
        elif slot_only:
            status = lib.qm_release_slot(view, self.ports.struct, tasks)
        else:
            status = lib.qm_release(view, self.ports.struct, tasks)
        self.release_status(status, positions)

    # -- copies -----------------------------------------------------------------

    def copy_for(self, cluster) -> StateOwner:
        twin = StateOwner.__new__(StateOwner)
        twin.cluster, twin.ports, twin.log = cluster, self.ports.copy(), ChangeLog()
        twin.running_wanted, twin.pending = self.running_wanted.copy(), self.pending.copy()
        return twin

    def __getstate__(self):
        return {"cluster": self.cluster, "ports": self.ports, "running_wanted": self.running_wanted,
                "pending": self.pending}  # not the kept C views: they point at this process's memory

    def __setstate__(self, saved):
        self.__dict__.update(saved)
        self.log = ChangeLog()


def instances_view(state, group_count: np.ndarray):
    """A qm_instances over the state's live arrays and one group's counts; the callers
    that place set the request's arrays (prefilter, member_ok, tie_key) on it."""
    view = ffi.new("qm_instances *")
    view.n = state.n
    # The columns stay the same arrays until instances register: kept pointers, not converted
    # again at every plan's rebinding.
    view.cpu_remaining = kept_ptr(state.cpu_remaining)
    view.memory_remaining = kept_ptr(state.memory_remaining)
    view.gpu_remaining = kept_ptr(state.gpu_remaining)
    view.eni_limit = kept_ptr(state.eni_limit)
    view.eni_used = kept_ptr(state.eni_used)
    view.group_count = kept_ptr(group_count)
    view.running_tasks = kept_ptr(state.running_tasks)
    return view


def _port_keys_of(first_position: int, port_lists: list, protocol: int) -> np.ndarray:
    """port_key() of every port of instances ``first_position, first_position + 1, ...``."""
    lengths, ports = lengths_and_values(port_lists)
    owners = np.repeat(np.arange(first_position, first_position + len(lengths), dtype=np.int64), lengths)
    return port_key(owners, protocol, ports)
