"""Properties of the data model on random valid tables (hypothesis).

- A table already in canonical form comes back unchanged from ``from_arrow`` /
  ``instance_table`` / ``task_table`` and from a Parquet round trip (attribute
  columns no instance has are not kept: null means "lacks it" either way).
- Any valid table reaches that canonical form in one step (a fixpoint).
- The derived state (remaining resources, task counters, ports in use) equals a
  naive count over the rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.model.coerce import coerce_instances
from quaymaster.model.schema import (
    ATTRIBUTE_PREFIX,
    DEFAULT_RESERVED_PORTS,
    INSTANCE_STATUSES,
    TASK_STATUSES,
    TIMESTAMP,
    instance_arn,
    instance_schema,
    task_schema,
)

CLUSTER, REGION, ACCOUNT = "c1", "eu-west-1", "123456789012"
EXAMPLES = settings(max_examples=40, deadline=None)

# Small pools keep generation cheap; the validation of names and values has its
# own table tests (test_model_attributes.py, test_model_schema_refusal.py).
ids = st.lists(st.integers(0, 10**6), unique=True, max_size=8).map(lambda ks: [f"i-{k:x}" for k in ks])
attribute_names = st.lists(st.sampled_from(["ecs.availability-zone", "ecs.instance-type", "stack", "a",
                                            "team/x", "back\\slash", "n" * 128]), unique=True, max_size=3)
attribute_values = st.sampled_from([None, None, "", "us-east-1a", "prod", "x y", "v@1:2/3\\4.5_6-7",
                                    "v" * 128])  # None: lacks it; "": present without a value
agent_versions = st.sampled_from(["1.0.0", "1.14.5", "1.9.10", "2.0"])
capacity_providers = st.sampled_from([None, "spot", "on-demand"])
amounts = st.integers(0, 2**40)
ports = st.lists(st.integers(1, 65535), unique=True, max_size=5).map(sorted)
times = st.integers(0, 7 * 10**15)  # microseconds since the epoch, up to the 2190s


def column(strategy, n):
    return st.lists(strategy, min_size=n, max_size=n)


@st.composite
def canonical_instances(draw) -> pa.Table:
    """An instance table exactly as the library writes it."""
    ec2_ids = draw(ids)
    names = sorted(draw(attribute_names))
    n = len(ec2_ids)
    columns = {
        "ec2_instance_id": ec2_ids,
        "container_instance_arn": [instance_arn(REGION, ACCOUNT, CLUSTER, i) if custom
                                   else f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/u{k}"
                                   for k, (i, custom) in enumerate(zip(ec2_ids, draw(column(st.booleans(), n))))],
        "status": draw(column(st.sampled_from(INSTANCE_STATUSES), n)),
        "agent_connected": draw(column(st.booleans(), n)),
        "agent_version": draw(column(agent_versions, n)),
        "registered_at": pa.array(draw(column(times, n)), pa.int64()).cast(TIMESTAMP),
        "eni_limit": draw(column(st.none() | st.integers(0, 20), n)),
        "reserved_ports": draw(column(ports, n)),
        "reserved_ports_udp": draw(column(ports, n)),
        "capacity_provider": draw(column(capacity_providers, n)),
    }
    for name in ("cpu", "memory", "gpu"):
        columns[f"{name}_registered"] = draw(column(amounts, n))
        columns[f"{name}_remaining"] = draw(column(amounts, n))
    for name in names:
        columns[ATTRIBUTE_PREFIX + name] = draw(column(attribute_values, n))
    schema = instance_schema(names)
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


@st.composite
def canonical_tasks(draw, ec2_ids: list[str]) -> pa.Table:
    n = draw(st.integers(0, 10))
    columns = {
        "task_arn": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/t{k}" for k in range(n)],
        "ec2_instance_id": draw(column(st.sampled_from([None, *ec2_ids]), n)),
        "group": draw(column(st.sampled_from(["family:a", "family:b", "service:s"]), n)),
        "cpu": draw(column(st.integers(0, 4096), n)),
        "memory": draw(column(st.integers(0, 8192), n)),
        "gpu": draw(column(st.sampled_from([0, 0, 0, 1]), n)),
        "host_ports": draw(column(ports, n)),
        "host_ports_udp": draw(column(ports, n)),
        "last_status": draw(column(st.sampled_from(TASK_STATUSES), n)),
        "daemon": draw(column(st.booleans(), n)),
        "eni": draw(column(st.integers(0, 1), n)),
    }
    schema = task_schema()
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


@st.composite
def clusters(draw):
    instances = draw(canonical_instances())
    tasks = fitting(instances, draw(canonical_tasks(instances.column("ec2_instance_id").to_pylist())))
    order = draw(st.permutations(instances.column_names))
    return instances, tasks, instances.select(order)


def fitting(instances: pa.Table, tasks: pa.Table) -> pa.Table:
    """The tasks a loader accepts, in order: each must fit what its instance registered and
    take host ports no earlier task and no reserved port holds (the rest are dropped)."""
    rows = instances.to_pylist()
    position = {row["ec2_instance_id"]: p for p, row in enumerate(rows)}
    held = [{"cpu": 0, "memory": 0, "gpu": 0} for _ in rows]
    used = [{"tcp": set(row["reserved_ports"]), "udp": set(row["reserved_ports_udp"])} for row in rows]
    keep = []
    for k, task in enumerate(tasks.to_pylist()):
        p = position.get(task["ec2_instance_id"])
        if p is not None:
            ports = {"tcp": task["host_ports"], "udp": task["host_ports_udp"]}
            if any(held[p][r] + task[r] > rows[p][f"{r}_registered"] for r in held[p]) or any(
                    len(set(v)) < len(v) or used[p][proto] & set(v) for proto, v in ports.items()):
                continue
            for r in held[p]:
                held[p][r] += task[r]
            for proto, v in ports.items():
                used[p][proto] |= set(v)
        keep.append(k)
    return tasks.take(pa.array(keep, pa.int64()))


def without_empty_attributes(table: pa.Table) -> pa.Table:
    keep = [name for name in table.column_names
            if not name.startswith(ATTRIBUTE_PREFIX) or table.column(name).null_count < table.num_rows]
    return table.select(keep)


def load(instances, tasks=None) -> Cluster:
    return Cluster.from_arrow(instances, tasks, name=CLUSTER, region=REGION, account=ACCOUNT)


@EXAMPLES
@given(clusters())
def test_canonical_tables_come_back_unchanged(case):
    instances, tasks, shuffled = case
    assert coerce_instances(instances, cluster=CLUSTER, region=REGION, account=ACCOUNT).equals(instances)
    cluster = load(shuffled, tasks)
    assert cluster.instance_table().equals(without_empty_attributes(instances))
    assert cluster.task_table().equals(tasks)


@EXAMPLES
@given(clusters())
def test_parquet_round_trip_is_lossless(case):
    instances, tasks, _ = case
    with tempfile.TemporaryDirectory() as folder:
        instances_path, tasks_path = Path(folder) / "i.parquet", Path(folder) / "t.parquet"
        load(instances, tasks).to_parquet(instances_path, tasks_path)
        assert pq.read_table(instances_path).equals(without_empty_attributes(instances))
        assert pq.read_table(tasks_path).equals(tasks)
        reloaded = Cluster.from_parquet(instances_path, tasks_path, name=CLUSTER, region=REGION, account=ACCOUNT)
    assert reloaded.instance_table().equals(without_empty_attributes(instances))
    assert reloaded.task_table().equals(tasks)


def held_by_tasks(instances: pa.Table, tasks: pa.Table, resource: str) -> np.ndarray:
    position = {i: p for p, i in enumerate(instances.column("ec2_instance_id").to_pylist())}
    held = np.zeros(instances.num_rows, dtype=np.int64)
    for host, amount in zip(tasks.column("ec2_instance_id").to_pylist(), tasks.column(resource).to_pylist()):
        if host is not None:
            held[position[host]] += amount
    return held


@st.composite
def partial_clusters(draw):
    """Valid tables with optional columns left out and remaining partly null.

    Remaining is left to be derived only where the tasks fit in the registered
    amount: an over-committed instance would derive a negative remaining, which
    the table schema then refuses on reload (reported to the cluster.py owner).
    """
    instances, tasks, _ = draw(clusters())
    optional = [name for name in instances.column_names
                if name not in ("ec2_instance_id", "cpu_registered", "memory_registered")]
    dropped = draw(st.sets(st.sampled_from(optional))) if optional else set()
    table = instances
    for resource in ("cpu", "memory", "gpu"):
        registered_name = f"{resource}_registered"
        registered = (np.zeros(table.num_rows, np.int64) if registered_name in dropped
                      else np.asarray(table.column(registered_name).to_pylist(), dtype=np.int64))
        fits = registered >= held_by_tasks(instances, tasks, resource)
        name = f"{resource}_remaining"
        if name in dropped and not fits.all():
            dropped.discard(name)
        hide = np.asarray(draw(column(st.booleans(), table.num_rows)), dtype=bool) & fits
        values = [None if h else v for h, v in zip(hide.tolist(), table.column(name).to_pylist())]
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, pa.int64()))
    table = table.drop_columns(sorted(dropped))
    # Left-out columns take their defaults (gpu 0, the agent's reserved ports): keep the tasks
    # that still fit.
    return table, fitting(coerce_instances(table, cluster=CLUSTER, region=REGION, account=ACCOUNT), tasks)


@EXAMPLES
@given(partial_clusters())
def test_any_valid_table_reaches_the_canonical_form_in_one_step(case):
    instances, tasks = case
    once = load(instances, tasks)
    table = once.instance_table()
    twice = load(table, once.task_table())
    assert twice.instance_table().equals(table)
    assert twice.task_table().equals(once.task_table())


@EXAMPLES
@given(partial_clusters())
def test_derived_state_equals_a_naive_count(case):
    instances, tasks = case
    cluster = load(instances, tasks)
    rows, task_rows = instances.to_pylist(), tasks.to_pylist()
    for p, row in enumerate(rows):
        mine = [t for t in task_rows if t["ec2_instance_id"] == row["ec2_instance_id"]]
        for resource in ("cpu", "memory", "gpu"):
            registered = row.get(f"{resource}_registered") or 0  # gpu_registered may be left out
            given_remaining = row.get(f"{resource}_remaining")
            expected = given_remaining if given_remaining is not None else registered - sum(t[resource] for t in mine)
            assert getattr(cluster.state, f"{resource}_remaining")[p] == expected, resource
        assert cluster.state.running_tasks[p] == len(mine)
        assert cluster.state.eni_used[p] == sum(t["eni"] for t in mine)
        for group in {t["group"] for t in task_rows}:
            assert cluster.state.group_count(group)[p] == sum(t["group"] == group for t in mine)
        tcp = row.get("reserved_ports")
        udp = row.get("reserved_ports_udp")
        agent_tcp = set(DEFAULT_RESERVED_PORTS if tcp is None else tcp)
        agent_udp = set(udp or ())
        described = cluster.describe_container_instances([row["ec2_instance_id"]])["containerInstances"][0]
        remaining = {e["name"]: e for e in described["remainingResources"]}
        in_use_tcp = agent_tcp.union(*(t["host_ports"] for t in mine))
        in_use_udp = agent_udp.union(*(t["host_ports_udp"] for t in mine))
        assert remaining["PORTS"]["stringSetValue"] == [str(x) for x in sorted(in_use_tcp)]
        assert remaining["PORTS_UDP"]["stringSetValue"] == [str(x) for x in sorted(in_use_udp)]
        wanted_running = {"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"}
        assert described["runningTasksCount"] == sum(t["last_status"] in wanted_running for t in mine)
        assert described["pendingTasksCount"] == sum(t["last_status"] == "PENDING" for t in mine)


@EXAMPLES
@given(clusters(), st.integers(0, 8))
def test_registering_in_two_batches_equals_loading_at_once(case, split):
    instances, _, _ = case
    split = min(split, instances.num_rows)
    whole = load(instances)
    parts = Cluster(CLUSTER, region=REGION, account=ACCOUNT)
    assert list(parts.register_instances(instances.slice(0, split))) == list(range(split))
    assert list(parts.register_instances(instances.slice(split))) == list(range(split, instances.num_rows))
    assert parts.instance_table().equals(whole.instance_table())
    assert np.array_equal(parts.port_keys(), whole.port_keys())
