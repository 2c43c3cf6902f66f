"""Virtual time: integer UTC milliseconds that only move when the region is advanced.

Nothing here sleeps. The region evaluates its fixed order at every multiple of
the tick from the start; :meth:`Clock.next_tick` rounds a due time up to the
tick at which it is observed, which is what lets the region jump from event to
event and still equal the tick-by-tick result.
"""

from __future__ import annotations

import datetime as _dt
import re

from quaymaster.errors import InvalidParameterError

DEFAULT_START = "2026-01-01T00:00:00Z"
DEFAULT_TICK_MS = 15_000
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def parse_duration(text, *, field: str = "duration") -> int:
    """``90s``, ``15m``, ``6h``, ``2d``, ``250ms`` (or a number of seconds) -> milliseconds."""
    if isinstance(text, bool):
        raise InvalidParameterError(f"{field}: a duration such as 90s, 15m, 6h or 2d, found {text!r}",
                                    field=field, value=text)
    if isinstance(text, (int, float)):
        if text < 0:
            raise InvalidParameterError(f"{field}: a duration must not be negative, found {text!r}",
                                        field=field, value=text)
        return int(round(text * 1000))
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise InvalidParameterError(f"{field}: a duration such as 90s, 15m, 6h or 2d, found {text!r}",
                                    field=field, value=text)
    return int(round(float(match.group(1)) * _UNITS_MS[match.group(2)]))


def parse_instant(text, *, field: str = "start") -> int:
    """An ISO-8601 timestamp (``Z`` or an offset; naive means UTC) -> UTC milliseconds."""
    if isinstance(text, _dt.datetime):
        moment = text
    elif isinstance(text, str):
        try:
            moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameterError(f"{field}: not an ISO-8601 timestamp: {text!r}", field=field,
                                        value=text) from None
    else:
        raise InvalidParameterError(f"{field}: not an ISO-8601 timestamp: {text!r}", field=field, value=text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return (moment - _EPOCH) // _dt.timedelta(milliseconds=1)


def instant_ms(value, *, field: str) -> int:
    """A request timestamp as botocore hands it over (datetime, ISO-8601 string or epoch seconds) -> ms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value * 1000))
    return parse_instant(value, field=field)


def to_datetime(ms: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(milliseconds=ms)


def format_time(ms: int) -> str:
    return to_datetime(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    """The region's one clock: ``now`` in UTC ms, a start and a tick."""

    def __init__(self, start=DEFAULT_START, tick_ms: int = DEFAULT_TICK_MS):
        if isinstance(tick_ms, bool) or not isinstance(tick_ms, int) or tick_ms <= 0:
            raise InvalidParameterError(f"tick must be a positive number of milliseconds, found {tick_ms!r}",
                                        field="tick", value=tick_ms)
        self.start = start if isinstance(start, int) else parse_instant(start)
        self.tick_ms = tick_ms
        self.now = self.start

    def next_tick(self, due_ms: int) -> int:
        """The first tick at or after ``due_ms`` (never before now)."""
        if due_ms <= self.now:
            return self.now
        offset = due_ms - self.start
        ticks = -(-offset // self.tick_ms)
        return self.start + ticks * self.tick_ms

    def datetime(self) -> _dt.datetime:
        return to_datetime(self.now)

    def elapsed_ms(self) -> int:
        return self.now - self.start
