"""Building clusters and reference rows from the column dicts of the CQL test files."""

from __future__ import annotations

import json
import pathlib
from datetime import datetime

import pyarrow as pa
from reference.cql_ref import rows_from_tables

from quaymaster import Cluster
from quaymaster.model.schema import TIMESTAMP

COMPLIANCE_DIR = pathlib.Path(__file__).parent / "compliance"


def instance_table(columns: dict) -> pa.Table:
    """An Arrow instance table from JSON-style columns (``registered_at`` as ISO text)."""
    columns = dict(columns)
    if "registered_at" in columns:
        columns["registered_at"] = pa.array(
            [None if t is None else datetime.fromisoformat(t) for t in columns["registered_at"]],
            TIMESTAMP)
    fields = {name: (pa.array(values, pa.string()) if name.startswith("attribute:") else values)
              for name, values in columns.items()}
    return pa.table(fields)


def task_table(columns: dict | None) -> pa.Table | None:
    if columns is None:
        return None
    return pa.table({name: (pa.array(values, pa.string()) if name in ("ec2_instance_id", "group",
                                                                        "task_arn") else values)
                     for name, values in columns.items()})


def load(document: dict):
    """(cluster, reference rows) for a compliance document's instances and tasks."""
    instances = instance_table(document["instances"])
    tasks = task_table(document.get("tasks"))
    return Cluster.from_arrow(instances, tasks), rows_from_tables(instances, tasks)


def compliance_documents() -> list[tuple[str, dict]]:
    return [(path.name, json.loads(path.read_text())) for path in sorted(COMPLIANCE_DIR.glob("*.json"))]


def rows_from_state(cluster) -> list[dict]:
    """Reference rows of a cluster as its state is now, including in-place changes
    to ``running_tasks``, ``group_counts`` and attribute codes (as placement makes)."""
    state = cluster.state
    rows = rows_from_tables(cluster.instance_table())
    for position, row in enumerate(rows):
        row["runningTasksCount"] = int(state.running_tasks[position])
        row["groups"] = {group for group, counts in state.group_counts.items() if counts[position] > 0}
    return rows
