"""The cluster's running tallies of its tasks not yet STOPPED (what the minute samples read) agree
with a plain recount of every task, over random histories of RunTask (EC2 and Fargate), a
service, StopTask, instance deregistration and time; and the metric rows kept as columns build
the same table as the rows themselves."""

from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from quaymaster.region.state import tally_key
from quaymaster.simulation.metric_rows import MetricRows
from quaymaster.simulation.tables import SCHEMAS
from servicekit import call, region_with, web_definition

FARGATE_DEF = {"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "512", "memory": "1024", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}


def plain_tally(record) -> Counter:
    """The tallies recounted from every task of the cluster."""
    out: Counter = Counter()
    for task in record.tasks.values():
        if task.last_status != "STOPPED":
            key = tally_key(task)
            out[key + ("tasks",)] += 1
            out[key + ("cpu",)] += task.cpu
            out[key + ("memory",)] += task.memory
    return out


def kept_tally(record) -> Counter:
    out: Counter = Counter()
    for key, (count, cpu, memory) in record.live_tally().items():
        if count:
            out.update({key + ("tasks",): count, key + ("cpu",): cpu, key + ("memory",): memory})
        else:
            assert cpu == memory == 0, (key, cpu, memory)
    return +out


def a_region():
    region = region_with(3, seed=5, cpu=2048, memory=4096)
    region.fargate.set_subnet_zones({"subnet-a": "us-east-1a"})
    call(region, "RegisterTaskDefinition", web_definition(cpu=512, memory=256))
    call(region, "RegisterTaskDefinition", FARGATE_DEF)
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                   "desiredCount": 2})
    return region


STEPS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(1, 4)),
    st.tuples(st.just("fargate"), st.integers(1, 3)),
    st.tuples(st.just("desired"), st.integers(0, 8)),
    st.tuples(st.just("stop"), st.integers(0, 50)),
    st.tuples(st.just("deregister"), st.integers(0, 2)),
    st.tuples(st.just("advance"), st.integers(1, 120))), min_size=1, max_size=14)


def apply(region, step) -> None:
    kind, n = step
    record = region.clusters["prod"]
    if kind == "run":
        call(region, "RunTask", {"cluster": "prod", "taskDefinition": "web", "count": n})
    elif kind == "fargate":
        call(region, "RunTask", {"cluster": "prod", "taskDefinition": "fg", "launchType": "FARGATE",
                                 "count": n, "networkConfiguration": NETWORK})
    elif kind == "desired":
        call(region, "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": n})
    elif kind == "stop":
        live = [t for t in record.tasks.values() if t.last_status != "STOPPED"]
        if live:
            call(region, "StopTask", {"cluster": "prod", "task": live[n % len(live)].arn})
    elif kind == "deregister":
        arns = call(region, "ListContainerInstances", {"cluster": "prod"})["containerInstanceArns"]
        if len(arns) > 1:
            call(region, "DeregisterContainerInstance", {"cluster": "prod", "force": True,
                                                         "containerInstance": arns[n % len(arns)]})
    else:
        region.advance(n)


@settings(max_examples=30, deadline=None)
@given(STEPS)
def test_the_kept_tallies_equal_a_recount_after_every_step(steps):
    region = a_region()
    record = region.clusters["prod"]
    assert kept_tally(record) == plain_tally(record)
    for step in steps:
        apply(region, step)
        assert kept_tally(record) == plain_tally(record), step


ROWS = st.lists(st.tuples(
    st.integers(0, 2**40), st.sampled_from(["service", "cluster", "asg"]),
    st.sampled_from(["prod", "dev", None]), st.sampled_from(["web", "api", "cp"]),
    st.sampled_from(["N", "M", "desiredCount"]),
    st.floats(allow_nan=True, allow_infinity=True)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), ROWS), max_size=6))
def test_metric_rows_as_columns_build_the_table_of_the_rows(batches):
    kept, rows = MetricRows(), []
    for as_block, batch in batches:
        if as_block and batch:   # a block shares the first row's time, scope and cluster
            time, scope, cluster = batch[0][:3]
            batch = [(time, scope, cluster, *row[3:]) for row in batch]
            kept.add_block(time, scope, cluster, np.array([kept.code(r[3]) for r in batch], np.int64),
                           np.array([kept.code(r[4]) for r in batch], np.int64),
                           np.array([r[5] for r in batch], np.float64))
        else:
            for row in batch:
                kept.add(*row)
        rows += batch
    schema = SCHEMAS["metrics"]
    expected = pa.table([pa.array([row[k] for row in rows], f.type) for k, f in enumerate(schema)],
                        schema=schema)
    built = pa.table(kept.arrays(schema), schema=schema)
    assert _ipc(built) == _ipc(expected)
    assert kept.count == len(rows)
    assert [_same(a, b) for a, b in zip(kept.rows(), rows)] == [True] * len(rows)


def _same(a: tuple, b: tuple) -> bool:
    return a[:5] == b[:5] and (a[5] == b[5] or (a[5] != a[5] and b[5] != b[5]))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@settings(max_examples=30, deadline=None)
@given(STEPS, st.booleans())
def test_the_kept_busy_instances_equal_the_plain_walk_after_every_step(steps, with_daemon):
    from quaymaster.region.scaling_host import busy_instances
    region = a_region()
    if with_daemon:   # DAEMON tasks do not make an instance busy
        call(region, "CreateService", {"cluster": "prod", "serviceName": "agent", "taskDefinition": "web",
                                       "schedulingStrategy": "DAEMON"})
    record = region.clusters["prod"]
    assert record.busy_instances == busy_instances(record)
    for step in steps:
        apply(region, step)
        assert record.busy_instances == busy_instances(record), step
        assert set(record._busy) == record.busy_instances and all(record._busy.values())
