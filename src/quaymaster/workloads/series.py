"""Reading a workload series: a Parquet or CSV table with ``time``, ``cpu`` and optional
``requests`` and ``memory`` columns, samples in increasing time order."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from quaymaster.errors import InvalidInputError

_COLUMNS = {"time", "cpu", "requests", "memory"}


def _fail(path: str, value, why: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: {why} (got {value!r})", field=path, value=value)


def _read(file: str, path: str) -> pa.Table:
    try:
        if file.lower().endswith((".csv", ".csv.gz")):
            import pyarrow.csv as csv
            return csv.read_csv(file)
        import pyarrow.parquet as pq
        return pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise _fail(path, file, f"cannot read the series: {exc}") from None


def _times_ms(column: pa.ChunkedArray, path: str) -> np.ndarray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = pc.cast(pc.strptime(column, format="%Y-%m-%dT%H:%M:%S", unit="ms",
                                         error_is_null=False), pa.timestamp("ms"))
        except pa.ArrowException as exc:
            raise _fail(f"{path}:time", str(column[0]), f"is not a timestamp: {exc}") from None
    if not pa.types.is_timestamp(column.type):
        raise _fail(f"{path}:time", str(column.type), "must be a timestamp column")
    return pc.cast(column, pa.timestamp("ms", tz=column.type.tz)).to_numpy().astype("datetime64[ms]") \
        .astype(np.int64)


def read_series(file, path: str) -> tuple:
    """(sample times in epoch ms, cpu, requests, memory), checked."""
    if not isinstance(file, (str, os.PathLike)) or not os.fspath(file):
        raise _fail(path, file, "must be the path of a Parquet or CSV file")
    table = _read(os.fspath(file), path)
    unknown = set(table.column_names) - _COLUMNS
    if unknown or not {"time", "cpu"} <= set(table.column_names):
        raise _fail(path, table.column_names, "the series needs time and cpu columns and may add "
                    "requests and memory, nothing else")
    times = _times_ms(table["time"], path)
    if len(times) == 0 or (np.diff(times) <= 0).any():
        raise _fail(f"{path}:time", len(times), "samples must be non-empty and strictly increasing")
    values = []
    for name in ("cpu", "requests", "memory"):
        if name not in table.column_names:
            values.append(np.zeros(len(times)))
            continue
        try:
            column = table[name].to_numpy(zero_copy_only=False).astype(np.float64)
        except (TypeError, ValueError, pa.ArrowException):
            raise _fail(f"{path}:{name}", str(table[name].type), "must be numeric") from None
        if not np.isfinite(column).all() or (column < 0).any():
            raise _fail(f"{path}:{name}", name, "must be finite and non-negative everywhere")
        values.append(column)
    return (times, *values)
