"""``quaymaster place`` (placement.md section 9), run through ``quaymaster.cli.main.main``.

The command reads a Parquet fleet (and live tasks) and a RunTask request body,
and writes PLACEMENTS.parquet and FAILURES.json. Its output is compared with
the pure-Python reference, on table cases and on random fleets.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from reference.placement_ref import normalize_request, place_reference
from reference.strategies import placement_cases

from quaymaster.cli.main import main
from quaymaster.errors import InvalidInputError

PREFIX = "arn:aws:ecs:us-east-1:000000000000"
# The seed's wordpress definition with the mysql container its link names: cpu 20, memory 1000, TCP 80.
WORDPRESS = {"family": "wordpress", "containerDefinitions": [
    {"name": "wordpress", "links": ["mysql"], "image": "wordpress", "essential": True,
     "portMappings": [{"containerPort": 80, "hostPort": 80}], "memory": 500, "cpu": 10},
    {"name": "mysql", "image": "mysql:8", "essential": True, "memory": 500, "cpu": 10}]}
WORDPRESS_NEEDS = {"cpu": 20, "memory": 1000, "static_tcp": [80], "group": "family:wordpress"}


def fleet(*rows, **common):
    """An instance table; instance p is i-p with 1024 CPU and 2048 MiB unless told."""
    full = [{"ec2_instance_id": f"i-{p}", "cpu_registered": 1024, "memory_registered": 2048,
             **common, **row} for p, row in enumerate(rows)]
    names = list(dict.fromkeys(name for row in full for name in row))
    return pa.Table.from_pylist([{name: row.get(name) for name in names} for row in full])


def run_place(*args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``quaymaster place ARGS``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["place", *map(str, args)])
        except SystemExit as exc:  # argparse's own refusals
            status = exc.code
    return status, out.getvalue(), err.getvalue()


class Files:
    """The command's files in one folder."""

    def __init__(self, folder: Path, instances: pa.Table, tasks: pa.Table | None = None):
        self.folder = folder
        self.instances = folder / "instances.parquet"
        pq.write_table(instances, self.instances)
        self.tasks = None
        if tasks is not None:
            self.tasks = folder / "tasks.parquet"
            pq.write_table(tasks, self.tasks)
        self.request = folder / "request.json"
        self.out = folder / "placements.parquet"
        self.failures = folder / "failures.json"

    def place(self, body, *extra, request_text: str | None = None):
        self.request.write_text(request_text if request_text is not None else json.dumps(body))
        args = ["--instances", self.instances, "--request", self.request, "--out", self.out,
                "--failures", self.failures, *extra]
        if self.tasks is not None:
            args += ["--tasks", self.tasks]
        return run_place(*args)

    def placements(self) -> list[dict]:
        return pq.read_table(self.out).select(["task_index", "ec2_instance_id"]).to_pylist()

    def failure_rows(self) -> list[dict]:
        return json.loads(self.failures.read_text())


def expected_rows(expected) -> list[dict]:
    return [{"task_index": p["task_index"], "ec2_instance_id": p["ec2_instance_id"]} for p in expected.placements]


# ---------------------------------------------------------------- outputs

def test_wordpress_placements_and_failures(tmp_path):
    # Default random, seed 0: one task per instance (port 80), then RESOURCE:PORTS (see
    # test_engine_tables.test_wordpress_one_task_per_instance_then_ports for the arithmetic).
    instances = fleet({}, {}, {}, {"status": "DRAINING"}, {"memory_registered": 512})
    files = Files(tmp_path, instances)
    status, out, err = files.place({"taskDefinition": WORDPRESS, "count": 5})
    assert (status, err) == (0, "")
    assert out.strip() == "placed 3 of 5 tasks; 2 failed: RESOURCE:PORTS"
    table = pq.read_table(files.out)
    assert table.schema.field("task_index").type == pa.int64()
    assert table.schema.field("ec2_instance_id").type == pa.string()
    assert files.placements() == [{"task_index": 0, "ec2_instance_id": "i-0"},
                                  {"task_index": 1, "ec2_instance_id": "i-2"},
                                  {"task_index": 2, "ec2_instance_id": "i-1"}]
    failure = {"reason": "RESOURCE:PORTS", "arn": f"{PREFIX}:container-instance/default/i-1",
               "detail": "0 of 5 instances: 1 not ACTIVE, 1 RESOURCE:MEMORY, 3 RESOURCE:PORTS"}
    assert files.failure_rows() == [{"task_index": 3, **failure}, {"task_index": 4, **failure}]
    expected = place_reference(instances, None, normalize_request({**WORDPRESS_NEEDS, "count": 5}))
    assert files.placements() == expected_rows(expected)
    assert files.failure_rows() == expected.failures


