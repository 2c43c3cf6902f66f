"""The placement API of ``quaymaster.Cluster``: RunTask, StartTask, StopTask (placement.md 3-8).

How a task definition can be named, what a placement leaves in the cluster
(live tasks, counters, ports), the result's views (``placements``,
``failures``, ``to_ecs()``, ``explain()``), refusals that change nothing,
determinism, and requests that see each other. Differential properties compare
the engine with the pure-Python reference on random fleets.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from engine_harness import constraints_from, requirements_from
from hypothesis import HealthCheck, given, settings
from reference.placement_ref import (
    PASSED,
    REASONS,
    MemberOfRows,
    load_state,
    normalize_request,
    place_reference,
    stage_reached,
)
from reference.strategies import placement_cases, requests, seeds

from quaymaster import Cluster
from quaymaster.errors import (
    CQLError,
    InvalidInputError,
    InvalidParameterError,
    NotFoundError,
    QuaymasterError,
    TaskDefinitionError,
)
from quaymaster.model.schema import task_schema
from quaymaster.taskdef import TaskDefinition, TaskRequirements

PREFIX = "arn:aws:ecs:us-east-1:000000000000"
# cpu 128, memory 256, TCP 80 static and one dynamic TCP port per task.
DEFINITION = {"family": "web", "containerDefinitions": [
    {"name": "app", "image": "busybox", "cpu": 128, "memory": 256,
     "portMappings": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 8080}]}]}
PLAIN = {"family": "plain", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]}
AWSVPC = {"family": "vpc", "networkMode": "awsvpc",
          "containerDefinitions": [{"name": "app", "image": "busybox", "cpu": 64, "memory": 64}]}


def differential(max_examples: int) -> settings:
    """Hypothesis settings of the differential properties (kept small: 2 cores, whole suite < 60 s)."""
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fleet(*rows, **common):
    """An instance table; instance p is i-p with 1024 CPU and 2048 MiB unless told."""
    full = [{"ec2_instance_id": f"i-{p}", "cpu_registered": 1024, "memory_registered": 2048,
             **common, **row} for p, row in enumerate(rows)]
    names = list(dict.fromkeys(name for row in full for name in row))
    return pa.Table.from_pylist([{name: row.get(name) for name in names} for row in full])


def instance_arn(instance_id):
    return f"{PREFIX}:container-instance/default/{instance_id}"


def snapshot(cluster) -> tuple:
    """Everything a request could change, as plain values (registered_at aside, all of the tables)."""
    state = cluster.state
    arrays = ("cpu_remaining", "memory_remaining", "gpu_remaining", "eni_used", "running_tasks", "status")
    return (cluster.instance_table().to_pylist(), cluster.task_table().to_pylist(),
            {name: getattr(state, name).tolist() for name in arrays},
            {group: counts.tolist() for group, counts in state.group_counts.items()},
            cluster.tasks.next_sequence, cluster.port_keys().tolist())


def assert_unchanged(before: tuple, cluster) -> None:
    assert snapshot(cluster) == before


def busy_cluster():
    """Three instances (one DRAINING) with two web tasks already placed."""
    cluster = Cluster.from_arrow(fleet({}, {}, {"status": "DRAINING"}))
    assert cluster.run_task(DEFINITION, count=2).placed_count == 2
    return cluster


# ---------------------------------------------------------------- naming a task definition

@pytest.mark.parametrize("form", ["object", "dict", "json", "path", "pathlike"])
def test_run_task_takes_any_form_of_a_definition(form, tmp_path):
    path = tmp_path / "web.json"
    path.write_text(json.dumps(DEFINITION))
    given_as = {"object": TaskDefinition.from_json(DEFINITION), "dict": DEFINITION,
                "json": json.dumps(DEFINITION), "path": str(path), "pathlike": path}[form]
    cluster = Cluster.from_arrow(fleet({}))
    result = cluster.run_task(given_as)
    assert result.request.group == "family:web"
    assert cluster.task_table().select(["group", "cpu", "memory", "host_ports"]).to_pylist() == [
        {"group": "family:web", "cpu": 128, "memory": 256, "host_ports": [80, 49153]}]


@pytest.mark.parametrize("reference", ["web:1", "web", f"{PREFIX}:task-definition/web:1"])
def test_run_task_takes_a_registered_definition(reference):
    cluster = Cluster.from_arrow(fleet({}))
    registered = cluster.task_definitions.register(DEFINITION)
    result = cluster.run_task(reference)
    assert result.placed_count == 1 and result.request.group == "family:web"
    assert result.to_ecs()["tasks"][0]["taskDefinitionArn"] == registered.arn == f"{PREFIX}:task-definition/web:1"


def test_group_defaults_to_the_family_and_can_be_named():
    cluster = Cluster.from_arrow(fleet({}, {}))
    assert cluster.run_task(PLAIN).request.group == "family:plain"
    assert cluster.run_task(PLAIN, group="service:api").request.group == "service:api"
    assert sorted(cluster.state.group_counts) == ["family:plain", "service:api"]
    # TaskRequirements' `family` is "the definition's family, for the default task group"
    assert cluster.run_task(TaskRequirements(memory=64, family="web")).request.group == "family:web"


# ---------------------------------------------------------------- what a placement leaves

def test_placed_tasks_become_live_tasks():
    cluster = Cluster.from_arrow(fleet({}, {}, {}))
    first = cluster.run_task(DEFINITION, count=3, placement_strategy=[{"type": "spread", "field": "host"}])
    second = cluster.run_task(PLAIN, count=3, group="service:web")
    table = cluster.task_table()
    assert table.schema.equals(task_schema())
    arns = table.column("task_arn").to_pylist()
    assert arns == (first.placements.column("task_arn").to_pylist()
                    + second.placements.column("task_arn").to_pylist())
    assert len(set(arns)) == 6 and all(a.startswith(f"{PREFIX}:task/default/") for a in arns)
    rows = table.to_pylist()
    assert [r["group"] for r in rows] == ["family:web"] * 3 + ["service:web"] * 3
    assert [r["ec2_instance_id"] for r in rows[:3]] == first.placements.column("ec2_instance_id").to_pylist()
    assert sorted(r["ec2_instance_id"] for r in rows[:3]) == ["i-0", "i-1", "i-2"]  # spread: one each
    assert [r["host_ports"] for r in rows] == [[80, 49153]] * 3 + [[]] * 3
    assert [(r["cpu"], r["memory"]) for r in rows] == [(128, 256)] * 3 + [(0, 64)] * 3
    assert all(r["last_status"] == "PENDING" and r["daemon"] is False and r["eni"] == 0 for r in rows)
    state = cluster.state
    web = np.array([r["ec2_instance_id"] for r in rows[3:]])
    assert state.running_tasks.tolist() == [1 + int((web == f"i-{p}").sum()) for p in range(3)]
    assert state.group_counts["family:web"].tolist() == [1, 1, 1]
    assert state.group_counts["service:web"].sum() == 3
    assert state.cpu_remaining.tolist() == [1024 - 128] * 3
    assert cluster.instance_table().column("memory_remaining").to_pylist() == [
        2048 - 256 - 64 * int((web == f"i-{p}").sum()) for p in range(3)]
    # 80 is now taken on every instance: a third request finds no room and changes nothing
    before = snapshot(cluster)
    third = cluster.run_task(DEFINITION)
    assert third.placed_count == 0 and third.failure["reason"] == "RESOURCE:PORTS"
    assert_unchanged(before, cluster)


def test_to_ecs_shape():
    cluster = Cluster.from_arrow(fleet({}, {"cpu_registered": 64}))
    result = cluster.run_task(DEFINITION, count=2)
    ecs = result.to_ecs()
    assert set(ecs) == {"tasks", "failures"}
    (task,) = ecs["tasks"]
    placement = result.placements.to_pylist()[0]
    assert task == {
        "taskArn": placement["task_arn"], "clusterArn": f"{PREFIX}:cluster/default",
        "taskDefinitionArn": None, "containerInstanceArn": instance_arn("i-0"),
        "group": "family:web", "launchType": "EC2", "lastStatus": "PENDING", "desiredStatus": "RUNNING",
        "cpu": "128", "memory": "256",
        "networkBindings": [{"hostPort": 80, "protocol": "tcp"}, {"hostPort": 49153, "protocol": "tcp"}]}
    # t1: p0 stops at PORTS (80 is taken), p1 at CPU; the latest stage is PORTS -> i-0
    assert ecs["failures"] == [{"arn": instance_arn("i-0"), "reason": "RESOURCE:PORTS",
                                "detail": "0 of 2 instances: 1 RESOURCE:CPU, 1 RESOURCE:PORTS"}]
    assert result.failures == [{"task_index": 1, **ecs["failures"][0]}]
    assert result.failures_table().schema.field("task_index").type == pa.int64()
    assert result.placements.schema.field("task_index").type == pa.int64()
    assert repr(result) == "PlacementResult(placed=1, failed=1, reason='RESOURCE:PORTS')"


# ---------------------------------------------------------------- explain

def first_task_stage_counts(instances, tasks, req) -> dict[str, int]:
    """The reference's view of the request's first task: instances stopped at each stage."""
    req = normalize_request(req)
    states, _ = load_state(instances, tasks)
    rows = MemberOfRows(instances) if req["member_of"] else None
    member_of = (lambda inst: rows.all_hold(req["member_of"], inst)) if rows else None
    stopped = Counter()
    for inst in states:
        if inst.status != "ACTIVE":
            stopped["not ACTIVE"] += 1
        elif (stage := stage_reached(inst, req, member_of)) != PASSED:
            stopped[REASONS[stage]] += 1
    return {name: stopped[name] for name in ("not ACTIVE", *REASONS)}


def test_explain_counts_the_first_tasks_stages():
    # p0 DRAINING, p1 agent gone, p2 too little CPU, p3 too little memory, p4 and p5 fit two each.
    # The first task: 1 not ACTIVE, 1 AGENT, 1 CPU, 1 MEMORY, 2 feasible -> 4 removed of 6.
    instances = fleet({"status": "DRAINING"}, {"agent_connected": False}, {"cpu_registered": 100}, {"memory_registered": 100},
                      {}, {})
    result = Cluster.from_arrow(instances).run_task(TaskRequirements(cpu=512, memory=512), count=5,
                                                    explain=True)
    explained = result.explain()
    assert {k: v for k, v in explained.items() if v} == {
        "not ACTIVE": 1, "AGENT": 1, "RESOURCE:CPU": 1, "RESOURCE:MEMORY": 1}
    assert sum(explained.values()) == 6 - 2
    # t4 finds p4 and p5 full: its own counts are in the failure detail
    assert result.failure["detail"] == "0 of 6 instances: 1 not ACTIVE, 1 AGENT, 3 RESOURCE:CPU, 1 RESOURCE:MEMORY"
    # When the first task fails, the explanation is its detail's counts.
    failed = Cluster.from_arrow(instances.slice(0, 4)).run_task(TaskRequirements(cpu=512, memory=512), explain=True)
    assert {k: v for k, v in failed.explain().items() if v} == {
        "not ACTIVE": 1, "AGENT": 1, "RESOURCE:CPU": 1, "RESOURCE:MEMORY": 1}
    assert failed.failure["detail"] == "0 of 4 instances: 1 not ACTIVE, 1 AGENT, 1 RESOURCE:CPU, 1 RESOURCE:MEMORY"
    # A first request scans every instance for its first task anyway: the counts come free.
    cluster = Cluster.from_arrow(instances)
    spread = [{"type": "spread", "field": "instanceId"}]
    first = cluster.run_task(PLAIN, placement_strategy=spread, count=2, seed=0)
    # PLAIN needs 64 MiB only: the DRAINING and the disconnected instance are all it loses.
    assert {k: v for k, v in first.explain().items() if v} == {"not ACTIVE": 1, "AGENT": 1}
    # The plan's second request builds the cell index with a first scan (a new plan's first
    # small request scans without building it); the third reuses the index and skips that
    # pass, unless asked.
    assert cluster.run_task(PLAIN, placement_strategy=spread, count=2, seed=0).explain()
    with pytest.raises(QuaymasterError, match="explain=True"):
        cluster.run_task(PLAIN, placement_strategy=spread, count=2, seed=0).explain()
    again = cluster.run_task(PLAIN, placement_strategy=spread, count=2, explain=True, seed=0)
    twin = Cluster.from_arrow(instances)  # the plain scan always counts: the same sequence there
    twin.run_task(PLAIN, placement_strategy=spread, count=8, fast_paths=False, seed=0)
    assert again.explain() == twin.run_task(PLAIN, placement_strategy=spread, count=2,
                                             fast_paths=False, seed=0).explain()


def test_explain_is_the_same_on_the_one_task_at_a_time_path():
    # runningTasksCount >= 0 always holds but reads live state: the engine then places one task
    # per core call. Placements and explanation must not change.
    instances = fleet({"status": "DRAINING"}, {"cpu_registered": 100}, {}, {"cpu_registered": 2048})
    outcomes = []
    for constraints in (None, [{"type": "memberOf", "expression": "runningTasksCount >= 0"}]):
        result = Cluster.from_arrow(instances).run_task(TaskRequirements(cpu=512, dynamic_tcp=1), count=6,
                                                        placement_constraints=constraints, seed=3,
                                                        explain=True)
        outcomes.append((result.placements.to_pylist(), result.failures, result.explain()))
    assert outcomes[0] == outcomes[1]


@differential(100)
@given(placement_cases(max_instances=40))
def test_explain_equals_the_reference_first_task_counts(case):
    instances, tasks, req, seed = case
    try:
        expected = first_task_stage_counts(instances, tasks, req)
    except InvalidInputError:
        return
    result = Cluster.from_arrow(instances, tasks).run_task(
        requirements_from(req), count=req["count"], group=req["group"],
        placement_constraints=constraints_from(req) or None, placement_strategy=req["strategy"] or None,
        seed=seed, explain=True)
    assert result.explain() == expected


# ---------------------------------------------------------------- StopTask

def test_stop_task_frees_cpu_memory_gpu():
    definition = {"family": "gpu", "containerDefinitions": [{"name": "app", "image": "busybox", "cpu": 512,
                                                              "memory": 1024, "resourceRequirements": [
                                                                  {"type": "GPU", "value": "1"}]}]}
    cluster = Cluster.from_arrow(fleet({"gpu_registered": 1}))
    placed = cluster.run_task(definition, count=2)
    assert placed.placed_count == 1 and placed.failure["reason"] == "RESOURCE:GPU"
    gpu_before = cluster.state.gpu_remaining.tolist()
    (arn,) = placed.placements.column("task_arn").to_pylist()
    stopped = cluster.stop_task(arn, reason="done")
    assert stopped["lastStatus"] == "STOPPED" and stopped["taskArn"] == arn
    assert stopped["group"] == "family:gpu" and stopped["containerInstanceArn"] == instance_arn("i-0")
    assert stopped["stoppedReason"] == "done"
    state = cluster.state
    assert (state.cpu_remaining[0], state.memory_remaining[0], state.gpu_remaining[0]) == (1024, 2048, 1)
    assert gpu_before == [0]
    assert state.running_tasks[0] == 0 and state.group_counts["family:gpu"][0] == 0
    assert cluster.task_table().num_rows == 0
    assert cluster.run_task(definition).placed_count == 1


def test_stop_task_frees_the_eni():
    cluster = Cluster.from_arrow(fleet({"eni_limit": 1}))
    first = cluster.run_task(AWSVPC)
    assert cluster.run_task(AWSVPC).failure["reason"] == "RESOURCE:ENI"
    cluster.stop_task(first.placements.column("task_arn")[0].as_py())
    assert cluster.state.eni_used.tolist() == [0]
    assert cluster.run_task(AWSVPC).placed_count == 1


def test_stop_task_frees_static_and_dynamic_host_ports():
    cluster = Cluster.from_arrow(fleet({}))
    first = cluster.run_task(DEFINITION)
    assert cluster.run_task(DEFINITION).failure["reason"] == "RESOURCE:PORTS"  # 80 is taken
    cluster.stop_task(first.placements.column("task_arn")[0].as_py())
    again = cluster.run_task(DEFINITION)
    assert again.placements.column("host_ports").to_pylist() == [[80, 49153]]  # both are free again


def test_stop_task_by_task_id_and_unknown_tasks():
    cluster = busy_cluster()
    arns = cluster.task_table().column("task_arn").to_pylist()
    cluster.stop_task(arns[0].rsplit("/", 1)[1])  # the task id alone, as ECS accepts
    before = snapshot(cluster)
    for unknown in (arns[0], "nope", f"{PREFIX}:task/default/0123"):
        with pytest.raises(NotFoundError) as refused:
            cluster.stop_task(unknown)
        assert isinstance(refused.value, InvalidInputError) and refused.value.field == "task"
    assert_unchanged(before, cluster)
    assert cluster.task_table().column("task_arn").to_pylist() == arns[1:]


def test_stop_task_of_a_loaded_task_by_its_own_arn():
    # The tasks table only requires task_arn to be a unique string; a loaded task must be
    # stoppable by exactly the task_arn the cluster lists for it.
    tasks = pa.table({"task_arn": ["task-0", f"{PREFIX}:task/default/abc"], "ec2_instance_id": ["i-0", "i-0"],
                      "group": ["family:web"] * 2, "cpu": [100, 100]})
    cluster = Cluster.from_arrow(fleet({}), tasks)
    listed = cluster.task_table().column("task_arn").to_pylist()
    for arn in listed:
        cluster.stop_task(arn)
    assert cluster.task_table().num_rows == 0 and cluster.state.cpu_remaining.tolist() == [1024]


# ---------------------------------------------------------------- StartTask

def test_start_task_on_named_instances():
    instances = fleet({}, {"status": "DRAINING"}, {"cpu_registered": 64}, {"agent_connected": False}, {})
    cluster = Cluster.from_arrow(instances)
    named = ["i-0", "i-9", "i-1", "i-2", "i-3", instance_arn("i-4"), "i-0"]
    result = cluster.start_task(DEFINITION, named)
    assert result.placements.select(["task_index", "ec2_instance_id", "host_ports"]).to_pylist() == [
        {"task_index": 0, "ec2_instance_id": "i-0", "host_ports": [80, 49153]},
        {"task_index": 5, "ec2_instance_id": "i-4", "host_ports": [80, 49153]}]
    assert result.failures == [
        {"task_index": 1, "reason": "MISSING", "arn": "i-9", "detail": None},
        {"task_index": 2, "reason": "DRAINING", "arn": instance_arn("i-1"), "detail": None},
        {"task_index": 3, "reason": "RESOURCE:CPU", "arn": instance_arn("i-2"),
         "detail": "0 of 1 instances: 1 RESOURCE:CPU"},
        {"task_index": 4, "reason": "AGENT", "arn": instance_arn("i-3"), "detail": "0 of 1 instances: 1 AGENT"},
        {"task_index": 6, "reason": "RESOURCE:PORTS", "arn": instance_arn("i-0"),
         "detail": "0 of 1 instances: 1 RESOURCE:PORTS"}]
    assert result.to_ecs()["failures"][0] == {"arn": "i-9", "reason": "MISSING"}
    table = cluster.task_table()
    assert table.column("ec2_instance_id").to_pylist() == ["i-0", "i-4"]
    assert table.column("task_arn").to_pylist() == result.placements.column("task_arn").to_pylist()
    assert cluster.state.running_tasks.tolist() == [1, 0, 0, 0, 1]
    cluster.deregister_container_instance("i-4", force=True)
    assert cluster.start_task(PLAIN, ["i-4"]).failures == [
        {"task_index": 0, "reason": "INACTIVE", "arn": instance_arn("i-4"), "detail": None}]


@pytest.mark.parametrize("reference", ["full ARN", "container-instance id", "ec2 id"])
def test_start_task_names_instances_as_ecs_does(reference):
    # A real container-instance ARN ends in ECS's own id, not the EC2 one; StartTask takes the
    # full ARN or that id (ECS's containerInstances), and quaymaster also the EC2 id.
    arn = f"{PREFIX}:container-instance/default/0123456789abcdef0123456789abcdef"
    cluster = Cluster.from_arrow(fleet({}, {"container_instance_arn": arn}))
    named = {"full ARN": arn, "container-instance id": arn.rsplit("/", 1)[1], "ec2 id": "i-1"}[reference]
    result = cluster.start_task(PLAIN, [named])
    assert result.failures == []
    assert result.placements.select(["task_index", "ec2_instance_id", "container_instance_arn"]).to_pylist() == [
        {"task_index": 0, "ec2_instance_id": "i-1", "container_instance_arn": arn}]


def test_start_task_ignores_strategies_and_goes_where_it_is_told():
    # RunTask's random with seed 0 over p0..p3 would pick j(0, 4); StartTask places where named.
    cluster = Cluster.from_arrow(fleet({}, {}, {}, {}))
    for position in (3, 2, 3):
        result = cluster.start_task(PLAIN, [f"i-{position}"])
        assert result.placements.column("position").to_pylist() == [position]
    assert cluster.state.group_counts["family:plain"].tolist() == [0, 0, 1, 2]


def test_start_task_explain_counts_only_the_named_instances():
    # One named instance, which passes every stage: no stage removed anything StartTask
    # considered. The four instances that were not named were never candidates.
    cluster = Cluster.from_arrow(fleet({}, {}, {}, {}, {}))
    result = cluster.start_task(PLAIN, ["i-2"])
    assert result.placed_count == 1
    assert sum(result.explain().values()) == 0


@pytest.mark.parametrize("named", [[], [f"i-{k % 2}" for k in range(11)], "i-0"])
def test_start_task_refuses_bad_instance_lists(named):
    cluster = busy_cluster()
    before = snapshot(cluster)
    with pytest.raises(InvalidParameterError) as refused:
        cluster.start_task(PLAIN, named)
    assert refused.value.field == "containerInstances"
    assert_unchanged(before, cluster)


# ---------------------------------------------------------------- refusals change nothing

def member_of(expression):
    return {"type": "memberOf", "expression": expression}


TEN_MEMBER_OF = [member_of(f"attribute:k{n} !exists") for n in range(10)]
DISTINCT = {"type": "distinctInstance"}
REFUSED = {  # id: (run_task keyword arguments, task definition or None for PLAIN, error type)
    "unknown strategy type": ({"placement_strategy": [{"type": "pack", "field": "cpu"}]}, None, InvalidParameterError),
    "binpack on gpu": ({"placement_strategy": [{"type": "binpack", "field": "gpu"}]}, None, InvalidParameterError),
    "random with a field": ({"placement_strategy": [{"type": "random", "field": "cpu"}]}, None, InvalidParameterError),
    "spread without a field": ({"placement_strategy": [{"type": "spread"}]}, None, InvalidParameterError),
    "spread on attribute:": ({"placement_strategy": [{"type": "spread", "field": "attribute:"}]}, None,
                             InvalidParameterError),
    "6 strategies": ({"placement_strategy": [{"type": "binpack", "field": "cpu"}] * 6}, None, InvalidParameterError),
    "strategy not a list": ({"placement_strategy": "binpack"}, None, InvalidParameterError),
    "11 constraints": ({"placement_constraints": [*TEN_MEMBER_OF, DISTINCT]}, None, InvalidParameterError),
    "11 with the definition's": ({"placement_constraints": [DISTINCT]},
                                 {**PLAIN, "placementConstraints": TEN_MEMBER_OF}, InvalidParameterError),
    "invalid CQL": ({"placement_constraints": [member_of("attribute:stack ==")]}, None, CQLError),
    "memberOf of 2001 characters": ({"placement_constraints": [member_of("attribute:x == " + "a" * 1986)]}, None,
                                    CQLError),
    "constraints not a list": ({"placement_constraints": DISTINCT}, None, InvalidParameterError),
    "memberOf without expression": ({"placement_constraints": [{"type": "memberOf"}]}, None, InvalidParameterError),
    "distinctInstance with expression": ({"placement_constraints": [{**DISTINCT, "expression": "runningTasksCount == 0"}]},
                                         None, InvalidParameterError),
    "unknown constraint type": ({"placement_constraints": [{"type": "sameZone"}]}, None, InvalidParameterError),
    **{f"count {value!r}": ({"count": value}, None, InvalidParameterError) for value in (0, -1, True, 1.5, "2")},
    **{f"seed {value!r}": ({"seed": value}, None, InvalidParameterError) for value in (-1, 2**64, 1.0)},
    "group of 256 characters": ({"group": "g" * 256}, None, InvalidParameterError),
    "empty group": ({"group": ""}, None, InvalidParameterError),
    "FARGATE with a strategy": ({"launch_type": "FARGATE", "placement_strategy": [{"type": "random"}]}, None,
                                InvalidParameterError),
    "FARGATE on instances": ({"launch_type": "FARGATE"}, None, InvalidParameterError),
    "unknown launch type": ({"launch_type": "SPOT"}, None, InvalidParameterError),
    "invalid task definition": ({}, {"family": "broken"}, TaskDefinitionError),
    "definition linking a missing container": ({}, {"family": "wp", "containerDefinitions": [
        {"name": "wordpress", "image": "wordpress", "memory": 500, "links": ["mysql"]}]}, TaskDefinitionError),
}


@pytest.mark.parametrize("kwargs, definition, error", REFUSED.values(), ids=REFUSED.keys())
def test_refused_requests_raise_typed_errors_and_change_nothing(kwargs, definition, error):
    cluster = busy_cluster()
    before = snapshot(cluster)
    with pytest.raises(error) as refused:
        cluster.run_task(definition or PLAIN, **kwargs)
    assert isinstance(refused.value, ValueError)
    assert refused.value.field  # the error names what was wrong
    assert_unchanged(before, cluster)


def test_request_lists_are_validated_again_after_they_change():
    # The same list objects, reused and edited between requests: each request is judged as it is.
    cluster = Cluster.from_arrow(fleet({}, {}))
    strategy, constraints = [{"type": "binpack", "field": "cpu"}], [member_of("runningTasksCount >= 0")]
    assert cluster.run_task(PLAIN, placement_strategy=strategy, placement_constraints=constraints).placed_count == 1
    strategy[0]["field"], constraints[0]["expression"] = "gpu", "runningTasksCount >= 0"
    with pytest.raises(InvalidParameterError):
        cluster.run_task(PLAIN, placement_strategy=strategy, placement_constraints=constraints)
    strategy[0]["field"], constraints[0]["expression"] = "cpu", "runningTasksCount >="
    with pytest.raises(CQLError):
        cluster.run_task(PLAIN, placement_strategy=strategy, placement_constraints=constraints)
    constraints[0] = {"type": "memberOf", "expression": "ec2InstanceId == i-1"}
    assert cluster.run_task(PLAIN, placement_strategy=strategy, placement_constraints=constraints,
                            count=2).placements.column("ec2_instance_id").to_pylist() == ["i-1", "i-1"]
    assert cluster.task_table().num_rows == 3


def test_the_limits_themselves_are_accepted():
    # 5 strategies, 10 constraints (9 in the definition + 1), a 255-character group, seed 2**64 - 1.
    cluster = Cluster.from_arrow(fleet({}, {}))
    result = cluster.run_task({**PLAIN, "placementConstraints": TEN_MEMBER_OF[:9]}, count=2,
                              placement_constraints=[DISTINCT],
                              placement_strategy=[{"type": "binpack", "field": "memory"}] * 4 + [{"type": "random"}],
                              group="g" * 255, seed=2**64 - 1, launch_type="EXTERNAL")
    assert sorted(result.placements.column("position").to_pylist()) == [0, 1]


# ---------------------------------------------------------------- determinism and sequences

MIXED = fleet({"attribute:ecs.availability-zone": "a"}, {"attribute:ecs.availability-zone": "b", "cpu_registered": 2048},
              {"status": "DRAINING"}, {"attribute:ecs.availability-zone": "a", "memory_registered": 4096},
              *[{"attribute:ecs.availability-zone": "abc"[p % 3]} for p in range(8)])


@pytest.mark.parametrize("strategy", [None, [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                             {"type": "binpack", "field": "memory"}]])
@pytest.mark.parametrize("seed", [0, 7, 2**64 - 1])
def test_same_cluster_and_seed_give_the_same_placements(seed, strategy):
    runs = []
    for _ in range(2):
        cluster = Cluster.from_arrow(MIXED)
        result = cluster.run_task(DEFINITION, count=15, seed=seed, placement_strategy=strategy)
        instances = cluster.instance_table()  # registered_at defaults to the loading time: left out
        runs.append((result.placements, result.failures, cluster.task_table(),
                     instances.drop_columns(["registered_at"])))
    (p1, f1, t1, i1), (p2, f2, t2, i2) = runs
    assert p1.equals(p2) and f1 == f2 and t1.equals(t2) and i1.equals(i2)


def test_different_seeds_move_random_placements():
    # 11 ACTIVE instances, 8 tasks: two seeds agreeing on all 8 draws would be a 1-in-10^8 event.
    placements = {tuple(Cluster.from_arrow(MIXED).run_task(PLAIN, count=8, seed=seed)
                        .placements.column("position").to_pylist()) for seed in range(4)}
    assert len(placements) == 4


def test_sequential_requests_see_earlier_placements():
    cluster = Cluster.from_arrow(fleet({}, {}, {}))
    spread = [{"type": "spread", "field": "instanceId"}]
    first = cluster.run_task(PLAIN, count=2, placement_strategy=spread)
    second = cluster.run_task(PLAIN, count=1, placement_strategy=spread)
    # the second request's task goes to the one instance the first left empty
    assert set(first.placements.column("position").to_pylist() + second.placements.column("position").to_pylist()) == {0, 1, 2}
    cluster.run_task(DEFINITION, count=3, placement_strategy=spread)
    # distinctInstance counts the family's tasks of earlier requests
    fourth = cluster.run_task(DEFINITION, placement_constraints=[{"type": "distinctInstance"}])
    assert fourth.failure["reason"] == "RESOURCE:PORTS"  # port 80 is met before distinctInstance
    fifth = cluster.run_task(PLAIN, placement_constraints=[{"type": "distinctInstance"}])
    assert fifth.failure["reason"] == "DistinctInstance placement constraint unsatisfied."
    # dynamic ports go on from the ones earlier requests took on the instance
    dynamic = {"family": "dyn", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 8080}]}]}
    for expected in ([49154, 49155], [49156]):  # 49153 is the DEFINITION task's on each instance
        placed = cluster.run_task(dynamic, count=len(expected), placement_constraints=[
            {"type": "memberOf", "expression": "ec2InstanceId == i-0"}])
        assert [ports for (ports,) in placed.placements.column("host_ports").to_pylist()] == expected


def _run_reference_request(cluster, req, seed):
    return cluster.run_task(requirements_from(req), count=req["count"], group=req["group"],
                            placement_constraints=constraints_from(req) or None,
                            placement_strategy=req["strategy"] or None, seed=seed)


def _compare(result, expected):
    got = result.placements.select(["task_index", "position", "ec2_instance_id", "host_ports",
                                    "host_ports_udp"]).to_pylist()
    assert got == expected.placements
    assert result.failures == expected.failures


@differential(80)
@given(placement_cases(max_instances=40), requests(), seeds())
def test_two_requests_in_a_row_match_the_reference(case, second, second_seed):
    """The reference places the second request on the first one's final tables."""
    instances, tasks, first, first_seed = case
    try:
        expected_first = place_reference(instances, tasks, first, first_seed)
        after = pa.Table.from_pylist(expected_first.tasks_after) if expected_first.tasks_after else None
        expected_second = place_reference(expected_first.instances_after, after, second, second_seed)
    except InvalidInputError:
        return
    cluster = Cluster.from_arrow(instances, tasks)
    _compare(_run_reference_request(cluster, first, first_seed), expected_first)
    _compare(_run_reference_request(cluster, second, second_seed), expected_second)


@pytest.mark.parametrize("needs, field", [
    (TaskRequirements(dynamic_tcp=65_536), "dynamic_tcp"),
    (TaskRequirements(static_udp=(53,), dynamic_udp=65_535), "dynamic_udp"),
])
def test_more_host_ports_than_a_host_has_are_refused_naming_the_field(needs, field):
    # The core sizes its output by the ports per task; beyond 65,535 of one protocol it used to
    # answer NativeError after allocating buffers for them.
    cluster = Cluster.from_arrow(pa.table({"ec2_instance_id": ["a"], "cpu_registered": [100],
                                           "memory_registered": [100]}))
    with pytest.raises(InvalidParameterError) as raised:
        cluster.run_task(needs, count=3)
    assert raised.value.field == field
    assert cluster.task_table().num_rows == 0
