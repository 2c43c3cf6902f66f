"""Lower a CQL syntax tree to column operations over an :class:`InstanceState`.

No row-by-row interpretation: each predicate is decided once per *distinct*
value of its subject (an attribute's dictionary, the distinct agent versions,
each task group name) and the per-value decisions are broadcast to instances
by the kernels of :mod:`quaymaster.kernels.cql_masks`; numeric subjects are
compared as whole numpy columns. ``and``/``or``/``not`` combine the masks in
place.

Nothing computed from a state is kept between calls except the encoding of
agent versions, which is re-validated against the live list each time:
placement mutates ``running_tasks`` and ``group_counts`` in place and
PutAttributes changes attribute codes, so the masks must be computed afresh.

The negated operators (``!=``, ``!in``, ``!~``, ``!exists``) are the negation
of their positive form, with one exception from docs/semantics.md (cluster query language, ECS contract section 4): an instance
that lacks an attribute is false for every operator on it but ``!exists``.
"""

from __future__ import annotations

import operator as op
import weakref

import numpy as np

from quaymaster.cql import ast, values
from quaymaster.model.attributes import AttributeColumn

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUMPY_ORDER = {ast.GT: np.greater, ast.GE: np.greater_equal, ast.LT: np.less, ast.LE: np.less_equal}
_PYTHON_ORDER = {ast.GT: op.gt, ast.GE: op.ge, ast.LT: op.lt, ast.LE: op.le}
_SIGN_TEST = {ast.GT: lambda c: c > 0, ast.GE: lambda c: c >= 0,
              ast.LT: lambda c: c < 0, ast.LE: lambda c: c <= 0}


_cql_masks = None


def _kernels():
    """:mod:`quaymaster.kernels.cql_masks`, imported on the first evaluation, not with the package.

    Importing it imports numba, which costs about as much as the rest of
    ``import quaymaster``; compiling a query, or placing without memberOf, needs none of it.
    Kept in a global after that: an import statement per evaluation is a few percent of a
    small cluster's mask.
    """
    global _cql_masks
    if _cql_masks is None:
        from quaymaster.kernels import cql_masks

        _cql_masks = cql_masks
    return _cql_masks


class Plan:
    """A lowered (sub)expression: ``mask(state)`` returns a new bool array, one per instance."""

    def mask(self, state) -> np.ndarray:
        raise NotImplementedError


def lower(node: ast.Node) -> Plan:
    """The plan that evaluates ``node`` as column operations."""
    if isinstance(node, ast.And):
        return _Connective([lower(child) for child in node.operands], np.logical_and)
    if isinstance(node, ast.Or):
        return _Connective([lower(child) for child in node.operands], np.logical_or)
    if isinstance(node, ast.Not):
        return _Negation(lower(node.operand))
    return _LEAVES[node.kind](node)


# -- connectives ------------------------------------------------------------------

class _Connective(Plan):
    """``and`` (``combine`` = np.logical_and) or ``or`` (np.logical_or) of the children."""

    def __init__(self, children: list[Plan], combine: np.ufunc):
        self.children = children
        self.combine = combine

    def mask(self, state) -> np.ndarray:
        result = self.children[0].mask(state)
        for child in self.children[1:]:
            self.combine(result, child.mask(state), out=result)
        return result


class _Negation(Plan):
    def __init__(self, child: Plan):
        self.child = child

    def mask(self, state) -> np.ndarray:
        result = self.child.mask(state)
        return np.logical_not(result, out=result)


# -- predicates -----------------------------------------------------------------------

class _Leaf(Plan):
    """A predicate: ``positive`` is the operator without negation, ``negate`` says whether
    the written operator is its negation (``!=`` is ``==`` negated)."""

    def __init__(self, predicate: ast.Predicate):
        self.operator = predicate.operator
        self.positive = ast.NEGATED.get(predicate.operator, predicate.operator)
        self.negate = predicate.operator in ast.NEGATED
        self.arguments = [v.text for v in predicate.values]

    def mask(self, state) -> np.ndarray:
        result = self.positive_mask(state)
        return np.logical_not(result, out=result) if self.negate else result

    def positive_mask(self, state) -> np.ndarray:
        raise NotImplementedError

    def string_decider(self):
        """``str -> bool`` for the positive operator on string values (==, in, =~, exists)."""
        if self.positive == ast.EXISTS:
            return lambda value: True
        if self.positive in (ast.EQ, ast.IN):
            return frozenset(self.arguments).__contains__
        if self.positive == ast.MATCHES:
            return values.compile_pattern(self.arguments[0]).fullmatch
        raise AssertionError(f"no string decision for {self.positive}")  # parser forbids it