def test_all_placed_writes_an_empty_failure_list(tmp_path):
    files = Files(tmp_path, fleet({}, {}))
    status, out, _ = files.place({"taskDefinition": WORDPRESS, "count": 2,
                                  "placementStrategy": [{"type": "spread", "field": "instanceId"}]})
    assert status == 0 and out.strip() == "placed 2 of 2 tasks"
    assert sorted(r["ec2_instance_id"] for r in files.placements()) == ["i-0", "i-1"]
    assert files.failure_rows() == []


def test_nothing_placed_is_still_a_valid_request(tmp_path):
    files = Files(tmp_path, fleet({"status": "DRAINING"}))
    status, _, _ = files.place({"taskDefinition": WORDPRESS, "count": 2})
    assert status == 0
    assert files.placements() == []
    assert files.failure_rows() == [{"task_index": t, "reason": "NO ACTIVE INSTANCES", "arn": None,
                                     "detail": "0 of 1 instances: 1 not ACTIVE"} for t in range(2)]


def test_task_definition_path_is_read_next_to_the_request(tmp_path, monkeypatch):
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "wordpress.json").write_text(json.dumps(WORDPRESS))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the relative path must not depend on the working folder
    files = Files(tmp_path, fleet({}, {}))
    status, _, err = files.place({"taskDefinition": "defs/wordpress.json", "count": 3})
    assert status == 0, err
    assert len(files.placements()) == 2
    assert [f["reason"] for f in files.failure_rows()] == ["RESOURCE:PORTS"]


@pytest.mark.parametrize("seed_text, seed", [("7", 7), ("0x7", 7), ("18446744073709551615", 2**64 - 1)])
def test_seed(tmp_path, seed_text, seed):
    instances = fleet(*[{}] * 10)
    files = Files(tmp_path, instances)
    body = {"taskDefinition": {"family": "s", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]},
            "count": 6}
    assert files.place(body, "--seed", seed_text)[0] == 0
    expected = place_reference(instances, None, normalize_request({"memory": 8, "count": 6, "group": "family:s"}), seed)
    assert files.placements() == expected_rows(expected)


def test_live_tasks_file(tmp_path):
    # A live task holds port 80 on i-0 and another group's spread count; wordpress goes elsewhere.
    instances = fleet({}, {}, {})
    tasks = pa.table({"task_arn": [f"{PREFIX}:task/default/t0"], "ec2_instance_id": ["i-0"],
                      "group": ["family:other"], "host_ports": pa.array([[80]], pa.list_(pa.int32()))})
    files = Files(tmp_path, instances, tasks)
    assert files.place({"taskDefinition": WORDPRESS, "count": 3})[0] == 0
    assert sorted(r["ec2_instance_id"] for r in files.placements()) == ["i-1", "i-2"]
    expected = place_reference(instances, tasks, normalize_request({**WORDPRESS_NEEDS, "count": 3}))
    assert files.placements() == expected_rows(expected)
    assert files.failure_rows() == expected.failures


def test_failures_file_is_optional(tmp_path):
    files = Files(tmp_path, fleet({}))
    files.request.write_text(json.dumps({"taskDefinition": WORDPRESS, "count": 2}))
    status, out, _ = run_place("--instances", files.instances, "--request", files.request, "--out", files.out)
    assert status == 0 and "1 failed" in out
    assert not files.failures.exists()


# ---------------------------------------------------------------- refusals: exit 2, error on stderr

