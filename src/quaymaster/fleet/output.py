"""Writing fleets to Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_fleet(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` as Parquet, creating missing parent folders.

    The file is written next to its destination and renamed into place, so an
    interrupted write never leaves a truncated Parquet file behind. Same table,
    same bytes: the writer's options are fixed here.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        pq.write_table(table, partial, compression="zstd")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
