"""A Fargate Spot service through ``quaymaster simulate``: interrupted tasks are warned, stopped
with SpotInterruption two minutes later and replaced; the same scenario gives the same bytes."""

import json

import pyarrow.parquet as pq

from quaymaster.cli.main import main
from quaymaster.simulation import ScenarioError, load_scenario
import pytest

SUBNETS = {"subnet-a": "us-east-1a", "subnet-b": "us-east-1b"}
DEFINITION = {"family": "worker", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
              "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "w", "image": "busybox"}]}


def fargate_scenario(rate=1.5):
    call = lambda operation, request: {"at": "0s", "operation": operation, "request": request}  # noqa: E731
    return {
        "seed": 21, "duration": "3h", "tick": "15s",
        "fargate": {"spotInterruptionsPerHour": rate, "subnets": SUBNETS},
        "calls": [
            call("ecs:CreateCluster", {"clusterName": "batch"}),
            call("ecs:PutClusterCapacityProviders", {
                "cluster": "batch", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                                                    {"capacityProvider": "FARGATE_SPOT", "weight": 3}]}),
            call("ecs:RegisterTaskDefinition", DEFINITION),
            call("ecs:CreateService", {"cluster": "batch", "serviceName": "worker", "taskDefinition": "worker",
                                       "desiredCount": 10, "networkConfiguration": {
                                           "awsvpcConfiguration": {"subnets": list(SUBNETS)}}}),
        ],
    }


def test_simulated_spot_service_replaces_interrupted_tasks(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(fargate_scenario()))
    for out in ("a", "b"):
        assert main(["simulate", str(path), "--out", str(tmp_path / out), "--no-progress"]) == 0
    for name in ("metrics", "events", "tasks", "activities"):
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()
    tasks = pq.read_table(tmp_path / "a" / "tasks.parquet").to_pylist()
    interrupted = [t for t in tasks if t["stop_code"] == "SpotInterruption"]
    assert interrupted, "1.5 interruptions per task-hour over 3 h of about 8 Spot tasks"
    assert {t["capacity_provider"] for t in interrupted} == {"FARGATE_SPOT"}
    assert {t["launch_type"] for t in tasks} == {"FARGATE"}
    assert {t["ec2_instance_id"] for t in tasks} == {None}
    assert {t["availability_zone"] for t in tasks} == set(SUBNETS.values())
    assert len(tasks) >= 10 + len(interrupted)      # every interrupted task was replaced
    events = pq.read_table(tmp_path / "a" / "events.parquet").column("message").to_pylist()
    warnings = [m for m in events if "Spot interruption warning" in m]
    assert len(warnings) >= len(interrupted)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["services"]["batch/worker"]["runningCount"] + summary["services"]["batch/worker"].get(
        "pendingCount", 0) >= 9


@pytest.mark.parametrize("fargate, where", [
    ({"spotInterruptionsPerHour": -1}, "$.fargate.spotInterruptionsPerHour"),
    ({"spotInterruptionsPerHour": "often"}, "$.fargate.spotInterruptionsPerHour"),
    ({"subnets": {"subnet-a": 3}}, "$.fargate.subnets.subnet-a"),
    ({"rate": 1}, "$.fargate.rate"),
    ([], "$.fargate"),
])
def test_bad_fargate_settings_name_the_json_path(fargate, where):
    with pytest.raises(ScenarioError) as info:
        load_scenario({**fargate_scenario(), "fargate": fargate})
    assert info.value.path == where