BAD_REQUESTS = [  # (id, request body or raw text, words the error must contain)
    ("unknown member", {"taskDefinition": WORDPRESS, "bogus": 1}, "bogus"),
    ("bad strategy", {"taskDefinition": WORDPRESS, "placementStrategy": [{"type": "pack"}]}, "pack"),
    ("binpack field", {"taskDefinition": WORDPRESS, "placementStrategy": [{"type": "binpack", "field": "gpu"}]},
     "gpu"),
    ("bad CQL", {"taskDefinition": WORDPRESS, "placementConstraints": [
        {"type": "memberOf", "expression": "attribute:stack =="}]}, "attribute:stack =="),
    ("bad JSON", "{not json", "JSON"),
    ("not an object", "[1, 2]", "object"),
    ("no taskDefinition", {"count": 1}, "taskDefinition"),
    ("missing definition file", {"taskDefinition": "nowhere.json"}, "nowhere.json"),
    ("invalid definition", {"taskDefinition": {"family": "broken"}}, "containerDefinitions"),
    ("count 0", {"taskDefinition": WORDPRESS, "count": 0}, "count"),
    ("count as text", {"taskDefinition": WORDPRESS, "count": "2"}, "count"),
    ("FARGATE", {"taskDefinition": WORDPRESS, "launchType": "FARGATE"}, "FARGATE"),
]


