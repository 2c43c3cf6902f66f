"""Turn whatever a user hands in into tables of the canonical schemas.

Accepted: ``pa.Table``, ``pa.RecordBatch``, a ``RecordBatchReader``, anything
exposing ``__arrow_c_stream__`` (polars, pandas via pyarrow, duckdb, ...), a
mapping of column name to values, a list of row mappings, or a Parquet path.
Columns are cast only where the type differs and the cast is lossless (floats
holding whole numbers become integers; timestamps are kept to the microsecond);
anything that breaks the schema raises :class:`SchemaError` naming the column
and the first bad row, before anything is loaded.

An attribute value of ``""`` means the instance has the attribute without a
value (``attributes.NO_VALUE``); ``null`` means it lacks the attribute.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from quaymaster.errors import SchemaError
from quaymaster.model.port_columns import MAX_RESERVED_PORTS, host_ports, reserved_ports  # noqa: F401 (re-exported)
from quaymaster.model.string_checks import ascii_strings, distinct_by_hash
from quaymaster.model.task_fit import check_tasks_fit
from quaymaster.model.attributes import _VALUE_RE, attribute_name_problem, attribute_value_problem

#: attributes.attribute_value_problem's character rule, anchored for Arrow's (RE2) matcher.
ATTRIBUTE_VALUE_PATTERN = f"^(?:{_VALUE_RE.pattern})$"
from quaymaster.model.schema import (
    ATTRIBUTE_PREFIX,
    DEFAULT_AGENT_VERSION,
    DEFAULT_TASK_STATUS,
    INSTANCE_FIELDS,
    INSTANCE_STATUSES,
    TASK_FIELDS,
    TASK_STATUSES,
    TIMESTAMP,
    instance_arn,
    instance_schema,
    task_schema,
)



def read_table(source, what: str = "table") -> pa.Table:
    """Any supported input as one ``pa.Table`` (no schema checks yet)."""
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, (str, os.PathLike)):
        try:
            return pq.read_table(source)
        except (OSError, pa.ArrowInvalid) as exc:
            raise SchemaError(f"cannot read {what} from {str(source)!r}: {exc}", value=str(source)) from exc
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if isinstance(source, pa.RecordBatchReader) or hasattr(source, "__arrow_c_stream__"):
        return _read_stream(source, what)
    if isinstance(source, Mapping):
        return _table_from_columns(dict(source))
    if isinstance(source, (list, tuple)) and all(isinstance(row, Mapping) for row in source):
        names = list(dict.fromkeys(name for row in source for name in row))
        return _table_from_columns({name: [row.get(name) for row in source] for name in names})
    raise SchemaError(f"cannot read {what} from an object of type {type(source).__name__}",
                      value=type(source).__name__)


_BUILD_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def _read_stream(source, what: str) -> pa.Table:
    """A RecordBatchReader or an ``__arrow_c_stream__`` object, read to the end."""
    try:
        reader = source if isinstance(source, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(
            source)
        return reader.read_all()
    except (pa.ArrowException, TypeError, ValueError) as exc:  # a broken stream or capsule
        raise SchemaError(f"cannot read {what} from the Arrow stream of a {type(source).__name__}: {exc}",
                          value=type(source).__name__) from exc


def _table_from_columns(columns: dict) -> pa.Table:
    """A table from column name -> values (Arrow arrays or Python sequences)."""
    arrays = {}
    for name, values in columns.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            arrays[name] = values
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            # pa.array would read a string as its characters, and cannot read a scalar.
            raise SchemaError(f"a column must be a list of values, found {type(values).__name__}",
                              column=name, value=values)
        if isinstance(values, Iterator):
            values = list(values)  # read once here, so the error path can read it again
        try:
            arrays[name] = pa.array(values)
        except _BUILD_ERRORS as exc:
            values = list(values)
            row = _first_unbuildable_row(values)
            raise SchemaError(f"cannot make an Arrow column of these values: {exc}", column=name, row=row,
                              value=values[row]) from None
    try:
        return pa.table(arrays)
    except _BUILD_ERRORS as exc:  # columns of different lengths
        raise SchemaError(f"cannot build a table: {exc}") from None


def _first_unbuildable_row(values: list) -> int:
    """The shortest failing prefix ends at the first bad row (failure only grows with the prefix)."""
    good, bad = 0, len(values)  # values[:good] builds, values[:bad] does not
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            pa.array(values[:middle])
            good = middle
        except _BUILD_ERRORS:
            bad = middle
    return bad - 1


def _first_row(mask) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _cast_column(table: pa.Table, name: str, target: pa.DataType) -> pa.ChunkedArray:
    column = table.column(name)
    _check_utf8(column, name)
    if column.type == target:
        return column
    source = column.type
    if pa.types.is_dictionary(source):  # pandas categoricals, Parquet dictionary pages
        column, source = column.cast(source.value_type), source.value_type
        _check_utf8(column, name)
        if source == target:
            return column
    if target == TIMESTAMP and pa.types.is_timestamp(source):
        # Naive timestamps are taken as UTC, as the spec's registered_at is; finer
        # than a microsecond (pandas' nanoseconds) is truncated, not refused.
        utc = column.cast(pa.timestamp(source.unit, tz="UTC"))
        if source.unit == "ns":
            return utc.cast(TIMESTAMP, safe=False)
        try:
            return utc.cast(TIMESTAMP)
        except pa.ArrowInvalid:  # seconds or milliseconds past what microseconds in int64 hold
            ticks = pc.fill_null(utc.cast(pa.int64()), 0).to_numpy()
            limit = (2**63 - 1) // {"s": 1_000_000, "ms": 1000}[source.unit]
            row = _first_row((ticks > limit) | (ticks < -limit))
            raise SchemaError(f"timestamp {int(ticks[row])} ({source.unit} since 1970) is outside what "
                              "a microsecond timestamp holds", column=name, row=row,
                              value=int(ticks[row])) from None
    compatible = (
        (pa.types.is_integer(target) and (pa.types.is_integer(source) or pa.types.is_floating(source)))
        or (pa.types.is_string(target)
            and (pa.types.is_large_string(source) or pa.types.is_string_view(source)))
        or (pa.types.is_list(target) and (pa.types.is_list(source) or pa.types.is_large_list(source))
            and pa.types.is_integer(source.value_type))
        or (pa.types.is_boolean(target) and pa.types.is_boolean(source))
        or pa.types.is_null(source)
    )
    if compatible:
        try:
            return column.cast(target)  # safe cast: overflow and truncation raise
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            row = _first_uncastable_row(column, target)
            value = _value_at(column, row)
            raise SchemaError(f"value {value!r} does not fit type {target}",
                              column=name, row=row, value=value) from None
    # Every non-null value has the wrong type: the first of them is the bad row.
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    row = _first_row(valid) if valid.any() else 0
    raise SchemaError(f"expected type {target}, found {column.type}", column=name, row=row,
                      value=_value_at(column, row) if len(column) else None)


def _value_at(column: pa.ChunkedArray, row: int):
    """The Python value of one cell for a message; a timestamp Python cannot hold
    (nanoseconds, out of range) as its integer ticks."""
    scalar = column[row]
    try:
        return scalar.as_py()
    except (ValueError, OverflowError, pa.ArrowException):
        return getattr(scalar, "value", None)  # a timestamp's ticks since 1970


def _check_utf8(column: pa.ChunkedArray, name: str) -> None:
    """String columns (Parquet files are not checked when read) must be valid UTF-8."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return
    if ascii_strings(column):  # sound offsets over ASCII bytes: nothing more to check
        return
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        for row in range(len(column)):  # only on the error path
            try:
                column[row].as_py()
            except UnicodeDecodeError:
                raise SchemaError("a value is not valid UTF-8", column=name, row=row) from None
        raise SchemaError("the column is not a valid Arrow string array", column=name) from None