def _decide_each(decide, distinct) -> np.ndarray:
    return np.fromiter((decide(v) for v in distinct), dtype=np.bool_, count=len(distinct))


class _AttributeLeaf(_Leaf):
    """``attribute:<name>``: decided once per distinct value; absent is false except !exists."""

    def __init__(self, predicate: ast.Predicate):
        super().__init__(predicate)
        self.name = predicate.attribute
        if self.positive in ast.ORDERED_OPERATORS:
            argument, test = self.arguments[0], _SIGN_TEST[self.positive]
            self.decide = lambda value: test(values.compare_attribute(value, argument))
        elif self.positive not in (ast.EQ, ast.IN):
            self.decide = self.string_decider()

    def mask(self, state) -> np.ndarray:
        column: AttributeColumn | None = state.attributes.get(self.name)
        absent_result = self.operator == ast.NOT_EXISTS
        if column is None:  # no instance has the attribute
            return np.full(state.n, absent_result, dtype=np.bool_)
        if self.positive in (ast.EQ, ast.IN):
            table = np.zeros(len(column.values), dtype=np.bool_)
            for argument in self.arguments:  # a dictionary lookup, not a scan of the values
                code = column.lookup(argument)
                if code >= 0:
                    table[code] = True
        else:
            table = _decide_each(self.decide, column.values)
        if self.negate:
            np.logical_not(table, out=table)
        return _kernels().gather_by_code(column.codes, table, absent_result)


class _InstanceIdLeaf(_Leaf):
    """``ec2InstanceId``: ids are unique, so == / in are position lookups."""

    def positive_mask(self, state) -> np.ndarray:
        if self.positive in (ast.EQ, ast.IN):
            result = np.zeros(state.n, dtype=np.bool_)
            for argument in self.arguments:
                position = state.position.get(argument)
                if position is not None:
                    result[position] = True
            return result
        return _decide_each(self.string_decider(), state.ids)


class _AgentConnectedLeaf(_Leaf):
    """``agentConnected``: the strings ``true``/``false``; decide both once."""

    def positive_mask(self, state) -> np.ndarray:
        decide = self.string_decider()
        when_true, when_false = decide("true"), decide("false")
        connected = np.asarray(state.agent_connected, dtype=np.bool_)
        if when_true and when_false:
            return np.ones(state.n, dtype=np.bool_)
        if when_true:
            return connected.copy()
        if when_false:
            return ~connected
        return np.zeros(state.n, dtype=np.bool_)


class _AgentVersionLeaf(_Leaf):
    """``agentVersion``: decided once per distinct version string.

    An instance version that is not a dotted version equals no argument and is
    neither greater nor less than one (so ``!=`` holds for it).
    """

    def __init__(self, predicate: ast.Predicate):
        super().__init__(predicate)
        if self.positive in (ast.EQ, ast.IN):
            wanted = {values.parse_version(a) for a in self.arguments}
            self.decide = lambda v: values.version_key(v) in wanted
        elif self.positive in ast.ORDERED_OPERATORS:
            argument, compare = values.parse_version(self.arguments[0]), _PYTHON_ORDER[self.positive]

            def decide(v, key=values.version_key):
                k = key(v)
                return k is not None and compare(k, argument)
            self.decide = decide
        else:
            self.decide = self.string_decider()

    def positive_mask(self, state) -> np.ndarray:
        codes, distinct = _encoded_versions(state)
        return _kernels().gather_by_code(codes, _decide_each(self.decide, distinct), False)


