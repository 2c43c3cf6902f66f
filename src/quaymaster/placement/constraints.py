"""Placement constraints: ``memberOf`` (a CQL expression) and ``distinctInstance``."""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster import cql
from quaymaster.errors import InvalidParameterError
from quaymaster.placement.memo import Memo
from quaymaster.placement.strategy import entry_type

MAX_CONSTRAINTS = 10  # task definition's and request's together (docs/semantics.md (limits))
TYPES = ("memberOf", "distinctInstance")


@dataclass(frozen=True)
class Constraints:
    member_of: tuple  # compiled cql.Query objects
    distinct_instance: bool

    @property
    def dynamic(self) -> bool:
        """Whether a memberOf reads state that placing a task changes."""
        return any(q.dynamic for q in self.member_of)


_memo = Memo()


def parse_constraints(request_constraints, task_definition_expressions=()) -> Constraints:
    """Validate ECS ``placementConstraints`` and join them to the task definition's memberOf."""
    return _memo.get_for(request_constraints, (tuple(task_definition_expressions),),
                         lambda: _parse_constraints(request_constraints, task_definition_expressions))


def _parse_constraints(request_constraints, task_definition_expressions) -> Constraints:
    entries = request_constraints or []
    if not isinstance(entries, (list, tuple)):
        raise InvalidParameterError("placementConstraints must be a list, found "
                                    f"{type(entries).__name__}", field="placementConstraints",
                                    value=entries)
    total = len(entries) + len(task_definition_expressions)
    if total > MAX_CONSTRAINTS:
        raise InvalidParameterError(f"{total} placement constraints (task definition and request); "
                                    f"at most {MAX_CONSTRAINTS} are allowed",
                                    field="placementConstraints", value=total)
    expressions = list(task_definition_expressions)
    distinct = False
    for k, entry in enumerate(entries):
        path = f"placementConstraints[{k}]"
        kind = entry_type(entry, path, keys=("type", "expression"), types=TYPES, shape="an object")
        expression = entry.get("expression")
        if kind == "distinctInstance":
            if expression:
                raise InvalidParameterError(f"{path}.expression: distinctInstance takes no expression",
                                            field=f"{path}.expression", value=expression)
            distinct = True
        else:
            if not isinstance(expression, str) or not expression.strip():
                raise InvalidParameterError(f"{path}.expression: memberOf needs an expression",
                                            field=f"{path}.expression", value=expression)
            expressions.append(expression)
    return Constraints(tuple(cql.compile(e) for e in expressions), distinct)