def _first_uncastable_row(column: pa.ChunkedArray, target: pa.DataType) -> int:
    """The first row whose value alone does not cast safely (only on the error path)."""
    for row, value in enumerate(column.to_pylist()):
        try:
            # Rebuilt from the Python value: a sliced list array would still carry
            # (and cast) every child value of the column.
            pa.array([value], column.type).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return row
    return 0


def _check_required(column: pa.ChunkedArray, name: str) -> None:
    if column.null_count:
        row = _first_row(pc.is_null(column).to_numpy(zero_copy_only=False))
        raise SchemaError("a required value is missing (null)", column=name, row=row)


def _check_non_negative(column: pa.ChunkedArray, name: str) -> None:
    negative = pc.fill_null(pc.less(column, 0), False).to_numpy(zero_copy_only=False)
    if negative.any():
        row = _first_row(negative)
        raise SchemaError(f"must be >= 0, found {column[row].as_py()}", column=name, row=row,
                          value=column[row].as_py())


def _check_unique(column: pa.ChunkedArray, name: str) -> None:
    """No value twice (a second null counts as a duplicate, as a repeated value does)."""
    if len(column) < 2 or distinct_by_hash(column):
        return
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    if len(encoded.dictionary) == len(encoded):
        return
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")  # rows of one value together, in row order
    repeats = order[1:][codes[order[1:]] == codes[order[:-1]]]
    row = int(repeats.min())
    value = column[row].as_py()
    raise SchemaError(f"duplicate value {value!r}", column=name, row=row, value=value)


