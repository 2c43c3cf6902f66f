"""Port-list columns of the instance and task tables, checked and normalised as whole columns.

A port list is flattened once into (row, port) pairs; checks find the first bad
port in row order, and normalised lists (sorted, distinct) are rebuilt from
those pairs without a Python list per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import SchemaError
from quaymaster.model.schema import DEFAULT_RESERVED_PORTS, MAX_PORT, MIN_PORT

MAX_RESERVED_PORTS = 100  # docs/semantics.md (placement, ECS contract section 5) Decision: checked at registration


def _first_row(mask) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _flat_ports(column: pa.ChunkedArray | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A port-list column as (row of each port, the port or -1 for a null one, null rows).

    Ports come in row order, each row's in its own order; an absent column is all null rows.
    """
    if column is None:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.ones(n, dtype=np.bool_)
    lists = column.combine_chunks()
    null_rows = lists.is_null().to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    ports = pc.fill_null(flat, -1).to_numpy().astype(np.int64)
    return rows, ports, null_rows


def _all_null(column: pa.ChunkedArray | None) -> bool:
    return column is None or column.null_count == len(column)


def _first_bad_port(rows: np.ndarray, ports: np.ndarray, name: str) -> tuple[int, SchemaError] | None:
    """The first port (in row order) that is not a port number (a null port included)."""
    bad = (ports < MIN_PORT) | (ports > MAX_PORT)
    if not bad.any():
        return None
    at = _first_row(bad)
    port = None if ports[at] == -1 else int(ports[at])
    return int(rows[at]), SchemaError(f"port {port!r} is outside {MIN_PORT}..{MAX_PORT}", column=name,
                                      row=int(rows[at]), value=port)


def _raise_first(problems) -> None:
    """Raise the problem of the lowest row; on a tie, the one listed first."""
    found = [p for p in problems if p is not None]
    if found:
        raise min(found, key=lambda p: p[0])[1]


def _port_list_array(rows: np.ndarray, ports: np.ndarray, n: int) -> pa.ListArray:
    """A ``list<int32>`` column of n rows (no nulls) from ports already in row order."""
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(ports.astype(np.int32), pa.int32()))


def _sorted_distinct(rows: np.ndarray, ports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's distinct ports in ascending order (a key sorts by row, then port)."""
    keys = (rows << 17) | ports
    if len(keys) < 2 or (keys[1:] > keys[:-1]).all():  # already so (a table this library wrote)
        return rows, ports
    keys = np.sort(keys)  # a sort: numpy 2's hashing np.unique is slower here
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys >> 17, keys & 0x1FFFF


def reserved_ports(tcp_column, udp_column, n: int) -> tuple[pa.ListArray, pa.ListArray]:
    """Sorted distinct reserved ports per instance (the agent's defaults where TCP is null).

    A row's problems are reported in the order TCP ports, UDP ports, then the
    count (after duplicates collapse); the first row with a problem wins.
    """
    if _all_null(tcp_column) and _all_null(udp_column):  # the usual fleet: the agent's defaults
        default = np.array(DEFAULT_RESERVED_PORTS, dtype=np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), len(default))
        return (_port_list_array(rows, np.tile(default, n), n),
                _port_list_array(rows[:0], default[:0], n))
    tcp_rows, tcp_ports, tcp_null = _flat_ports(tcp_column, n)
    udp_rows, udp_ports, _ = _flat_ports(udp_column, n)
    bad_tcp = _first_bad_port(tcp_rows, tcp_ports, "reserved_ports")
    bad_udp = _first_bad_port(udp_rows, udp_ports, "reserved_ports_udp")
    if bad_tcp or bad_udp:  # a bad port cannot be sorted or counted
        _raise_first([bad_tcp, bad_udp])
    defaulted = np.flatnonzero(tcp_null)
    tcp_rows = np.concatenate([tcp_rows, np.repeat(defaulted, len(DEFAULT_RESERVED_PORTS))])
    tcp_ports = np.concatenate([tcp_ports, np.tile(np.array(DEFAULT_RESERVED_PORTS, dtype=np.int64),
                                                   len(defaulted))])
    tcp_rows, tcp_ports = _sorted_distinct(tcp_rows, tcp_ports)
    udp_rows, udp_ports = _sorted_distinct(udp_rows, udp_ports)
    counts = np.bincount(tcp_rows, minlength=n) + np.bincount(udp_rows, minlength=n)
    if (counts > MAX_RESERVED_PORTS).any():
        row = _first_row(counts > MAX_RESERVED_PORTS)
        raise SchemaError(f"{int(counts[row])} reserved ports; at most {MAX_RESERVED_PORTS} may be "
                          "given per instance", column="reserved_ports", row=row)
    return _port_list_array(tcp_rows, tcp_ports, n), _port_list_array(udp_rows, udp_ports, n)


def host_ports(column: pa.ChunkedArray | None, n: int, name: str) -> pa.ChunkedArray:
    """A task's host-port column with every port checked and a null row as no ports."""
    rows, ports, _ = _flat_ports(column, n)
    _raise_first([_first_bad_port(rows, ports, name)])
    return pa.chunked_array([_port_list_array(rows, ports, n)])
