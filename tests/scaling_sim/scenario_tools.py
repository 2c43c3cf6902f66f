"""A scaling scenario shared by the end-to-end tests: target tracking on a diurnal workload over a
capacity provider with managed scaling."""

WEB = {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 512,
                                                  "memory": 1024}]}
GROUP = {"AutoScalingGroupName": "asg", "MinSize": 0, "MaxSize": 30, "DesiredCapacity": 0,
         "AvailabilityZones": ["us-east-1a", "us-east-1b"],
         "MixedInstancesPolicy": {"LaunchTemplate": {
             "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs"},
             "Overrides": [{"InstanceType": "c5.xlarge"}]}}}
TARGET = {"ServiceNamespace": "ecs", "ResourceId": "service/prod/web",
          "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": 40}
POLICY = {"ServiceNamespace": "ecs", "ResourceId": "service/prod/web",
          "ScalableDimension": "ecs:service:DesiredCount", "PolicyName": "cpu50",
          "PolicyType": "TargetTrackingScaling",
          "TargetTrackingScalingPolicyConfiguration": {
              "TargetValue": 50.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 120,
              "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}


def call(at, operation, request):
    return {"at": at, "operation": operation, "request": request}


def scaling_scenario(duration="24h", **extra):
    document = {
        "seed": 11, "start": "2026-01-05T00:00:00Z", "duration": duration, "tick": "15s",
        "calls": [
            call("0s", "ecs:CreateCluster", {"clusterName": "prod"}),
            call("0s", "autoscaling:CreateAutoScalingGroup", GROUP),
            call("0s", "ecs:CreateCapacityProvider", {"name": "cp", "autoScalingGroupProvider": {
                "autoScalingGroupArn": "asg",
                "managedScaling": {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 60},
                "managedTerminationProtection": "ENABLED"}}),
            call("0s", "ecs:PutClusterCapacityProviders", {
                "cluster": "prod", "capacityProviders": ["cp"],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}),
            call("0s", "ecs:RegisterTaskDefinition", WEB),
            call("0s", "ecs:CreateService", {"cluster": "prod", "serviceName": "web",
                                             "taskDefinition": "web", "desiredCount": 2}),
            call("0s", "application-autoscaling:RegisterScalableTarget", TARGET),
            call("0s", "application-autoscaling:PutScalingPolicy", POLICY),
        ],
        "workloads": [{"service": "prod/web", "model": "diurnal", "low": 200, "high": 6000,
                       "peak": "12:00", "noise": 0.05}],
    }
    document.update(extra)
    return document