def _check_not_empty(column: pa.ChunkedArray, name: str) -> None:
    empty = pc.fill_null(pc.equal(pc.utf8_length(column), 0), False).to_numpy(zero_copy_only=False)
    if empty.any():
        raise SchemaError("must not be an empty string", column=name, row=_first_row(empty), value="")


def _check_in(column: pa.ChunkedArray, name: str, allowed, note: str = "") -> None:
    unknown = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=pa.array(allowed))))
    if pc.any(unknown).as_py():
        row = _first_row(unknown.to_numpy(zero_copy_only=False))
        value = column[row].as_py()
        raise SchemaError(f"{value!r} is not one of {', '.join(allowed)}{note}", column=name,
                          row=row, value=value)


def check_attribute_name(name: str, *, column: str | None = None, row: int | None = None) -> None:
    problem = attribute_name_problem(name)
    if problem:
        raise SchemaError(problem, column=column or name, row=row, value=name)


def check_attribute_value(value: str, *, column: str, row: int | None = None) -> None:
    problem = attribute_value_problem(value)
    if problem:
        raise SchemaError(problem, column=column, row=row, value=value)


def _check_distinct_names(table: pa.Table) -> None:
    seen: set[str] = set()
    for name in table.column_names:
        if name in seen:
            raise SchemaError("the column appears twice", column=name)
        seen.add(name)


def _fill(column: pa.ChunkedArray | None, n: int, default, typ) -> pa.ChunkedArray:
    if column is None:
        return pa.chunked_array([pa.repeat(pa.scalar(default, typ), n)], typ)
    if default is None:
        return column
    return pc.fill_null(column, pa.scalar(default, typ))


