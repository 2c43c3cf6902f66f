"""The batch Describe* operations' common part: each reference described, or a MISSING failure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from quaymaster.errors import ServiceError
from quaymaster.region.errors import invalid


def describe_each(refs: Sequence[str], describe: Callable[[str], dict], *, member: str,
                  limit: int | None = None,
                  arn_of: Callable[[str], str] = lambda ref: ref) -> tuple[list, list]:
    """(found, failures) in request order; ``describe(ref)`` raises ServiceError for a reference it cannot find.

    More than ``limit`` references is InvalidParameterException naming ``member``,
    before anything is looked up; a failure's ``arn`` is ``arn_of(ref)``.
    """
    if limit is not None and len(refs) > limit:
        raise invalid(f"{member} can have at most {limit} items.")
    found, failures = [], []
    for ref in refs:
        try:
            found.append(describe(ref))
        except ServiceError:
            failures.append({"arn": arn_of(ref), "reason": "MISSING"})
    return found, failures
