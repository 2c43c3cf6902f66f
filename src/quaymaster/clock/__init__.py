"""The virtual clock: UTC milliseconds, ticks, durations (docs/semantics.md, "Services over time")."""

from quaymaster.clock.clock import (
    DEFAULT_START,
    DEFAULT_TICK_MS,
    Clock,
    format_time,
    instant_ms,
    parse_duration,
    parse_instant,
    to_datetime,
)

__all__ = ["Clock", "DEFAULT_START", "DEFAULT_TICK_MS", "format_time", "instant_ms", "parse_duration",
           "parse_instant", "to_datetime"]
