"""Request checking against botocore's service models, and timestamp helpers.

Every API method of the scaling layer takes a request exactly as botocore's
model of the operation names its members and checks it with
``botocore.validate.validate_parameters`` before anything changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from quaymaster.errors import ServiceError

# The exception each service models for a request that breaks its rules.
VALIDATION_CODES = {
    "application-autoscaling": "ValidationException",
    "autoscaling": "ValidationError",  # the query protocol's common error (not a modeled shape)
    "cloudwatch": "InvalidParameterValueException",
}

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=None)
def service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


def check_request(service: str, operation: str, request: Any) -> dict:
    """The request as a dict, or ServiceError with botocore's report (it names every bad field)."""
    code = VALIDATION_CODES[service]
    if not isinstance(request, dict):
        raise ServiceError(code, f"{operation}: the request must be an object, got {request!r}")
    shape = service_model(service).operation_model(operation).input_shape
    try:
        validate_parameters(request, shape)
    except ParamValidationError as exc:
        raise ServiceError(code, f"{operation}: {exc.kwargs.get('report', str(exc))}") from None
    return request


def validation_error(service: str, field: str, value: Any, why: str) -> ServiceError:
    """The service's validation error, naming the field and the value."""
    return ServiceError(VALIDATION_CODES[service], f"{field}: {why} (got {value!r})")


def to_millis(value: Any, *, field: str, service: str = "application-autoscaling") -> int:
    """A request timestamp (datetime, ISO string or epoch seconds) as epoch milliseconds."""
    if isinstance(value, bool):
        raise validation_error(service, field, value, "must be a timestamp")
    if isinstance(value, (int, float)):
        return int(round(value * 1000))
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise validation_error(service, field, value, "is not an ISO 8601 timestamp") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - EPOCH) // dt.timedelta(milliseconds=1)
    raise validation_error(service, field, value, "must be a timestamp")


def from_millis(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)
