"""Schedules of scheduled actions: ``at()``, ``rate()`` and AWS six-field ``cron()``.

Cron fields are parsed and matched by ``aws-croniter``; this module adds the
time zone: an expression is matched against the wall clock of its IANA zone
and each match is converted to UTC. A wall time that does not exist (skipped
by a spring-forward change) runs as late as the gap is long (02:30 becomes
03:30); a wall time that happens twice (fall back) runs once, at its first
occurrence (docs/semantics.md, "Scaling").
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from aws_croniter import AwsCroniter

from quaymaster.errors import ServiceError

UTC = dt.timezone.utc
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_RATE = re.compile(r"rate\(([1-9][0-9]{0,8}) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
# aws-croniter searches a bounded number of months; a sparse expression (a leap day, a year far
# ahead) is searched again from where it stopped, up to this many restarts.
_SEARCH_RESTARTS = 400


def _invalid(field: str, value, why: str) -> ServiceError:
    return ServiceError("ValidationException", f"{field}: {why} (got {value!r})")


def parse_timezone(name: str | None) -> dt.tzinfo:
    if name is None:
        return UTC
    try:
        if not isinstance(name, str) or not name or name.startswith(("/", ".")):
            raise ValueError(name)
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise _invalid("Timezone", name, "is not a known IANA time zone") from None


def _to_ms(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)


def _wall_to_utc_ms(wall: dt.datetime, zone: dt.tzinfo) -> int:
    """A naive wall time of ``zone`` as UTC milliseconds.

    ``fold=0``: a repeated wall time is its first occurrence, and a skipped one
    takes the offset in force before the gap (02:30 on a spring-forward night
    of a one-hour change runs at 03:30).
    """
    return _to_ms(wall.replace(tzinfo=zone, fold=0))


@dataclass(frozen=True)
class Schedule:
    """One parsed schedule; ``next_after(t)`` is the first run strictly after ``t`` (UTC ms)."""

    expression: str
    kind: str                      # "at", "rate" or "cron"
    zone: dt.tzinfo
    at_ms: int | None = None       # at(): the one run
    period_ms: int | None = None   # rate(): the interval
    cron: AwsCroniter | None = None

    # Serialization hooks (region snapshots, copies): a schedule is its expression and time
    # zone; the parsed form is made again from them.
    def __getstate__(self) -> dict:
        return {"expression": self.expression, "timezone": getattr(self.zone, "key", None)}

    def __setstate__(self, state: dict) -> None:
        parsed = parse_schedule(state["expression"], state["timezone"])
        for name, value in parsed.__dict__.items():
            object.__setattr__(self, name, value)

    def next_after(self, after_ms: int, anchor_ms: int) -> int | None:
        """The next run after ``after_ms``; ``anchor_ms`` is where a rate() counts from."""
        if self.at_ms is not None:
            return self.at_ms if self.at_ms > after_ms else None
        if self.period_ms is not None:
            if after_ms < anchor_ms:
                return anchor_ms
            return anchor_ms + ((after_ms - anchor_ms) // self.period_ms + 1) * self.period_ms
        return self._next_cron(after_ms)

    def _next_cron(self, after_ms: int) -> int | None:
        moment = dt.datetime.fromtimestamp(after_ms / 1000, UTC)
        wall = moment.astimezone(self.zone).replace(tzinfo=None)
        probe = wall
        assert self.cron is not None
        for _ in range(_SEARCH_RESTARTS):
            found = self.cron.occurrence(probe.replace(tzinfo=UTC)).next()
            if found is None:
                if probe.year >= 2199 or probe.year > max(self.cron.years):
                    return None
                probe = _months_later(probe, 10)  # the library gave up: go on from further ahead
                continue
            at = _wall_to_utc_ms(found.replace(tzinfo=None), self.zone)
            if at > after_ms:
                return at
            probe = found.replace(tzinfo=None)  # a repeated (folded) wall time: look further
        return None


def _months_later(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return dt.datetime(index // 12, index % 12 + 1, 1) - dt.timedelta(minutes=1)


_YEAR_STEP = re.compile(r"(\*|\d{4}|\d{4}-\d{4})/(\d{1,3})")


def _expand_year(field: str, expression: str) -> str:
    """The year field with its increments (``*/2``, ``2026/5``, ``2026-2040/2``) written out.

    aws-croniter takes an increment only when it is itself a valid year, so
    ``*/2`` would be refused; a list of the years is equivalent and accepted.
    """
    parts = []
    for part in field.split(","):
        match = _YEAR_STEP.fullmatch(part)
        if match is None:
            parts.append(part)
            continue
        span, step = match.group(1), int(match.group(2))
        low, high = (1970, 2199) if span == "*" else (
            (int(span), 2199) if "-" not in span else tuple(map(int, span.split("-"))))
        if step < 1 or not 1970 <= low <= high <= 2199:
            raise _invalid("Schedule", expression, f"year field {field!r} is out of 1970-2199")
        parts.extend(str(year) for year in range(low, high + 1, step))
    return ",".join(parts)


def _parse_cron(body: str, expression: str) -> AwsCroniter:
    fields = body.split(" ")
    if len(fields) == 6:
        day_of_month, day_of_week = fields[2], fields[4]
        if day_of_month != "?" and day_of_week != "?":
            raise _invalid("Schedule", expression, "a cron expression cannot set both the "
                           "day-of-month and the day-of-week fields; one of them must be '?'")
        if day_of_week == "L":  # the last day of the week, Saturday; aws-croniter never matches "L"
            fields[4] = "7"
        if "/" in fields[5]:
            fields[5] = _expand_year(fields[5], expression)
        body = " ".join(fields)
    try:
        return AwsCroniter(body)
    except Exception as exc:  # the library raises its own errors, and ValueError on bad ranges
        raise _invalid("Schedule", expression, f"is not a valid cron expression: {exc}") from None


def parse_schedule(expression: str, timezone: str | None = None) -> Schedule:
    """Check a ``Schedule`` member of PutScheduledAction (and its ``Timezone``)."""
    zone = parse_timezone(timezone)
    if not isinstance(expression, str):
        raise _invalid("Schedule", expression, "must be a string")
    if match := _AT.fullmatch(expression):
        try:
            year, month, day, hour, minute, second = (int(part) for part in match.groups())
            wall = dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise _invalid("Schedule", expression, "is not a valid date and time") from None
        return Schedule(expression, "at", zone, at_ms=_wall_to_utc_ms(wall, zone))
    if match := _RATE.fullmatch(expression):
        value, unit = int(match.group(1)), match.group(2).rstrip("s")
        return Schedule(expression, "rate", zone, period_ms=value * _UNIT_MS[unit])
    if match := _CRON.fullmatch(expression):
        return Schedule(expression, "cron", zone, cron=_parse_cron(match.group(1), expression))
    raise _invalid("Schedule", expression, "must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) "
                   "or cron(minutes hours day-of-month month day-of-week year)")
