"""``Region.handle(service, operation, request)``: botocore's operation names to region methods.

Requests are checked against botocore's input shape first
(``api_models.check_request``: the modeled types and required members; enums
are left to each operation), so a malformed request is the service's
validation error (``InvalidParameterException`` for ECS) and changes nothing.
"""

from __future__ import annotations

import copy
import re

from quaymaster.api_models import check_request, operation_model, service_model  # noqa: F401 (re-exported)
from quaymaster.errors import ServiceError

SUPPORTED = {"ecs": (
    "CreateCluster", "DeleteCluster", "DescribeClusters", "ListClusters", "UpdateCluster",
    "UpdateClusterSettings",
    "RegisterContainerInstance", "DeregisterContainerInstance", "DescribeContainerInstances",
    "ListContainerInstances", "UpdateContainerInstancesState", "PutAttributes", "DeleteAttributes",
    "ListAttributes",
    "RegisterTaskDefinition", "DeregisterTaskDefinition", "DeleteTaskDefinitions", "DescribeTaskDefinition",
    "ListTaskDefinitions", "ListTaskDefinitionFamilies",
    "RunTask", "StartTask", "StopTask", "DescribeTasks", "ListTasks",
    "CreateService", "UpdateService", "DeleteService", "DescribeServices", "ListServices",
    "ListServiceDeployments", "DescribeServiceDeployments",
    "CreateTaskSet", "UpdateTaskSet", "DeleteTaskSet", "DescribeTaskSets", "UpdateServicePrimaryTaskSet",
    "TagResource", "UntagResource", "ListTagsForResource",
    "CreateCapacityProvider", "UpdateCapacityProvider", "DeleteCapacityProvider",
    "DescribeCapacityProviders", "PutClusterCapacityProviders",
), "application-autoscaling": (
    "RegisterScalableTarget", "DeregisterScalableTarget", "DescribeScalableTargets",
    "PutScalingPolicy", "DeleteScalingPolicy", "DescribeScalingPolicies",
    "PutScheduledAction", "DeleteScheduledAction", "DescribeScheduledActions",
    "DescribeScalingActivities",
), "autoscaling": (
    "CreateAutoScalingGroup", "UpdateAutoScalingGroup", "DescribeAutoScalingGroups",
    "DeleteAutoScalingGroup", "SetDesiredCapacity", "SetInstanceProtection",
), "cloudwatch": ("PutMetricAlarm",),
    "codedeploy": ("CreateDeployment",)}   # blue/green of CODE_DEPLOY services (region/ops_tasksets.py)
# Services whose operations are methods of the region's scaling objects; those run the same
# check (api_models.check_request) themselves, so that a direct call is checked too, after
# removing the Auto Scaling group's LaunchTemplate extension members the model lacks.
DELEGATED = {"application-autoscaling": "aas", "autoscaling": "autoscaling", "cloudwatch": "aas"}


def snake_case(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation).lower()


class Dispatch:
    """Mixin of Region: the one entry point the HTTP endpoint and the simulator use."""

    def handle(self, service: str, operation: str, request: dict | None = None, *,
               principal: str | None = None) -> dict:
        """Validate ``request`` against botocore's model and run the operation; returns its response.

        ``ecr`` calls go to the region's registry (``self.ecr``), which validates them itself;
        ``principal`` (the caller's ARN) is whom an ECR authorization token is issued to.
        """
        if service == "ecr":
            return self.ecr.handle(operation, request, principal=principal)
        if service not in SUPPORTED or operation not in SUPPORTED[service]:
            raise ServiceError("InvalidAction", f"{service}:{operation} is not supported by this region",
                               status=400)
        request = {} if request is None else request
        if service in DELEGATED:
            target = getattr(self.scaling, DELEGATED[service])
            return getattr(target, snake_case(operation))(copy.deepcopy(request))
        check_request(service, operation, request)
        return getattr(self, snake_case(operation))(copy.deepcopy(request))
