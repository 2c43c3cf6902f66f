"""``compile(text) -> Query``: parse once, evaluate as column masks many times."""

from __future__ import annotations

import functools

import numpy as np

from quaymaster.cql import ast
from quaymaster.cql.lower import lower
from quaymaster.cql.parser import check_expression_type, parse
from quaymaster.errors import InvalidInputError

_CACHE_SIZE = 4096


class Query:
    """A compiled CQL expression.

    ``subjects`` is the set of subjects it reads (``attribute:<name>`` spelled
    out); ``dynamic`` is True when one of them changes while a placement
    request is placed (``runningTasksCount``, ``task:group``), so a mask
    computed before placing a task may be stale after it.
    """

    __slots__ = ("_plan", "dynamic", "subjects", "text", "tree")

    def __init__(self, text: str, tree: ast.Node):
        self.text = text
        self.tree = tree
        found = list(ast.predicates(tree))
        self.subjects: frozenset[str] = frozenset(p.subject for p in found)
        self.dynamic: bool = any(p.kind in ast.DYNAMIC_SUBJECTS for p in found)
        self._plan = lower(tree)

    def mask(self, target) -> np.ndarray:
        """One bool per instance (table order): does the expression select it?

        ``target`` is a :class:`quaymaster.Cluster` or its ``InstanceState``.
        The mask is computed from the state as it is now.
        """
        return self._plan.mask(instance_state(target))

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def instance_state(target):
    """The ``InstanceState`` of a :class:`quaymaster.Cluster`, or ``target`` if it is one."""
    state = getattr(target, "state", target)
    if not hasattr(state, "attributes") or not hasattr(state, "ids"):
        raise InvalidInputError(f"cannot evaluate a query over an object of type "
                                f"{type(target).__name__}; expected a Cluster or InstanceState",
                                field="target", value=type(target).__name__)
    return state


def compile(text: str) -> Query:
    """The compiled form of the CQL expression ``text`` (cached by text).

    Raises :class:`quaymaster.errors.CQLError` (with the 0-based position) when
    the expression does not parse or an argument is invalid.
    """
    check_expression_type(text)  # before the cache, which would hash it
    return _compile_cached(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(text: str) -> Query:
    return Query(text, parse(text))