def coerce_instances(source, *, cluster: str = "default", region: str = "us-east-1",
                     account: str = "000000000000", registered_at=None) -> pa.Table:
    """The instance table of docs/semantics.md (placement, ECS contract section 1), defaults filled in.

    ``*_remaining`` columns stay null where not given: the cluster derives them
    from the live tasks. ``registered_at`` (a timestamp) fills missing times.
    """
    if registered_at is not None and not isinstance(registered_at, datetime):
        raise SchemaError(f"registered_at must be a datetime, found {registered_at!r}",
                          column="registered_at", value=registered_at)
    table = read_table(source, "instances")
    known = {name for name, _, _ in INSTANCE_FIELDS}
    for name in table.column_names:
        if name not in known and not name.startswith(ATTRIBUTE_PREFIX):
            raise SchemaError("unknown column (instance columns are those of docs/semantics.md (placement) "
                              "section 1, attributes are 'attribute:<name>')", column=name)
    _check_distinct_names(table)
    columns = _cast_fields(table, INSTANCE_FIELDS)
    _check_unique(columns["ec2_instance_id"], "ec2_instance_id")
    _check_not_empty(columns["ec2_instance_id"], "ec2_instance_id")
    for name in ("cpu_registered", "memory_registered", "gpu_registered", "eni_limit",
                 "cpu_remaining", "memory_remaining", "gpu_remaining"):
        if columns[name] is not None:
            _check_non_negative(columns[name], name)
    if columns["status"] is not None:
        _check_in(columns["status"], "status", INSTANCE_STATUSES)
    _fill_instance_defaults(columns, table.num_rows, registered_at=registered_at,
                            arn_prefix=instance_arn(region, account, cluster, ""))
    attribute_names = sorted(name[len(ATTRIBUTE_PREFIX):] for name in table.column_names
                             if name.startswith(ATTRIBUTE_PREFIX))
    for attr in attribute_names:
        columns[ATTRIBUTE_PREFIX + attr] = _attribute_column(table, attr)
    schema = instance_schema(attribute_names)
    return pa.Table.from_arrays([_one_chunk(columns[f.name]) for f in schema], schema=schema)