@pytest.mark.parametrize("body, words", [case[1:] for case in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_request_exits_2_with_the_error(tmp_path, body, words):
    files = Files(tmp_path, fleet({}))
    status, out, err = files.place(body, request_text=body if isinstance(body, str) else None)
    assert status == 2 and out == ""
    assert err.startswith("quaymaster place: error:") and words in err
    assert not files.out.exists() and not files.failures.exists()


BAD_FLEETS = [  # (id, instance table, the column the error names)
    ("duplicate id", pa.table({"ec2_instance_id": ["i-0", "i-0"], "cpu_registered": [1, 1],
                               "memory_registered": [1, 1]}), "ec2_instance_id"),
    ("negative cpu", pa.table({"ec2_instance_id": ["i-0"], "cpu_registered": [-1], "memory_registered": [1]}),
     "cpu_registered"),
    ("missing column", pa.table({"ec2_instance_id": ["i-0"], "memory_registered": [1]}), "cpu_registered"),
    ("wrong type", pa.table({"ec2_instance_id": ["i-0"], "cpu_registered": ["lots"], "memory_registered": [1]}),
     "cpu_registered"),
]


@pytest.mark.parametrize("instances, column", [case[1:] for case in BAD_FLEETS], ids=[c[0] for c in BAD_FLEETS])
def test_schema_breaking_instances_exit_2(tmp_path, instances, column):
    files = Files(tmp_path, instances)
    status, _, err = files.place({"taskDefinition": WORDPRESS})
    assert status == 2 and column in err
    assert not files.out.exists()


def test_missing_files_exit_2(tmp_path):
    files = Files(tmp_path, fleet({}))
    files.request.write_text(json.dumps({"taskDefinition": WORDPRESS}))
    status, _, err = run_place("--instances", tmp_path / "none.parquet", "--request", files.request, "--out", files.out)
    assert status == 2 and "none.parquet" in err
    status, _, err = run_place("--instances", files.instances, "--request", tmp_path / "none.json", "--out", files.out)
    assert status == 2 and "none.json" in err
    assert not files.out.exists()


@pytest.mark.parametrize("where", ["out is a folder", "out under a file", "failures is a folder"])
def test_unwritable_outputs_exit_2(tmp_path, where):
    files = Files(tmp_path, fleet({}))
    files.request.write_text(json.dumps({"taskDefinition": WORDPRESS}))
    out, failures = {"out is a folder": (tmp_path, files.failures),
                     "out under a file": (files.request / "p.parquet", files.failures),
                     "failures is a folder": (files.out, tmp_path)}[where]
    status, _, err = run_place("--instances", files.instances, "--request", files.request, "--out", out,
                               "--failures", failures)
    assert status == 2 and err.startswith("quaymaster place: error:")


def test_output_folders_are_created(tmp_path):
    files = Files(tmp_path, fleet({}))
    files.request.write_text(json.dumps({"taskDefinition": WORDPRESS, "count": 2}))
    out, failures = tmp_path / "a" / "b" / "p.parquet", tmp_path / "c" / "f.json"
    tasks_out = tmp_path / "d" / "t.parquet"
    status, _, err = run_place("--instances", files.instances, "--request", files.request, "--out", out,
                               "--failures", failures, "--tasks-out", tasks_out)
    assert (status, err) == (0, "")
    assert pq.read_table(out).num_rows == 1 and len(json.loads(failures.read_text())) == 1
    assert pq.read_table(tasks_out).num_rows == 1


@pytest.mark.parametrize("seed", ["-1", "18446744073709551616", "seven"])
def test_bad_seed_exits_2(tmp_path, seed):
    files = Files(tmp_path, fleet({}))
    status, _, err = files.place({"taskDefinition": WORDPRESS}, "--seed", seed)
    assert status == 2 and "--seed" in err
    # argparse names the converter when it raises anything but ArgumentTypeError: no internal names
    assert "argument --seed: must be an integer 0..18446744073709551615" in err
    assert "_seed" not in err and "parse_seed" not in err and "invalid" not in err


# ---------------------------------------------------------------- the command against the reference

def task_definition_for(req: dict) -> dict:
    """A RegisterTaskDefinition body whose requirements are the reference request's.

    Every mapping has its own container port (ECS allows one mapping per container port);
    bridge hostPort > 0 is static, absent is dynamic. The first memberOf goes in the
    definition, the rest in the request.
    """
    mappings = ([{"containerPort": 20000 + k, "hostPort": port} for k, port in enumerate(req["static_tcp"])]
                + [{"containerPort": 21000 + k, "hostPort": port, "protocol": "udp"}
                   for k, port in enumerate(req["static_udp"])]
                + [{"containerPort": 22000 + k} for k in range(req["dynamic_tcp"])]
                + [{"containerPort": 23000 + k, "protocol": "udp"} for k in range(req["dynamic_udp"])])
    container = {"name": "app", "image": "busybox", "cpu": req["cpu"], "memory": req["memory"]}
    if mappings:
        container["portMappings"] = mappings
    if req["gpu"]:
        container["resourceRequirements"] = [{"type": "GPU", "value": str(req["gpu"])}]
    definition = {"family": "cli", "containerDefinitions": [container]}
    if req["eni"]:
        definition["networkMode"] = "awsvpc"
    if req["required_attributes"]:
        definition["requiresAttributes"] = [{"name": name, **({"value": value} if value is not None else {})}
                                            for name, value in req["required_attributes"]]
    if req["member_of"]:
        definition["placementConstraints"] = [{"type": "memberOf", "expression": req["member_of"][0]}]
    return definition


def request_body_for(req: dict) -> dict:
    constraints = [{"type": "memberOf", "expression": e} for e in req["member_of"][1:]]
    if req["distinct_instance"]:
        constraints.append({"type": "distinctInstance"})
    strategy = [{k: v for k, v in rule.items() if v is not None} for rule in req["strategy"]]
    body = {"taskDefinition": task_definition_for(req), "count": req["count"], "group": req["group"]}
    if constraints:
        body["placementConstraints"] = constraints
    if strategy:
        body["placementStrategy"] = strategy
    return body


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(placement_cases(max_instances=40))
def test_command_agrees_with_the_reference(case):
    instances, tasks, req, seed = case
    req = {**req, "memory": max(req["memory"], 6)}  # a container needs at least 6 MiB
    with tempfile.TemporaryDirectory() as folder:
        files = Files(Path(folder), instances, tasks)
        status, _, err = files.place(request_body_for(req), "--seed", seed)
        try:
            expected = place_reference(instances, tasks, req, seed)
        except InvalidInputError:
            assert status == 2
            return
        assert status == 0, err
        assert files.placements() == expected_rows(expected)
        assert pq.read_table(files.out).column("host_ports").to_pylist() == [
            p["host_ports"] for p in expected.placements]
        assert files.failure_rows() == expected.failures
