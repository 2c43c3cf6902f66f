"""More calls for the snapshot round trip: Fargate (Spot interruptions drawn), EXTERNAL services
with task sets, services behind target groups, deployments caught mid-way, RunTask tasks waiting
in PROVISIONING for managed scaling, step scaling with alarms, scheduled actions, ECR pushes and
an ECR layer upload left in progress. Each is chosen from the region's state, so equal regions
make equal calls."""

import datetime as dt
import hashlib
import json

FARGATE_DEF = {"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "512", "memory": "1024", "containerDefinitions": [{"name": "app", "image": "nginx"}]}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}}
SPLIT = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
REPO = {"repositoryName": "team/app"}


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fargate(answer, region, cluster, a, b):
    out = [answer(region, "ecs", "RegisterTaskDefinition", FARGATE_DEF),
           answer(region, "ecs", "PutClusterCapacityProviders", {
               "cluster": cluster, "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
               "defaultCapacityProviderStrategy": []}),
           answer(region, "ecs", "RunTask", {"cluster": cluster, "taskDefinition": "fg", "count": 1 + b % 4,
                                             "networkConfiguration": NETWORK, "capacityProviderStrategy": SPLIT})]
    if a % 2:
        out.append(answer(region, "ecs", "CreateService", {
            "cluster": cluster, "serviceName": f"fg{b % 2}", "taskDefinition": "fg", "desiredCount": 1 + a % 3,
            "networkConfiguration": NETWORK, "capacityProviderStrategy": SPLIT}))
    return out


def task_sets(answer, region, cluster, a, b):
    out = [answer(region, "ecs", "CreateService", {
        "cluster": cluster, "serviceName": "ext", "desiredCount": 2 + a % 4,
        "deploymentController": {"type": "EXTERNAL"}})]
    made = answer(region, "ecs", "CreateTaskSet", {
        "cluster": cluster, "service": "ext", "taskDefinition": f"f{b % 2}", "externalId": f"x{a % 3}",
        "scale": {"value": float(10 * (1 + b % 10)), "unit": "PERCENT"}})
    out.append(made)
    if isinstance(made, dict) and b % 3 == 0:
        out.append(answer(region, "ecs", "UpdateServicePrimaryTaskSet", {
            "cluster": cluster, "service": "ext", "primaryTaskSet": made["taskSet"]["taskSetArn"]}))
    return out


def load_balanced(answer, region, cluster, a, b):
    return [answer(region, "ecs", "RegisterTaskDefinition", {"family": "lb", "containerDefinitions": [
                {"name": "app", "image": "nginx", "cpu": 128, "memory": 128,
                 "portMappings": [{"containerPort": 80}]}]}),
            answer(region, "ecs", "CreateService", {
                "cluster": cluster, "serviceName": "lb", "taskDefinition": "lb", "desiredCount": 1 + a % 3,
                "loadBalancers": [{"targetGroupArn": TG, "containerName": "app", "containerPort": 80}]})]


def redeploy(answer, region, cluster, a, b, service):
    """A new deployment (new definition or forced), caught mid-way by the next snapshot."""
    definition = {"taskDefinition": f"f{a % 2}"} if b % 2 else {}   # else forced, same definition
    return answer(region, "ecs", "UpdateService", {
        "cluster": cluster, "service": service, **definition, "forceNewDeployment": True,
        "deploymentConfiguration": {"maximumPercent": 100 + 50 * (b % 3), "minimumHealthyPercent": 50}})


def waiting_run_task(answer, region, cluster, a, b):
    """RunTask on the managed provider: what does not fit waits in PROVISIONING for launches."""
    answer(region, "ecs", "RegisterTaskDefinition", {"family": "big", "containerDefinitions": [
        {"name": "app", "image": "nginx", "cpu": 1024, "memory": 1536}]})
    return answer(region, "ecs", "RunTask", {"cluster": cluster, "taskDefinition": "big",
                                             "count": 2 + b % 9,
                                             "capacityProviderStrategy": [{"capacityProvider": "cp",
                                                                           "weight": 1}]})


def step_scaling(answer, region, cluster, a, b):
    target = {"ServiceNamespace": "ecs", "ResourceId": f"service/{cluster}/scaled",
              "ScalableDimension": "ecs:service:DesiredCount"}
    policy = answer(region, "application-autoscaling", "PutScalingPolicy", {
        **target, "PolicyName": "steps", "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                                           "StepAdjustments": [{"MetricIntervalLowerBound": 0,
                                                                "ScalingAdjustment": 1 + a % 2}]}})
    out = [policy]
    if isinstance(policy, dict):
        out.append(answer(region, "cloudwatch", "PutMetricAlarm", {
            "AlarmName": "high", "MetricName": "CPUUtilization", "Namespace": "AWS/ECS", "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 1, "Threshold": float(b % 50),
            "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [policy["PolicyARN"]],
            "Dimensions": [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": "scaled"}]}))
    at = dt.datetime.fromtimestamp(region.clock.now / 1000 + 600 + 60 * (a % 10), dt.timezone.utc)
    out.append(answer(region, "application-autoscaling", "PutScheduledAction", {
        **target, "ScheduledActionName": "later", "Schedule": f"at({at:%Y-%m-%dT%H:%M:%S})",
        "ScalableTargetAction": {"MinCapacity": 1 + b % 3, "MaxCapacity": 8}}))
    out.append(answer(region, "application-autoscaling", "PutScheduledAction", {
        **target, "ScheduledActionName": "nightly", "Schedule": "cron(0 2 * * ? *)", "Timezone": "Europe/Paris",
        "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 6}}))
    return out


def ecr(answer, region, a, b):
    """A repository, a pushed image, and a layer upload left open with one part written."""
    out = [answer(region, "ecr", "CreateRepository", REPO)]
    blob = json.dumps({"build": a}).encode()
    upload = answer(region, "ecr", "InitiateLayerUpload", REPO)["uploadId"]
    for operation, request in (("UploadLayerPart", {"partFirstByte": 0, "partLastByte": len(blob) - 1,
                                                    "layerPartBlob": blob}),
                               ("CompleteLayerUpload", {"layerDigests": [_sha(blob)]})):
        done = answer(region, "ecr", operation, {**REPO, "uploadId": upload, **request})
        out.append({k: v for k, v in done.items() if k != "uploadId"} if isinstance(done, dict) else done)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": _sha(blob), "size": len(blob)}, "layers": []})
    out.append(answer(region, "ecr", "PutImage", {**REPO, "imageManifest": manifest, "imageTag": f"b{b % 4}"}))
    return out


def views(answer, region):
    """Describe calls of the parts above."""
    out = {"repositories": answer(region, "ecr", "DescribeRepositories", {}),
           "scheduled": answer(region, "application-autoscaling", "DescribeScheduledActions",
                               {"ServiceNamespace": "ecs"}),
           "alarms": answer(region, "cloudwatch", "DescribeAlarms", {}),
           "asg_activities": answer(region, "autoscaling", "DescribeScalingActivities", {})}
    if "team/app" in region.ecr.repositories:
        out["images"] = answer(region, "ecr", "DescribeImages", REPO)
    for name in [r.name for r in region.clusters.values() if r.status == "ACTIVE"]:
        if "ext" in region.clusters[name].services:
            out[f"sets.{name}"] = answer(region, "ecs", "DescribeTaskSets", {"cluster": name, "service": "ext"})
    return out
