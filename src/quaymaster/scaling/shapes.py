"""Validation errors and timestamp helpers of the scaling layer.

Every API method of the scaling layer takes a request exactly as botocore's
model of the operation names its members and checks it with
``quaymaster.api_models.check_request`` (the region's own check) before
anything changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from quaymaster.api_models import VALIDATION_CODES, service_model  # noqa: F401 (service_model re-exported)
from quaymaster.errors import ServiceError

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


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
