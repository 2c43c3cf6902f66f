"""Remembering validated request parts, so repeated requests skip re-validation.

Callers of run_task usually send the same strategy and constraint lists again
and again; validating them costs more than placing ten tasks. The lists are
reduced to a hashable signature (types included, so ``1`` and ``True`` differ)
and the validated result is kept. Errors are never kept: bad input raises
every time.
"""

from __future__ import annotations

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
    """A bounded map from signatures to validated results."""

    def __init__(self):
        self._kept: dict = {}

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