class _NumericLeaf(_Leaf):
    """A subject held as an int64 column, compared as whole-column numpy operations."""

    def __init__(self, predicate: ast.Predicate):
        super().__init__(predicate)
        self.numbers = [self.parse(a) for a in self.arguments] if self.positive != ast.MATCHES else []

    def parse(self, text: str) -> int:
        raise NotImplementedError

    def column(self, state) -> np.ndarray:
        raise NotImplementedError

    def as_string(self, number: int) -> str:
        raise NotImplementedError

    def positive_mask(self, state) -> np.ndarray:
        column = self.column(state)
        if self.positive == ast.EXISTS:
            return np.ones(len(column), dtype=np.bool_)
        if self.positive in (ast.EQ, ast.IN):
            # An argument outside int64 equals nothing in an int64 column.
            wanted = [n for n in self.numbers if _INT64_MIN <= n <= _INT64_MAX]
            return np.isin(column, np.array(wanted, dtype=np.int64))
        if self.positive in ast.ORDERED_OPERATORS:
            # Clamping is exact: no stored count or time reaches the int64 extremes.
            bound = min(max(self.numbers[0], _INT64_MIN), _INT64_MAX)
            return _NUMPY_ORDER[self.positive](column, np.int64(bound))
        distinct, inverse = np.unique(column, return_inverse=True)
        decide = self.string_decider()
        table = _decide_each(lambda n: decide(self.as_string(n)), distinct.tolist())
        return table[inverse.reshape(-1)]


class _RunningTasksLeaf(_NumericLeaf):
    def parse(self, text: str) -> int:
        return values.parse_integer(text)

    def column(self, state) -> np.ndarray:
        return np.asarray(state.running_tasks, dtype=np.int64)

    def as_string(self, number: int) -> str:
        return str(number)


class _RegisteredAtLeaf(_NumericLeaf):
    def parse(self, text: str) -> int:
        return values.parse_time(text)

    def column(self, state) -> np.ndarray:
        return np.asarray(state.registered_at, dtype=np.int64)

    def as_string(self, number: int) -> str:
        return values.format_time(number)


class _TaskGroupLeaf(_Leaf):
    """``task:group``, a set: the positive operators hold when *any* group on the instance
    qualifies (each group name decided once, then OR of its ``count > 0``); the negated
    ones when none does."""

    def positive_mask(self, state) -> np.ndarray:
        result = np.zeros(state.n, dtype=np.bool_)
        group_counts = state.group_counts
        if self.positive in (ast.EQ, ast.IN):
            qualifying = [group_counts[g] for g in set(self.arguments) if g in group_counts]
        else:
            decide = self.string_decider()
            qualifying = [counts for group, counts in group_counts.items() if decide(group)]
        for counts in qualifying:
            _kernels().or_positive_into(result, counts)
        return result


_LEAVES = {
    ast.ATTRIBUTE: _AttributeLeaf,
    ast.EC2_INSTANCE_ID: _InstanceIdLeaf,
    ast.AGENT_CONNECTED: _AgentConnectedLeaf,
    ast.AGENT_VERSION: _AgentVersionLeaf,
    ast.RUNNING_TASKS_COUNT: _RunningTasksLeaf,
    ast.REGISTERED_AT: _RegisteredAtLeaf,
    ast.TASK_GROUP: _TaskGroupLeaf,
}


# -- agent versions, dictionary-encoded --------------------------------------------------

# state -> (snapshot of its agent_version list, codes, distinct strings). The snapshot
# is compared with the live list on every use (a C-level list comparison, cheap next
# to re-encoding), so an in-place change of a version can never be served stale.
_VERSION_ENCODINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _encoded_versions(state) -> tuple[np.ndarray, list[str]]:
    versions = state.agent_version
    try:
        cached = _VERSION_ENCODINGS.get(state)
    except TypeError:  # a state object that cannot be weakly referenced
        cached = None
    if cached is not None and cached[0] == versions:
        return cached[1], cached[2]
    column = AttributeColumn.from_strings(versions)
    try:
        _VERSION_ENCODINGS[state] = (list(versions), column.codes, column.values)
    except TypeError:
        pass
    return column.codes, column.values
