"""summary.json's rolloutState is DescribeServices' first deployment: an ECS BLUE_GREEN service
mid-deployment shows green's IN_PROGRESS, and COMPLETED once green has taken over."""

import pyarrow.parquet as pq
import pytest

from quaymaster.fleet import generate_fleet
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation


def web(image):
    return {"family": "web", "containerDefinitions": [{"name": "web", "image": image, "cpu": 256, "memory": 512}]}


@pytest.fixture
def scenario(tmp_path):
    fleet = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(4, azs=2, seed=1, cluster="prod"), fleet)
    call = lambda at, operation, request: {"at": at, "operation": operation, "request": request}  # noqa: E731
    return load_scenario({"seed": 5, "duration": "1h", "fleets": [{"cluster": "prod", "instances": str(fleet)}],
                          "calls": [
        call("0s", "ecs:CreateCluster", {"clusterName": "prod"}),
        call("0s", "ecs:RegisterTaskDefinition", web("nginx")),
        call("0s", "ecs:RegisterTaskDefinition", web("nginx:2")),
        call("0s", "ecs:CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web:1",
                                         "desiredCount": 2, "deploymentConfiguration": {
                                             "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10}}),
        call("10m", "ecs:UpdateService", {"cluster": "prod", "service": "web", "taskDefinition": "web:2"})]})


def rollout(simulation):
    return simulation.summary()["services"]["prod/web"]["rolloutState"]


def test_a_blue_green_service_mid_deployment_is_in_progress(scenario):
    simulation = Simulation(scenario).run(until_ms=11 * 60_000)
    described = simulation.region.handle("ecs", "DescribeServices", {"cluster": "prod", "services": ["web"]})
    assert described["services"][0]["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert rollout(simulation) == "IN_PROGRESS"


def test_a_finished_blue_green_deployment_is_completed(scenario):
    assert rollout(Simulation(scenario).run()) == "COMPLETED"
