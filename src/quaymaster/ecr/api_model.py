"""botocore's ECR model: request validation, pagination tokens, the clock.

Every ECR operation validates its request against the input shape of
botocore's ``ecr`` service model before it looks at anything else, so a
request boto3 would refuse is refused here with the same member named.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, Sequence

from quaymaster.api_models import check_request, service_model
from quaymaster.errors import ServiceError
from quaymaster.paging import TaggedJsonBase64, offset_page

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def ecr_model():
    return service_model("ecr")


def validate_request(operation: str, request: Any) -> dict:
    """The request as a dict, refused (InvalidParameterException) where the model refuses it."""
    return check_request("ecr", operation, {} if request is None else request)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


class SettableClock:
    """A clock that stands still until set or advanced (epoch seconds); the default clock."""

    def __init__(self, start: float = 1767225600.0):  # 2026-01-01T00:00:00Z
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def set(self, epoch: float) -> None:
        self.now = float(epoch)

    def advance(self, seconds: float) -> None:
        self.now += float(seconds)


def to_datetime(epoch: float) -> _dt.datetime:
    """Epoch seconds as the aware UTC datetime botocore's timestamp members hold."""
    return _EPOCH + _dt.timedelta(seconds=float(epoch))


def paginate(items: Sequence, request: dict, *, default: int = 100, what: str = "results",
             exclusive: Sequence[str] = ()) -> tuple[list, str | None]:
    """One page of ``items`` and the ``nextToken`` of the next (None on the last page).

    A token is the offset of the next item, wrapped so that a client treats it
    as opaque (and one listing's token is refused by another); one that does
    not decode is InvalidParameterException. ``exclusive`` names members that
    may not be combined with pagination.
    """
    token = request.get("nextToken")
    limit = request.get("maxResults")
    for member in exclusive:
        if request.get(member) and (token is not None or limit is not None):
            raise invalid(f"Cannot specify {member} together with nextToken or maxResults")
    size = default if limit is None else int(limit)
    return offset_page(items, token, size, TaggedJsonBase64(what),
                       lambda bad: invalid(f"Invalid nextToken {bad!r}"), past_end_ok=True)


Clock = Callable[[], float]
