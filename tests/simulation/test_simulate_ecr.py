"""ECR calls in a scenario: a repository and an image made by ``ecr:`` calls serve a service's
tasks; once the image is deleted mid-day, the service's new tasks stop with CannotPullContainerError
while the running ones carry on."""

import json

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.fleet import generate_fleet
from quaymaster.simulation import ScenarioError, load_scenario

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:v1"
# an OCI image index names no blob, so a scenario can push it without uploading layers
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []})


def call(at, operation, request):
    return {"at": at, "operation": operation, "request": request}


def ecr_scenario(fleet):
    return {"seed": 9, "duration": "2h", "fleets": [{"cluster": "prod", "instances": str(fleet)}], "calls": [
        call("0s", "ecs:CreateCluster", {"clusterName": "prod"}),
        call("0s", "ecr:CreateRepository", {"repositoryName": "team/web"}),
        call("0s", "ecr:PutImage", {"repositoryName": "team/web", "imageTag": "v1", "imageManifest": MANIFEST}),
        call("0s", "ecs:RegisterTaskDefinition", {"family": "web", "containerDefinitions": [
            {"name": "web", "image": IMAGE, "cpu": 256, "memory": 512}]}),
        call("0s", "ecs:CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web",
                                         "desiredCount": 2}),
        call("1h", "ecr:BatchDeleteImage", {"repositoryName": "team/web", "imageIds": [{"imageTag": "v1"}]}),
        call("61m", "ecs:UpdateService", {"cluster": "prod", "service": "web", "forceNewDeployment": True})]}


@pytest.fixture
def fleet(tmp_path):
    path = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(3, azs=3, seed=1, cluster="prod"), path)
    return path


def test_a_deleted_image_stops_the_new_tasks_with_cannot_pull(tmp_path, fleet):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(ecr_scenario(fleet)))
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    tasks = pq.read_table(tmp_path / "out" / "tasks.parquet").to_pylist()
    before = [t for t in tasks if t["created_at"].timestamp() < 1767225600 + 3600]
    after = [t for t in tasks if t not in before]
    assert len(before) == 2 and all(t["started_at"] is not None and t["stopped_at"] is None for t in before)
    assert after, "the new deployment kept trying"
    for task in after:
        assert task["started_at"] is None and task["stop_code"] == "TaskFailedToStart"
        assert task["stopped_reason"].startswith("CannotPullContainerError") and IMAGE in task["stopped_reason"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["services"]["prod/web"]["runningCount"] == 2     # blue keeps serving


def test_an_ecr_call_the_registry_refuses_names_the_call(fleet):
    from quaymaster.simulation.run import SimulationError, Simulation

    document = ecr_scenario(fleet)
    document["calls"][2]["request"]["repositoryName"] = "team/none"
    with pytest.raises(SimulationError) as caught:
        Simulation(load_scenario(document)).run()
    assert caught.value.path == "$.calls[2]" and "RepositoryNotFoundException" in str(caught.value)


@pytest.mark.parametrize("operation", ["ecr:UploadLayerPart", "ecr:GetAuthorizationToken", "ecr:NoSuchThing"])
def test_ecr_operations_a_scenario_cannot_make_are_refused(fleet, operation):
    document = ecr_scenario(fleet)
    document["calls"].append(call("0s", operation, {"repositoryName": "team/web"}))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(document)
    assert caught.value.path == f"$.calls[{len(document['calls']) - 1}].operation"
