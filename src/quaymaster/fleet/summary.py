"""A readable text summary of an instance table (any table of the instance schema)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import InvalidInputError
from quaymaster.fleet.catalog import CPU_UNITS_PER_VCPU

ZONE_COLUMN = "attribute:ecs.availability-zone"
TYPE_COLUMN = "attribute:ecs.instance-type"
MISSING = "(none)"
_RESOURCES = (("CPU units", "cpu"), ("Memory MiB", "memory"), ("GPUs", "gpu"))
_MIB_PER_GIB = 1024


def _total(table: pa.Table, column: str) -> int | None:
    """Sum of a column (0 for an empty table); None when the table lacks it or it has
    nulls (a null remaining is derived from live tasks, which a summary does not see)."""
    if column not in table.column_names or table.column(column).null_count:
        return None
    return int(pc.sum(table.column(column)).as_py() or 0)


def _group_counts(table: pa.Table, column: str) -> pa.Table:
    """Per value of ``column`` (nulls as MISSING): count and registered resources."""
    keys = (pc.fill_null(table.column(column), MISSING) if column in table.column_names
            else pa.array([MISSING] * table.num_rows, pa.string()))
    resource_columns = [f"{r}_registered" for _, r in _RESOURCES if f"{r}_registered" in table.column_names]
    grouped = pa.table({"key": keys, **{c: table.column(c) for c in resource_columns}})
    return grouped.group_by("key").aggregate([("key", "count")] + [(c, "sum") for c in resource_columns])


def _render(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Left-align the first column, right-align the rest."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        first = str(cells[0]).ljust(widths[0])
        rest = [str(cell).rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *[line(r) for r in rows]]


def _breakdown(table: pa.Table, column: str, title: str, by_count: bool,
               limit: int | None = None) -> list[str]:
    """One row per value of ``column``; past ``limit`` rows, the rest fold into one."""
    grouped = _group_counts(table, column).to_pylist()
    if by_count:  # most common first; ties by name so the order is deterministic
        grouped.sort(key=lambda g: (-g["key_count"], g["key"]))
    else:
        grouped.sort(key=lambda g: g["key"])
    sums = [(label, f"{r}_registered_sum") for label, r in _RESOURCES if f"{r}_registered_sum" in grouped[0]]
    if limit is not None and len(grouped) > limit:
        rest = grouped[limit:]
        folded = {"key": f"({len(rest)} more)", "key_count": sum(g["key_count"] for g in rest)}
        folded.update({key: sum(g[key] for g in rest) for _, key in sums})
        grouped = grouped[:limit] + [folded]
    headers = [title, "Instances"] + [label for label, _ in sums]
    rows = [[g["key"], f"{g['key_count']:,}"] + [f"{g[key]:,}" for _, key in sums] for g in grouped]
    return _render(headers, rows)


def summarize_fleet(table: pa.Table, max_types: int | None = 12) -> str:
    """Instances per zone and per instance type, and total CPU, memory and GPUs.

    Works on any table with the instance schema's column names; columns it
    lacks are left out, and instances without a zone or type attribute are
    counted under ``(none)``. Totals show registered and remaining resources.
    Types are listed most common first; beyond ``max_types`` (None: no limit)
    the rest are folded into one ``(N more)`` row.
    """
    if not isinstance(table, pa.Table):
        raise InvalidInputError(f"summarize_fleet takes a pyarrow Table, got {type(table).__name__}",
                                field="table", value=type(table).__name__)
    if max_types is not None and (isinstance(max_types, bool) or not isinstance(max_types, int)
                                  or max_types < 0):
        raise InvalidInputError(f"max_types must be an integer >= 0 or None, got {max_types!r}",
                                field="max_types", value=max_types)
    n = table.num_rows
    zones = (pc.count_distinct(table.column(ZONE_COLUMN)).as_py()
             if ZONE_COLUMN in table.column_names else 0)
    types = (pc.count_distinct(table.column(TYPE_COLUMN)).as_py()
             if TYPE_COLUMN in table.column_names else 0)
    lines = [f"Fleet: {n:,} instances, {zones} zones, {types} instance types", ""]
    total_rows = []
    for label, resource in _RESOURCES:
        registered = _total(table, f"{resource}_registered")
        remaining = _total(table, f"{resource}_remaining")
        if registered is None:
            continue
        row = [label, f"{registered:,}", "" if remaining is None else f"{remaining:,}"]
        if resource == "cpu":
            row.append(f"{registered / CPU_UNITS_PER_VCPU:,.0f} vCPU")
        elif resource == "memory":
            row.append(f"{registered / _MIB_PER_GIB:,.1f} GiB")
        else:
            row.append("")
        total_rows.append(row)
    lines += _render(["Total", "Registered", "Remaining", "Equivalent"], total_rows)
    if n:
        lines += ["", *_breakdown(table, ZONE_COLUMN, "Zone", by_count=False)]
        lines += ["", *_breakdown(table, TYPE_COLUMN, "Instance type", by_count=True,
                                       limit=max_types)]
    return "\n".join(lines)
