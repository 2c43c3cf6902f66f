"""Scenarios: checking with JSON paths, the simulate command, outputs and byte-identical replays."""

import json

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.fleet import generate_fleet
from quaymaster.simulation import ScenarioError, load_scenario, simulate
from quaymaster.simulation.tables import SCHEMAS

WEB = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512}]}


def scenario(fleet_path, **extra):
    document = {
        "seed": 5, "duration": "1h",
        "calls": [
            {"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}},
            {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": WEB},
            {"at": "0s", "operation": "ecs:CreateService", "request": {
                "cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 4}},
            {"at": "20m", "operation": "ecs:UpdateService", "request": {
                "cluster": "prod", "service": "web", "desiredCount": 6, "forceNewDeployment": True}},
        ],
        "fleets": [{"cluster": "prod", "instances": str(fleet_path)}],
        "workloads": [{"service": "prod/web", "model": "constant", "cpu": 2000}],
    }
    document.update(extra)
    return document


@pytest.fixture
def fleet(tmp_path):
    path = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(10, azs=3, seed=1, cluster="prod"), path)
    return path


def test_simulation_runs_and_reports(fleet):
    sim = simulate(load_scenario(scenario(fleet)))
    summary = sim.summary()
    assert summary["services"]["prod/web"] == {"status": "ACTIVE", "desiredCount": 6, "runningCount": 6,
                                               "pendingCount": 0, "rolloutState": "COMPLETED"}
    assert summary["events"]["steady state"] == 2 and summary["peakInstances"] == 10
    tables = sim.tables()
    for name, table in tables.items():
        assert table.schema == SCHEMAS[name]
    metrics = tables["metrics"].to_pylist()
    running = [r["value"] for r in metrics if r["metric"] == "runningCount"]
    assert len(running) == 61 and running[-1] == 6.0     # minutes 0 to 60
    unserved = [r["value"] for r in metrics if r["metric"] == "UnservedDemand"]
    assert unserved[-1] == 2000 - 6 * 256 and unserved[1] == 2000 - 4 * 256
    activities = tables["activities"].to_pylist()
    assert [(a["from"], a["to"]) for a in activities] == [("0", "4"), ("4", "6")]
    assert tables["tasks"].num_rows == 4 + 6


def test_cli_outputs_are_byte_identical(fleet, tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario(fleet)))
    for out in ("a", "b"):
        assert main(["simulate", str(path), "--out", str(tmp_path / out), "--no-progress"]) == 0
    for name in ("metrics", "events", "tasks", "activities"):
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()
    assert (tmp_path / "a" / "summary.json").read_text() == (tmp_path / "b" / "summary.json").read_text()
    assert main(["simulate", str(path), "--out", str(tmp_path / "c"), "--seed", "9", "--until", "10m",
                 "--no-progress"]) == 0
    assert pq.read_table(tmp_path / "c" / "metrics.parquet").column("time").to_pylist()[-1].minute == 10


def test_yaml_scenarios(fleet, tmp_path):
    import yaml

    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(fleet, duration="10m")))
    assert simulate(load_scenario(path)).summary()["services"]["prod/web"]["runningCount"] == 4


@pytest.mark.parametrize("change, where", [
    ({"durations": 1}, "$.durations"),
    ({"duration": "ten minutes"}, "$.duration"),
    ({"start": "yesterday"}, "$.start"),
    ({"calls": [{"at": "5x", "operation": "ecs:ListClusters", "request": {}}]}, "$.calls[0].at"),
    ({"calls": [{"at": "0s", "operation": "ecs:Nope", "request": {}}]}, "$.calls[0].operation"),
    ({"calls": [{"at": "0s", "operation": "ecs:CreateService", "request": {"serviceName": 3}}]},
     "$.calls[0].request"),
    ({"workloads": [{"service": "prod/web", "model": "constant"}]}, "$.workloads[0].cpu"),
    ({"timings": {"web": {"pending": "soon"}}}, "$.timings.web.pending"),
    ({"outputs": ["metrics", "charts"]}, "$.outputs"),
])
def test_invalid_scenarios_name_the_json_path(fleet, change, where):
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario(fleet, **change))
    assert info.value.path == where


def test_cli_exit_2_on_invalid_scenarios(fleet, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(scenario(fleet, fleets=[{"cluster": "other", "instances": str(fleet)}])))
    assert main(["simulate", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "$.fleets[0].cluster" in capsys.readouterr().err
    path.write_text("{")
    assert main(["simulate", str(path), "--out", str(tmp_path / "o")]) == 2


def test_a_refused_call_stops_the_simulation_naming_the_call(fleet):
    document = scenario(fleet)
    document["calls"].append({"at": "1m", "operation": "ecs:UpdateService",
                              "request": {"cluster": "prod", "service": "nope", "desiredCount": 1}})
    with pytest.raises(ScenarioError) as info:
        simulate(load_scenario(document))
    assert info.value.path == "$.calls[4]" and "ServiceNotFoundException" in str(info.value)
