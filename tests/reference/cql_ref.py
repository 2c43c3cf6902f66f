"""Reference CQL evaluator: one instance at a time, written straight from spec/cql.md.

It shares only the parser with the library (``quaymaster.cql.parse``, which
gives the syntax tree of ``quaymaster.cql.ast``); everything about meaning is
re-derived here in the plainest Python, independent of the column lowering:
versions, times and numbers are re-parsed from the argument text, patterns
are applied with ``re.fullmatch``, and ``task:group`` is a Python set.

A **row** is a plain dict describing one container instance:

=====================  ==========================================================
key                    value
=====================  ==========================================================
``ec2InstanceId``      ``str``, the instance id
``attributes``         ``dict[str, str]``: attribute name (without ``attribute:``)
                       -> value; an attribute the instance lacks is not a key
``agentVersion``       ``str``, e.g. ``"1.14.5"``
``registeredAt``       ``datetime``, timezone-aware (UTC)
``agentConnected``     ``bool``
``runningTasksCount``  ``int``, live tasks on the instance
``groups``             ``set[str]`` (or frozenset), the groups of those live tasks
``status``             ``str`` (ACTIVE, DRAINING, INACTIVE, ...); only for listing
``arn``                ``str``, the container instance ARN; only for listing
=====================  ==========================================================

``evaluate(expression, row) -> bool`` tells whether the expression selects the
row (raises ``CQLError`` for a bad expression); ``rows_from_tables`` builds rows
from the Arrow tables of placement.md section 1; ``list_container_instances``
is ListContainerInstances over rows.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from quaymaster.cql import ast, parse
from quaymaster.model.coerce import coerce_instances, coerce_tasks
from quaymaster.model.schema import ATTRIBUTE_PREFIX

DECIMAL_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@functools.lru_cache(maxsize=4096)
def _tree(expression: str):
    return parse(expression)


def evaluate(expression: str, row: dict) -> bool:
    """Does ``expression`` select the instance described by ``row``?"""
    return evaluate_tree(_tree(expression), row)


def select(expression: str, rows: list[dict]) -> list[str]:
    """The ids of the rows the expression selects, in order."""
    tree = _tree(expression)
    return [row["ec2InstanceId"] for row in rows if evaluate_tree(tree, row)]


def list_container_instances(rows: list[dict], filter: str | None = None,
                             status: str | None = None) -> list[str]:
    """ARNs ListContainerInstances returns: no INACTIVE unless asked, then only ``status``."""
    listed = []
    for row in rows:
        if status is None and row["status"] == "INACTIVE":
            continue
        if status is not None and row["status"] != status:
            continue
        if filter is None or evaluate(filter, row):
            listed.append(row["arn"])
    return listed


def evaluate_tree(node, row: dict) -> bool:
    """Evaluate a syntax tree (``quaymaster.cql.ast`` nodes) on one row."""
    if isinstance(node, ast.And):
        return all(evaluate_tree(child, row) for child in node.operands)
    if isinstance(node, ast.Or):
        return any(evaluate_tree(child, row) for child in node.operands)
    if isinstance(node, ast.Not):
        return not evaluate_tree(node.operand, row)
    return _predicate(node, row)


# ------------------------------------------------------------------ predicates

def _predicate(p, row: dict) -> bool:
    op = p.operator
    args = [v.text for v in p.values]
    if p.kind == ast.TASK_GROUP:
        return _task_group(op, args, row["groups"])
    if p.kind == ast.ATTRIBUTE:
        value = row["attributes"].get(p.attribute)
        if value is None:          # missing: every operator is false except !exists
            return op == "!exists"
    else:
        value = _subject_value(p.kind, row)
    if op == "exists":
        return True
    if op == "!exists":
        return False
    if op in ("=~", "!~"):
        matched = re.fullmatch(args[0], _as_string(p.kind, value)) is not None
        return matched if op == "=~" else not matched
    if op in ("==", "in"):
        return any(_equal(p.kind, value, a) for a in args)
    if op in ("!=", "!in"):
        return not any(_equal(p.kind, value, a) for a in args)
    return _ordered(p.kind, op, value, args[0])


def _subject_value(kind: str, row: dict):
    return {
        ast.AGENT_CONNECTED: lambda: row["agentConnected"],
        ast.AGENT_VERSION: lambda: row["agentVersion"],
        ast.EC2_INSTANCE_ID: lambda: row["ec2InstanceId"],
        ast.REGISTERED_AT: lambda: row["registeredAt"],
        ast.RUNNING_TASKS_COUNT: lambda: row["runningTasksCount"],
    }[kind]()


def _task_group(op: str, args: list[str], groups) -> bool:
    """A set: ==, in, =~ hold when any group qualifies; !=, !in, !~ when none does."""
    if op == "exists":
        return len(groups) > 0
    if op == "!exists":
        return len(groups) == 0
    if op in ("=~", "!~"):
        qualifies = [g for g in groups if re.fullmatch(args[0], g)]
    else:
        qualifies = [g for g in groups if g in args]
    return bool(qualifies) if op in ("==", "in", "=~") else not qualifies


def _as_string(kind: str, value) -> str:
    """The string a pattern sees."""
    if kind == ast.AGENT_CONNECTED:
        return "true" if value else "false"
    if kind == ast.REGISTERED_AT:
        return value.astimezone(UTC).isoformat()
    return str(value)


def _equal(kind: str, value, argument: str) -> bool:
    if kind == ast.RUNNING_TASKS_COUNT:
        return value == int(argument)
    if kind == ast.AGENT_VERSION:
        mine = _version(value)
        return mine is not None and _version_cmp(mine, _version(argument)) == 0
    if kind == ast.REGISTERED_AT:
        return value == _time(argument)
    if kind == ast.AGENT_CONNECTED:
        return ("true" if value else "false") == argument
    return value == argument


def _ordered(kind: str, op: str, value, argument: str) -> bool:
    if kind == ast.RUNNING_TASKS_COUNT:
        a, b = value, int(argument)
    elif kind == ast.REGISTERED_AT:
        a, b = value, _time(argument)
    elif kind == ast.AGENT_VERSION:
        mine = _version(value)
        if mine is None:
            return False
        a, b = _version_cmp(mine, _version(argument)), 0
    elif DECIMAL_RE.fullmatch(value) and DECIMAL_RE.fullmatch(argument):
        a, b = Decimal(value), Decimal(argument)
    else:
        a, b = value, argument       # Python compares str by code point
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def _version(text: str) -> list[int] | None:
    parts = text.split(".")
    if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
        return None
    return [int(part) for part in parts]


def _version_cmp(a: list[int], b: list[int]) -> int:
    """Part by part as integers, the shorter padded with zeros."""
    width = max(len(a), len(b))
    a = a + [0] * (width - len(a))
    b = b + [0] * (width - len(b))
    return (a > b) - (a < b)


def _time(text: str) -> datetime:
    """The four forms of cql.md section 4; no zone means UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


