"""Capacity provider strategies: checking one, and splitting tasks by base and weight.

The split (docs/semantics.md, "Scaling"): the provider with the base takes
tasks until it holds ``base`` of them; every further task goes to the
provider whose ``weighted / weight`` is smallest, ties to the earlier item in
the list, ``weighted`` being what the provider holds beyond its base. So
weights 1:4 give one task of every five to the first provider.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from quaymaster.errors import ServiceError

MAX_ITEMS = 20
MAX_WEIGHT = 1000
MAX_BASE = 100_000
FIELD = "capacityProviderStrategy"
_PARSED_KEPT = 512   # strategies remembered by parse_strategy (a region has a few per service)


@dataclass(frozen=True)
class StrategyItem:
    capacity_provider: str
    weight: int
    base: int


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def _integer(item: Mapping, key: str, index: int, high: int) -> int:
    value = item.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise _invalid(f"{FIELD}[{index}].{key} must be an integer from 0 to {high} (got {value!r})")
    return value


_parsed: dict = {}


def _memo_key(strategy) -> tuple | None:
    """A key for a strategy made of plain lists, dicts, strings and ints, typed so that
    ``True`` and ``1`` differ (one is refused, the other not); None for anything else,
    which is parsed every time."""
    if type(strategy) is not list and type(strategy) is not tuple:
        return None
    key: list = []
    for raw in strategy:
        if type(raw) is not dict:
            return None
        for name, value in raw.items():
            if type(name) is not str or (type(value) is not str and type(value) is not int):
                return None
            key.append((name, type(value), value))
        key.append(None)   # where one item ends
    return tuple(key)


def parse_strategy(strategy: Sequence[Mapping]) -> tuple[StrategyItem, ...]:
    """Check a strategy in ECS's request shape and return its items (ECS's limits).

    Services read their strategy at every launch and every minute: a strategy that was
    accepted once is remembered (its items are immutable), a refused one is checked again.
    """
    key = _memo_key(strategy)
    if key is not None:
        items = _parsed.get(key)
        if items is None:
            items = _check_strategy(strategy)
            if len(_parsed) >= _PARSED_KEPT:
                _parsed.clear()
            _parsed[key] = items
        return items
    return _check_strategy(strategy)


def _check_strategy(strategy: Sequence[Mapping]) -> tuple[StrategyItem, ...]:
    """:func:`parse_strategy` without the memo."""
    if not isinstance(strategy, Sequence) or isinstance(strategy, (str, bytes)) or not strategy:
        raise _invalid(f"{FIELD} must be a non-empty list (got {strategy!r})")
    if len(strategy) > MAX_ITEMS:
        raise _invalid(f"{FIELD} holds {len(strategy)} capacity providers; at most {MAX_ITEMS}")
    items, seen = [], set()
    for index, raw in enumerate(strategy):
        if not isinstance(raw, Mapping):
            raise _invalid(f"{FIELD}[{index}] must be an object (got {raw!r})")
        unknown = set(raw) - {"capacityProvider", "weight", "base"}
        if unknown:
            raise _invalid(f"{FIELD}[{index}] has unknown members {sorted(unknown)}")
        name = raw.get("capacityProvider")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{FIELD}[{index}].capacityProvider must be a non-empty string (got {name!r})")
        if name in seen:
            raise _invalid(f"{FIELD}[{index}].capacityProvider {name!r} is listed twice")
        seen.add(name)
        items.append(StrategyItem(name, _integer(raw, "weight", index, MAX_WEIGHT),
                                  _integer(raw, "base", index, MAX_BASE)))
    with_base = [i for i, item in enumerate(items) if item.base > 0]
    if len(with_base) > 1:
        raise _invalid(f"{FIELD}[{with_base[1]}].base: only one capacity provider in a strategy "
                       "can have a base")
    if not any(item.weight > 0 for item in items):
        raise _invalid(f"{FIELD}: at least one capacity provider must have a weight greater than 0")
    return tuple(items)


def split_tasks(count: int, strategy: Sequence[StrategyItem],
                running: Mapping[str, int] | None = None) -> dict[str, int]:
    """How many of ``count`` new tasks go to each provider, given what each already holds.

    ``running`` maps provider names to the tasks of this service (or RunTask
    group) they already hold; unknown names count zero. Every provider of the
    strategy appears in the result, possibly with 0.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _invalid(f"count must be a non-negative integer (got {count!r})")
    running = running or {}
    held = [int(running.get(item.capacity_provider, 0)) for item in strategy]
    result = [0] * len(strategy)
    remaining = count
    for index, item in enumerate(strategy):  # the base first
        take = min(remaining, max(0, item.base - held[index]))
        result[index] += take
        remaining -= take
    if remaining:
        _split_by_weight(strategy, held, result, remaining)
    return {item.capacity_provider: result[i] for i, item in enumerate(strategy)}


def _split_by_weight(strategy: Sequence[StrategyItem], held: list, result: list, remaining: int) -> None:
    """Add ``remaining`` tasks to ``result`` one at a time, each to the provider whose
    weighted / weight is smallest (ties to the earlier item), ``weighted`` being what it
    holds beyond its base. The ratios are compared exactly as integers: weighted * (L /
    weight), L the weights' least common multiple."""
    weights = [item.weight for item in strategy if item.weight > 0]
    common = math.lcm(*weights)
    heap = []
    for index, item in enumerate(strategy):
        if item.weight > 0:
            weighted = max(0, held[index] + result[index] - item.base)
            step = common // item.weight
            heap.append((weighted * step, index, step))
    heapq.heapify(heap)
    while remaining:
        ratio, index, step = heap[0]
        result[index] += 1
        remaining -= 1
        heapq.heapreplace(heap, (ratio + step, index, step))
