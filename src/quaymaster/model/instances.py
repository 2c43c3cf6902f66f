"""The container instances of a cluster, as mutable numpy columns.

Position ``p`` (the row of the instance table) indexes every array here; it is
fixed at registration and is what ties and random draws are keyed on. The
placement core mutates ``*_remaining``, ``eni_used`` and ``running_tasks`` in
place; :meth:`InstanceState.to_table` presents the state as the Arrow table of
docs/semantics.md ("The instance and task tables").
"""

from __future__ import annotations

import copy

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.model.attributes import AttributeColumn
from quaymaster.model.port_lists import PortLists
from quaymaster.model.schema import (
    ATTRIBUTE_PREFIX,
    INSTANCE_STATUSES,
    instance_schema,
)

NO_ENI_LIMIT = -1

# Numeric columns: name in the table -> attribute of InstanceState.
_INT_COLUMNS = ("cpu_registered", "memory_registered", "gpu_registered", "eni_limit",
                "cpu_remaining", "memory_remaining", "gpu_remaining")


class _LoadedStrings:
    """A list of strings that stays the Arrow column it was loaded from until first read
    (loading 100,000 instances then makes no Python string per instance and column)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.source = name, f"_loaded_{name}"

    def __get__(self, state, owner=None):
        if state is None:
            return self
        values = state.__dict__.pop(self.source).to_pylist()
        state.__dict__[self.name] = values  # an instance attribute: this is not called again
        return values


def loaded_strings(state, name: str) -> pa.ChunkedArray | None:
    """The Arrow column the list ``state.<name>`` is still to be made from, or None."""
    return state.__dict__.get(f"_loaded_{name}")


class InstanceState:
    """Columns of the instance table, plus counters derived from the live tasks."""

    ids = _LoadedStrings()
    arns = _LoadedStrings()
    agent_version = _LoadedStrings()
    capacity_provider = _LoadedStrings()

    def __init__(self, table: pa.Table):
        """From a table already coerced to the canonical schema (model.coerce)."""
        n = table.num_rows
        for name, column in (("ids", "ec2_instance_id"), ("arns", "container_instance_arn"),
                             ("agent_version", "agent_version"), ("capacity_provider", "capacity_provider")):
            self.__dict__[f"_loaded_{name}"] = table.column(column)  # lists made at first use
        self.status = _status_codes(table.column("status"))
        self.agent_connected = _numpy_column(table, "agent_connected", np.bool_)
        self.registered_at = table.column("registered_at").cast(pa.int64()).to_numpy().astype(np.int64)
        for name in _INT_COLUMNS:
            setattr(self, name, _numpy_column(table, name, np.int64))
        self.reserved_tcp = PortLists.from_arrow(table.column("reserved_ports"))
        self.reserved_udp = PortLists.from_arrow(table.column("reserved_ports_udp"))
        self.attributes: dict[str, AttributeColumn] = {
            name[len(ATTRIBUTE_PREFIX):]: AttributeColumn.from_arrow(table.column(name))
            for name in table.column_names if name.startswith(ATTRIBUTE_PREFIX)
        }
        # Counters kept up to date by the cluster as tasks come and go.
        self.running_tasks = np.zeros(n, dtype=np.int64)
        self.eni_used = np.zeros(n, dtype=np.int64)
        self.group_counts: dict[str, np.ndarray] = {}

    @property
    def position(self) -> dict[str, int]:
        """Instance id -> position, built at first use (a load that never looks an id up
        does not pay for 100,000 dictionary entries); a cache: copies rebuild it."""
        positions = self.__dict__.get("_position")
        if positions is None:
            positions = self.__dict__["_position"] = dict(zip(self.ids, range(len(self.ids))))
        return positions

    @property
    def n(self) -> int:
        return len(self.status)

    def __len__(self) -> int:
        return len(self.status)

    def status_name(self, position: int) -> str:
        return INSTANCE_STATUSES[int(self.status[position])]

    def group_count(self, group: str) -> np.ndarray:
        """Live tasks of ``group`` per instance (created as zeros if new)."""
        counts = self.group_counts.get(group)
        if counts is None:
            counts = self.group_counts[group] = np.zeros(self.n, dtype=np.int64)
        return counts

    def attribute(self, name: str) -> AttributeColumn:
        """The column of attribute ``name`` (created all-missing if no instance has it)."""
        column = self.attributes.get(name)
        if column is None:
            column = AttributeColumn.missing(self.n)
        return column

    def append(self, table: pa.Table) -> None:
        """Append instances from a coerced table; new positions follow the old ones."""
        other = InstanceState(table)
        offset = self.n
        if "_position" in self.__dict__:  # else built from the ids at first use
            self._position.update(zip(other.ids, range(offset, offset + other.n)))
        self.ids += other.ids
        self.arns += other.arns
        self.agent_version += other.agent_version
        self.reserved_tcp = self.reserved_tcp.concat(other.reserved_tcp)
        self.reserved_udp = self.reserved_udp.concat(other.reserved_udp)
        self.capacity_provider += other.capacity_provider
        for name in ("status", "agent_connected", "registered_at", *_INT_COLUMNS,
                     "running_tasks", "eni_used"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))
        for group, counts in self.group_counts.items():
            self.group_counts[group] = self._counts_grown(group, counts, offset + other.n)
        for name in sorted(set(self.attributes) | set(other.attributes)):  # sorted: deterministic
            mine = self.attributes.get(name) or AttributeColumn.missing(offset)
            mine.extend(other.attribute(name).strings())
            self.attributes[name] = mine

    def _counts_grown(self, group: str, counts: np.ndarray, n: int) -> np.ndarray:
        """A group's counts followed by zeros up to ``n`` instances. Grown counts are views of
        a buffer kept with room to spare (zeros past the counts: no instance is there yet), so
        that a registration takes a longer view of each group's buffer instead of copying the
        counts of every group (a simulation's hundreds of services) at every batch."""
        room = self.__dict__.setdefault("_count_room", {})   # a cache: copies start without
        buffer = room.get(group)
        if buffer is None or counts.base is not buffer or len(buffer) < n:
            buffer = room[group] = np.zeros(max(n, 2 * len(counts)), dtype=np.int64)
            buffer[:len(counts)] = counts
        return buffer[:n]

    def __getstate__(self):   # a pickle keeps the counts, not the room kept behind them
        return {name: value for name, value in self.__dict__.items() if name != "_count_room"}

    def copy(self) -> InstanceState:
        """An independent copy: arrays copied, attribute columns deep-copied, no caches."""
        twin = InstanceState.__new__(InstanceState)
        for name, value in self.__dict__.items():
            if name.startswith("_loaded_"):  # immutable Arrow columns: shared
                twin.__dict__[name] = value
                continue
            if name.startswith("_"):
                continue  # caches others keep on the state (Arrow arrays of ids, ...)
            if isinstance(value, np.ndarray):
                value = value.copy()
            elif isinstance(value, list):
                value = list(value)
            elif name == "group_counts":
                value = {group: counts.copy() for group, counts in value.items()}
            elif name == "attributes":
                value = {key: copy.deepcopy(column) for key, column in value.items()}
            elif isinstance(value, dict):
                value = dict(value)
            twin.__dict__[name] = value
        return twin

    def to_table(self) -> pa.Table:
        """The instance table of docs/semantics.md (attributes sorted by name).

        Numeric columns are copied: the table is a snapshot, never a view of
        arrays the next placement changes."""
        names = sorted(n for n, col in self.attributes.items() if not col.is_empty())
        def strings(name):  # the loaded Arrow column while no list was made from it
            loaded = loaded_strings(self, name)
            return loaded.combine_chunks() if loaded is not None else getattr(self, name)

        columns = {
            "ec2_instance_id": strings("ids"),
            "container_instance_arn": strings("arns"),
            "status": [INSTANCE_STATUSES[c] for c in self.status.tolist()],
            "agent_connected": self.agent_connected.copy(),
            "agent_version": strings("agent_version"),
            "registered_at": pa.array(self.registered_at.copy(), pa.int64()),
            **{name: getattr(self, name).copy() for name in _INT_COLUMNS},
            "reserved_ports": self.reserved_tcp.to_arrow(),
            "reserved_ports_udp": self.reserved_udp.to_arrow(),
            "capacity_provider": strings("capacity_provider"),
        }
        schema = instance_schema(names)
        arrays = []
        for field in schema:
            if field.name.startswith(ATTRIBUTE_PREFIX):
                values = self.attributes[field.name[len(ATTRIBUTE_PREFIX):]].strings()
            else:
                values = columns[field.name]
            if field.name == "eni_limit":
                limits = np.asarray(values)
                arrays.append(pa.array(limits, pa.int64(), mask=limits == NO_ENI_LIMIT))
            elif field.name == "registered_at":
                arrays.append(values.cast(field.type))
            elif isinstance(values, pa.Array):
                arrays.append(values.cast(field.type))
            else:
                arrays.append(pa.array(values, field.type))
        return pa.Table.from_arrays(arrays, schema=schema)


_STATUS_NAMES = pa.array(INSTANCE_STATUSES, pa.string())


def _status_codes(column) -> np.ndarray:
    """Status names (already checked by model.coerce) as their int8 codes."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    codes = pc.index_in(column, value_set=_STATUS_NAMES)
    if codes.null_count:  # coerce refuses unknown statuses; never guess a code
        raise ValueError("unknown instance status in a coerced table")
    return codes.to_numpy(zero_copy_only=False).astype(np.int8)


def _numpy_column(table: pa.Table, name: str, dtype) -> np.ndarray:
    column = table.column(name)
    if dtype is np.int64 and column.null_count:  # only eni_limit may hold nulls here
        column = column.fill_null(NO_ENI_LIMIT)
    return np.ascontiguousarray(column.to_numpy(zero_copy_only=False), dtype=dtype)