# ------------------------------------------------------------------ rows

def rows_from_tables(instances, tasks=None) -> list[dict]:
    """Rows (see the module docstring) from an instance table and an optional task table.

    Both go through the library's schema coercion (defaults filled in as
    placement.md section 1 says); every task in the task table is live and
    counts toward ``runningTasksCount`` and ``groups`` of its instance.
    """
    table = coerce_instances(instances)
    ids = table.column("ec2_instance_id").to_pylist()
    attribute_columns = {name[len(ATTRIBUTE_PREFIX):]: table.column(name).to_pylist()
                         for name in table.column_names if name.startswith(ATTRIBUTE_PREFIX)}
    rows = []
    for i, instance_id in enumerate(ids):
        rows.append({
            "ec2InstanceId": instance_id,
            "attributes": {name: values[i] for name, values in attribute_columns.items()
                           if values[i] is not None},
            "agentVersion": table.column("agent_version")[i].as_py(),
            "registeredAt": table.column("registered_at")[i].as_py(),
            "agentConnected": table.column("agent_connected")[i].as_py(),
            "runningTasksCount": 0,
            "groups": set(),
            "status": table.column("status")[i].as_py(),
            "arn": table.column("container_instance_arn")[i].as_py(),
        })
    if tasks is not None:
        by_id = {row["ec2InstanceId"]: row for row in rows}
        task_table = coerce_tasks(tasks, {instance_id: i for i, instance_id in enumerate(ids)})
        for instance_id, group in zip(task_table.column("ec2_instance_id").to_pylist(),
                                      task_table.column("group").to_pylist()):
            if instance_id is not None:   # Fargate tasks are on no instance
                by_id[instance_id]["runningTasksCount"] += 1
                by_id[instance_id]["groups"].add(group)
    return rows


def table_from_rows(rows: list[dict]) -> pa.Table:
    """Not needed by the evaluator; lets tests round-trip rows to an instance table."""
    names = sorted({name for row in rows for name in row["attributes"]})
    columns = {
        "ec2_instance_id": [r["ec2InstanceId"] for r in rows],
        "agent_version": [r["agentVersion"] for r in rows],
        "agent_connected": [r["agentConnected"] for r in rows],
        "registered_at": pa.array([r["registeredAt"] for r in rows], pa.timestamp("us", tz="UTC")),
        "cpu_registered": [1024] * len(rows),
        "memory_registered": [2048] * len(rows),
    }
    for name in names:
        columns[ATTRIBUTE_PREFIX + name] = [r["attributes"].get(name) for r in rows]
    return pa.table(columns)
