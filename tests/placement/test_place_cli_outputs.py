"""``quaymaster place``'s chaining outputs (--tasks-out, --instances-out) and failure formats.

Chained calls must place exactly as the same requests on one cluster; every
failure format must describe the same per-task failures.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_place_cli import WORDPRESS, fleet, run_place

from quaymaster import Cluster
from quaymaster.cli.failures import failures_format, grouped_failures, index_ranges
from quaymaster.errors import InvalidInputError

WEB = {"family": "web", "containerDefinitions": [
    {"name": "web", "image": "nginx", "cpu": 256, "memory": 512,
     "portMappings": [{"containerPort": 80, "hostPort": 0}, {"containerPort": 443, "hostPort": 8443}]}]}
SPREAD = [{"type": "spread", "field": "instanceId"}]


def write_request(path, body) -> str:
    path.write_text(json.dumps(body))
    return str(path)


def test_chained_calls_place_like_one_cluster(tmp_path):
    instances = fleet(*[{}] * 4)
    pq.write_table(instances, tmp_path / "fleet.parquet")
    first = write_request(tmp_path / "a.json", {"taskDefinition": WEB, "count": 3, "placementStrategy": SPREAD})
    second = write_request(tmp_path / "b.json", {"taskDefinition": WEB, "count": 3, "placementStrategy": SPREAD})
    status, _, err = run_place("--instances", tmp_path / "fleet.parquet", "--request", first,
                               "--out", tmp_path / "a.parquet", "--seed", 3,
                               "--instances-out", tmp_path / "after" / "i.parquet",
                               "--tasks-out", tmp_path / "after" / "t.parquet")
    assert (status, err) == (0, "")
    status, out, err = run_place("--instances", tmp_path / "after" / "i.parquet",
                                 "--tasks", tmp_path / "after" / "t.parquet", "--request", second,
                                 "--out", tmp_path / "b.parquet", "--seed", 4,
                                 "--failures", tmp_path / "b.json.out")
    assert (status, err) == (0, "")
    # The same two requests on one cluster in memory.
    cluster = Cluster.from_arrow(instances)
    one = cluster.run_task(WEB, count=3, placement_strategy=SPREAD, seed=3)
    two = cluster.run_task(WEB, count=3, placement_strategy=SPREAD, seed=4)
    columns = ["task_index", "ec2_instance_id", "host_ports"]
    assert pq.read_table(tmp_path / "a.parquet").select(columns) == one.placements.select(columns)
    assert pq.read_table(tmp_path / "b.parquet").select(columns) == two.placements.select(columns)
    assert json.loads((tmp_path / "b.json.out").read_text()) == list(two.failures)
    assert two.failed_count == 2  # 8443 is static: one task per instance, four instances


def test_tasks_out_round_trips_through_tasks(tmp_path):
    pq.write_table(fleet({}, {}), tmp_path / "fleet.parquet")
    request = write_request(tmp_path / "r.json", {"taskDefinition": WORDPRESS, "count": 1})
    args = ["--instances", tmp_path / "fleet.parquet", "--request", request, "--out", tmp_path / "p.parquet"]
    assert run_place(*args, "--tasks-out", tmp_path / "t1.parquet", "--instances-out", tmp_path / "i1.parquet")[0] == 0
    args = ["--instances", tmp_path / "i1.parquet", "--tasks", tmp_path / "t1.parquet", "--request", request,
            "--out", tmp_path / "p2.parquet", "--tasks-out", tmp_path / "t2.parquet"]
    status, out, _ = run_place(*args)
    assert status == 0 and out.strip() == "placed 1 of 1 tasks"
    # Port 80 is taken on the first task's instance: the second goes to the other one.
    first, second = (pq.read_table(tmp_path / p).column("ec2_instance_id")[0].as_py()
                     for p in ("p.parquet", "p2.parquet"))
    assert {first, second} == {"i-0", "i-1"}
    assert pq.read_table(tmp_path / "t2.parquet").num_rows == 2


def failing_run(tmp_path, *extra):
    """Ten wordpress tasks on two instances: two placed, eight fail alike."""
    pq.write_table(fleet({}, {}), tmp_path / "fleet.parquet")
    request = write_request(tmp_path / "r.json", {"taskDefinition": WORDPRESS, "count": 10})
    status, _, err = run_place("--instances", tmp_path / "fleet.parquet", "--request", request,
                               "--out", tmp_path / "p.parquet", *extra)
    assert (status, err) == (0, "")
    cluster = Cluster.from_arrow(fleet({}, {}))
    return cluster.run_task(WORDPRESS, count=10, seed=0)  # place's --seed defaults to 0


def test_failure_formats_describe_the_same_failures(tmp_path):
    expected = failing_run(tmp_path, "--failures", tmp_path / "list.json")
    rows = list(expected.failures)
    assert json.loads((tmp_path / "list.json").read_text()) == rows
    failing_run(tmp_path, "--failures", tmp_path / "f.parquet")  # detected from the name
    assert pq.read_table(tmp_path / "f.parquet").to_pylist() == rows
    failing_run(tmp_path, "--failures", tmp_path / "g.json", "--failures-format", "grouped")
    grouped = json.loads((tmp_path / "g.json").read_text())
    assert grouped == [{"reason": "RESOURCE:PORTS", "arn": rows[0]["arn"], "detail": rows[0]["detail"],
                        "count": 8, "task_index_ranges": [[2, 9]]}]


def test_failures_format_without_a_file_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="--failures-format"):
        failures_format(None, "grouped")
    pq.write_table(fleet({}), tmp_path / "fleet.parquet")
    request = write_request(tmp_path / "r.json", {"taskDefinition": WORDPRESS})
    status, _, err = run_place("--instances", tmp_path / "fleet.parquet", "--request", request,
                               "--out", tmp_path / "p.parquet", "--failures-format", "grouped")
    assert status == 2 and "--failures-format" in err and not (tmp_path / "p.parquet").exists()


def test_index_ranges():
    import numpy as np

    assert index_ranges(np.array([], np.int64)) == []
    assert index_ranges(np.array([4])) == [[4, 4]]
    assert index_ranges(np.array([0, 1, 2, 5, 7, 8])) == [[0, 2], [5, 5], [7, 8]]


ROWS = st.lists(st.tuples(st.sampled_from(["A", "B", None]), st.sampled_from(["x", None]),
                          st.sampled_from(["d1", "d2"])), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_grouping_covers_every_row_once(rows):
    import pyarrow as pa

    table = pa.table({"task_index": pa.array(range(len(rows)), pa.int64()),
                      "reason": pa.array([r[0] for r in rows], pa.string()),
                      "arn": pa.array([r[1] for r in rows], pa.string()),
                      "detail": pa.array([r[2] for r in rows], pa.string())})
    groups = grouped_failures(table)
    rebuilt = {}
    for group in groups:
        key = (group["reason"], group["arn"], group["detail"])
        assert key not in rebuilt
        indexes = [i for first, last in group["task_index_ranges"] for i in range(first, last + 1)]
        assert len(indexes) == group["count"]
        rebuilt[key] = indexes
    assert sorted(i for v in rebuilt.values() for i in v) == list(range(len(rows)))
    for key, indexes in rebuilt.items():
        assert all(rows[i] == key for i in indexes)
    firsts = [min(v) for v in rebuilt.values()]
    assert firsts == sorted(firsts)  # groups in order of first appearance
