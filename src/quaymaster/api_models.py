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

# The code of a request that breaks the model, where the model does not say: a service that
# models ValidationException answers with it, else with InvalidParameterException if modeled.
_UNMODELED_VALIDATION_CODES = {
    "autoscaling": "ValidationError",  # the query protocol's common error (not a modeled shape)
    "cloudwatch": "InvalidParameterValueException",   # PutMetricAlarm's, for alarms of policies
}


@functools.cache
def service_model(service: str):
    import botocore.session  # imported on first use: it costs a third of a second

    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str):
    return service_model(service).operation_model(operation)


@functools.cache
def validation_code(service: str) -> str:
    """The error code a request the service's model refuses gets (the same through the wire)."""
    if service in _UNMODELED_VALIDATION_CODES:
        return _UNMODELED_VALIDATION_CODES[service]
    modeled = {shape.name for shape in service_model(service).error_shapes}
    for code in ("ValidationException", "InvalidParameterException"):
        if code in modeled:
            return code
    return "InvalidParameterException"


def check_request(service: str, operation: str, request: Any) -> dict:
    """``request`` if the operation's input shape accepts it, else the service's validation
    error in AWS's wording (every bad member and value named)."""
    from quaymaster.api_validation import model_problem

    code = validation_code(service)
    if not isinstance(request, dict):
        raise ServiceError(code, f"{operation}: the request must be an object, not {type(request).__name__}")
    problem = model_problem(request, operation_model(service, operation).input_shape)
    if problem:
        raise ServiceError(code, problem)
    return request
