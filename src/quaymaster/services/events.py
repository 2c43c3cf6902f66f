"""A service's events: the 100 most recent, with de-duplication by cause."""

from __future__ import annotations

from collections import deque

from quaymaster.clock import to_datetime
from quaymaster.streams import key_hash

EVENT_LIMIT = 100


def _event_id(service_arn: str, n: int) -> str:
    h = f"{key_hash(service_arn, n):016x}{key_hash(n, service_arn):016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class EventLog:
    """ECS keeps a service's 100 most recent events, newest first in DescribeServices.

    A message emitted under a ``cause`` is not repeated while that cause is
    active; :meth:`clear` ends the cause (the next occurrence is reported again).
    """

    def __init__(self, service_arn: str, sink=None, *, limit: int = EVENT_LIMIT):
        self._arn = service_arn
        self._events: deque = deque(maxlen=limit)
        self._active: dict[str, str] = {}
        self._count = 0
        self._sink = sink      # region-wide recorder: sink(time_ms, message)

    def emit(self, now: int, message: str, cause: str | None = None) -> bool:
        if cause is not None:
            if self._active.get(cause) == message:
                return False
            self._active[cause] = message
        self._count += 1
        self._events.append((now, _event_id(self._arn, self._count), message))
        if self._sink is not None:
            self._sink(now, message)
        return True

    def clear(self, cause: str) -> None:
        self._active.pop(cause, None)

    def active(self, cause: str) -> bool:
        return cause in self._active

    def __len__(self) -> int:
        return len(self._events)

    def messages(self) -> list[str]:
        """Oldest first."""
        return [m for _, _, m in self._events]

    def to_ecs(self) -> list[dict]:
        return [{"id": i, "createdAt": to_datetime(t), "message": m} for t, i, m in reversed(self._events)]
