"""A blue/green deployment in a scenario: CODE_DEPLOY service, codedeploy:CreateDeployment, healthyTargets."""

import pyarrow.parquet as pq

from quaymaster.fleet import generate_fleet
from quaymaster.simulation import load_scenario, simulate

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/00000000000000ab"
APPSPEC = ("Resources:\n  - TargetService:\n      Properties:\n        TaskDefinition: web:2\n")


def web(image):
    return {"family": "web", "containerDefinitions": [
        {"name": "web", "image": image, "cpu": 256, "memory": 512, "portMappings": [{"containerPort": 80}]}]}


def test_scenario_blue_green_deployment_is_replayable(tmp_path):
    fleet = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(6, azs=3, seed=1, cluster="prod"), fleet)
    document = {
        "seed": 3, "duration": "2h",
        "calls": [
            {"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}},
            {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": web("nginx")},
            {"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": web("nginx:2")},
            {"at": "0s", "operation": "ecs:CreateService", "request": {
                "cluster": "prod", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 3,
                "deploymentController": {"type": "CODE_DEPLOY"},
                "loadBalancers": [{"targetGroupArn": TG, "containerName": "web", "containerPort": 80}]}},
            {"at": "10m", "operation": "codedeploy:CreateDeployment", "request": {
                "applicationName": "prod", "deploymentGroupName": "web",
                "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
                "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC}}}},
        ],
        "fleets": [{"cluster": "prod", "instances": str(fleet)}],
    }
    runs = [simulate(load_scenario(document)) for _ in range(2)]
    tables = [r.tables() for r in runs]
    assert tables[0]["metrics"].equals(tables[1]["metrics"]) and tables[0]["events"].equals(tables[1]["events"])
    healthy = [r["value"] for r in tables[0]["metrics"].to_pylist() if r["metric"] == "healthyTargets"]
    assert healthy[5] == 3 and max(healthy) == 6 and healthy[-1] == 3    # blue + green during the shift
    region = runs[0].region
    service = region.clusters["prod"].services["web"]
    assert service.blue_green.state == "SUCCEEDED"
    assert [t.task_definition.arn.rsplit("/", 1)[-1] for t in service.task_sets] == ["web:2"]
    assert region.load_balancing.healthy_targets(TG) == 3
