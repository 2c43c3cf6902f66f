"""Validation errors and timestamp helpers of the scaling layer.

Every API method of the scaling layer takes a request exactly as botocore's
model of the operation names its members and checks it with
``quaymaster.api_models.check_request`` (the region's own check) before
anything changes.
"""

from __future__ import annotations

from typing import Any

from quaymaster.api_models import service_model, validation_code  # noqa: F401 (service_model re-exported)
from quaymaster.clock import instant_ms, to_datetime
from quaymaster.errors import InvalidParameterError, ServiceError

from_millis = to_datetime   # epoch milliseconds -> the aware UTC datetime of a response


def validation_error(service: str, field: str, value: Any, why: str) -> ServiceError:
    """The service's validation error, naming the field and the value."""
    return ServiceError(validation_code(service), f"{field}: {why} (got {value!r})")


def to_millis(value: Any, *, field: str, service: str = "application-autoscaling") -> int:
    """A request timestamp (datetime, ISO string or epoch seconds) as epoch milliseconds."""
    try:
        return instant_ms(value, field=field)
    except InvalidParameterError:
        raise validation_error(service, field, value, "must be an ISO 8601 timestamp, a datetime or "
                               "epoch seconds") from None
