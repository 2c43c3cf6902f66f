"""The instance table of a batch of Auto Scaling launches joining a cluster.

A launched instance's row (what RegisterContainerInstance records for it) depends on
its shape (instance type, capacity provider, zone) apart from its instance id, its ARN
(made from the id) and its registration time. ``coerce_instances`` checks and fills in
rows of one shape the same way every time, so a fast run coerces one row per shape
once and repeats it, setting those three columns; a plain run coerces every batch.
A day of scaling registers a few instances at a time, hundreds of times, where the
coercion's fixed cost was most of a registration. The two tables are equal
(tests/region/test_launch_table.py).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from quaymaster.model.coerce import coerce_instances
from quaymaster.model.schema import TIMESTAMP, instance_arn, instance_rows_table


def _shape(row: dict) -> tuple:
    """What the coerced row depends on besides its id: every other field, hashable."""
    return tuple((name, tuple(value) if isinstance(value, list) else value)
                 for name, value in sorted(row.items()) if name != "ec2_instance_id")


class LaunchTables:
    """One coerced row per launch shape, kept (a cache: a few shapes per fleet)."""

    def __init__(self):
        self._coerced: dict[tuple, pa.Table] = {}

    def __getstate__(self):   # a cache: a snapshot starts without it
        return {}

    def __setstate__(self, state) -> None:
        self._coerced = {}

    def table(self, rows: list[dict], *, cluster: str, region: str, account: str,
              registered_at: datetime) -> pa.Table:
        """What ``coerce_instances(instance_rows_table(rows), ...)`` gives for these rows, whose
        ``ec2_instance_id`` values are distinct, non-empty instance ids (an Auto Scaling
        group's): each row's shape coerced once, its id, ARN and registration time set."""
        pieces = [self._of_shape(row, registered_at) for row in rows]
        table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
        ids = [row["ec2_instance_id"] for row in rows]
        table = _set(table, "ec2_instance_id", pa.array(ids, pa.string()))
        table = _set(table, "container_instance_arn",
                     pa.array([instance_arn(region, account, cluster, i) for i in ids], pa.string()))
        table = _set(table, "registered_at", pa.array([registered_at] * len(rows), TIMESTAMP))
        return table.combine_chunks()

    def _of_shape(self, row: dict, registered_at: datetime) -> pa.Table:
        key = _shape(row)
        coerced = self._coerced.get(key)
        if coerced is None:
            coerced = self._coerced[key] = coerce_instances(instance_rows_table([row]), registered_at=registered_at)
        return coerced


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), values)
