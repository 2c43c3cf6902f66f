"""Remembering validated request parts, so repeated requests skip re-validation.

Callers of run_task usually send the same strategy and constraint lists again
and again; validating them costs more than placing ten tasks. The lists are
reduced to a hashable signature (types included, so ``1`` and ``True`` differ)
and the validated result is kept. Errors are never kept: bad input raises
every time.
"""

from __future__ import annotations

import copy

_MAX_KEPT = 512
_UNHASHABLE = object()


def signature(value):
    """A hashable image of JSON-like data, or ``_UNHASHABLE``."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            sig = signature(item)
            if sig is _UNHASHABLE or not isinstance(key, str):
                return _UNHASHABLE
            items.append((key, sig))
        return ("dict", tuple(sorted(items)))
    if isinstance(value, (list, tuple)):
        parts = tuple(signature(item) for item in value)
        return _UNHASHABLE if any(p is _UNHASHABLE for p in parts) else (type(value).__name__, parts)
    try:
        hash(value)
    except TypeError:
        return _UNHASHABLE
    return (type(value).__name__, value)


class Memo:
    """A bounded map from signatures to validated results.

    The very same list handed in again (the usual case: a caller reusing its
    request) is recognised by identity and equality with a copy kept from its
    first use, which is cheaper than building its signature. Equality is
    enough there because only valid results are kept, and a valid request
    holds nothing but strings.
    """

    def __init__(self):
        self._kept: dict = {}
        self._last: dict = {}  # id(first argument) -> (copy, other arguments, result)

    def get_for(self, value, others: tuple, compute):
        """``compute()``'s result for the request part ``value`` and hashable ``others``."""
        last = self._last.get(id(value))
        if last is not None and last[1] == others and last[0] == value:
            return last[2]
        result = self.get((signature(value), *others), compute)
        if len(self._last) >= _MAX_KEPT:
            self._last.pop(next(iter(self._last)))
        self._last[id(value)] = (copy.deepcopy(value), others, result)
        return result

    def get(self, key, compute):
        """``compute()``'s result for ``key`` (a tuple of signatures), computed once."""
        if any(part is _UNHASHABLE for part in key):
            return compute()
        try:
            return self._kept[key]
        except KeyError:
            pass
        result = compute()
        if len(self._kept) >= _MAX_KEPT:
            self._kept.pop(next(iter(self._kept)))
        self._kept[key] = result
        return result
