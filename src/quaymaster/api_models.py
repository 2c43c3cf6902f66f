"""botocore's service models, and the one check of a request against an operation's input shape.

Every API quaymaster answers (ECS through the region, ECR, Application Auto
Scaling, EC2 Auto Scaling, CloudWatch, CodeDeploy, and a simulation's calls)
checks a request here before anything changes, so a request boto3 would refuse
is refused with botocore's report, which names every bad member and value.
"""

from __future__ import annotations

import functools
from typing import Any

from quaymaster.errors import ServiceError

# The error each service answers a request that breaks its model with.
VALIDATION_CODES = {
    "ecs": "InvalidParameterException",
    "ecr": "InvalidParameterException",
    "codedeploy": "InvalidParameterException",
    "application-autoscaling": "ValidationException",
    "autoscaling": "ValidationError",  # the query protocol's common error (not a modeled shape)
    "cloudwatch": "InvalidParameterValueException",
}


@functools.cache
def service_model(service: str):
    import botocore.session  # imported on first use: it costs a third of a second

    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str):
    return service_model(service).operation_model(operation)


def validation_code(service: str) -> str:
    return VALIDATION_CODES.get(service, "InvalidParameterException")


def check_request(service: str, operation: str, request: Any) -> dict:
    """``request`` if the operation's input shape accepts it, else the service's validation error."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    code = validation_code(service)
    if not isinstance(request, dict):
        raise ServiceError(code, f"{operation}: the request must be an object, not {type(request).__name__}")
    try:
        validate_parameters(request, operation_model(service, operation).input_shape)
    except ParamValidationError as exc:
        report = exc.kwargs.get("report", str(exc))
        raise ServiceError(code, f"{operation}: {report}".replace("\n", " ")) from None
    return request