def _one_chunk(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The column as one array (without a copy when it already is one chunk)."""
    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column


def _cast_fields(table: pa.Table, fields) -> dict[str, pa.ChunkedArray | None]:
    """Each schema column cast to its type (None when absent); required ones present and non-null."""
    columns: dict[str, pa.ChunkedArray | None] = {}
    for name, typ, required in fields:
        if name not in table.column_names:
            if required:
                raise SchemaError("required column is missing", column=name)
            columns[name] = None
            continue
        columns[name] = _cast_column(table, name, typ)
        if required:
            _check_required(columns[name], name)
    return columns


def _fill_instance_defaults(columns: dict, n: int, *, arn_prefix: str, registered_at) -> None:
    """Default values of docs/semantics.md (placement, ECS contract section 1), in place; ARNs unique, ports checked."""
    derived = pc.binary_join_element_wise(arn_prefix, columns["ec2_instance_id"], "")
    given_arns = columns["container_instance_arn"]
    arns = derived if given_arns is None else pc.coalesce(given_arns, derived)
    columns["container_instance_arn"] = arns
    # ARNs made from the (unique, non-empty) instance ids need no second look.
    if given_arns is not None and not pc.all(pc.equal(arns, derived)).as_py():
        _check_unique(arns, "container_instance_arn")
        _check_not_empty(arns, "container_instance_arn")
    columns["status"] = _fill(columns["status"], n, "ACTIVE", pa.string())
    columns["agent_connected"] = _fill(columns["agent_connected"], n, True, pa.bool_())
    columns["agent_version"] = _fill(columns["agent_version"], n, DEFAULT_AGENT_VERSION, pa.string())
    columns["gpu_registered"] = _fill(columns["gpu_registered"], n, 0, pa.int64())
    when = registered_at if registered_at is not None else datetime.now(timezone.utc)
    columns["registered_at"] = _fill(columns["registered_at"], n, when, TIMESTAMP)
    tcp, udp = reserved_ports(columns["reserved_ports"], columns["reserved_ports_udp"], n)
    columns["reserved_ports"] = pa.chunked_array([tcp])
    columns["reserved_ports_udp"] = pa.chunked_array([udp])
    for name in ("eni_limit", "cpu_remaining", "memory_remaining", "gpu_remaining", "capacity_provider"):
        if columns[name] is None:
            typ = pa.string() if name == "capacity_provider" else pa.int64()
            columns[name] = pa.chunked_array([pa.nulls(n, typ)])


def _attribute_column(table: pa.Table, attr: str) -> pa.ChunkedArray:
    """The ``attribute:<attr>`` column as strings, its name and every value checked."""
    column_name = ATTRIBUTE_PREFIX + attr
    check_attribute_name(attr, column=column_name)
    column = _cast_column(table, column_name, pa.string())
    # Decided once per distinct value (a fleet repeats a few values over many instances).
    encoded = pc.dictionary_encode(column.combine_chunks())
    valid = _valid_attribute_values(encoded.dictionary).to_numpy(zero_copy_only=False)
    if not valid.all():
        codes = pc.fill_null(encoded.indices, -1).to_numpy()
        bad = (codes >= 0) & ~valid[np.maximum(codes, 0)]
        row = _first_row(bad)
        check_attribute_value(column[row].as_py(), column=column_name, row=row)
    return column


_FEW_VALUES = 16   # below this many distinct values, Python's matcher beats Arrow's call overhead


def _valid_attribute_values(values: pa.Array) -> pa.Array:
    """True where a value passes ``attribute_value_problem``: the same rule, decided by
    Arrow's (RE2) matcher over a whole array (by Python's for a few values: one
    registration's, where Arrow's fixed cost per call was most of RegisterContainerInstance)."""
    return _valid_few(values) if len(values) <= _FEW_VALUES else _valid_many(values)


def _valid_few(values: pa.Array) -> pa.Array:
    return pa.array([v == "" or (_VALUE_RE.fullmatch(v) is not None and v == v.strip(" "))
                     for v in values.to_pylist()], pa.bool_())


def _valid_many(values: pa.Array) -> pa.Array:
    matches = pc.match_substring_regex(values, ATTRIBUTE_VALUE_PATTERN)
    padded = pc.or_(pc.starts_with(values, " "), pc.ends_with(values, " "))
    return pc.or_(pc.equal(pc.utf8_length(values), 0), pc.and_(matches, pc.invert(padded)))


def coerce_tasks(source, instance_ids: dict[str, int], *, instances: pa.Table | None = None) -> pa.Table:
    """The live-task table of docs/semantics.md (placement, ECS contract section 1), defaults filled in.

    ``instance_ids`` maps each known ec2_instance_id to its position; a task on
    an unknown instance is refused. Given the (coerced) ``instances`` table too,
    the tasks must fit them: resources summed per instance within what it
    registered, host ports free of the reserved ones and of each other
    (:func:`quaymaster.model.task_fit.check_tasks_fit`).
    """
    table = read_table(source, "tasks")
    known = {name for name, _, _ in TASK_FIELDS}
    for name in table.column_names:
        if name not in known:
            raise SchemaError("unknown column (task columns are those of docs/semantics.md (placement, ECS contract section 1))",
                              column=name)
    _check_distinct_names(table)
    n = table.num_rows
    columns = _cast_fields(table, TASK_FIELDS)
    _check_unique(columns["task_arn"], "task_arn")
    _check_not_empty(columns["task_arn"], "task_arn")
    for name in ("cpu", "memory", "gpu", "eni"):
        columns[name] = _fill(columns[name], n, 0, pa.int64())
        _check_non_negative(columns[name], name)
    if columns["ec2_instance_id"] is not None:
        known_ids = pa.array(list(instance_ids), pa.string())
        unknown = pc.and_(pc.is_valid(columns["ec2_instance_id"]),
                          pc.invert(pc.is_in(columns["ec2_instance_id"], value_set=known_ids)))
        if pc.any(unknown).as_py():
            row = _first_row(unknown.to_numpy(zero_copy_only=False))
            value = columns["ec2_instance_id"][row].as_py()
            raise SchemaError(f"task on unknown instance {value!r}", column="ec2_instance_id",
                              row=row, value=value)
    else:
        columns["ec2_instance_id"] = pa.chunked_array([pa.nulls(n, pa.string())])
    columns["last_status"] = _fill(columns["last_status"], n, DEFAULT_TASK_STATUS, pa.string())
    _check_in(columns["last_status"], "last_status", TASK_STATUSES,
              " (stopped tasks are not live and do not belong in the table)")
    columns["daemon"] = _fill(columns["daemon"], n, False, pa.bool_())
    for name in ("host_ports", "host_ports_udp"):
        columns[name] = host_ports(columns[name], n, name)
    schema = task_schema()
    table = pa.Table.from_arrays([_one_chunk(columns[f.name]) for f in schema], schema=schema)
    if instances is not None:
        check_tasks_fit(table, instances)
    return table
