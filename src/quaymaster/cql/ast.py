"""The node types of a parsed CQL expression.

Small frozen dataclasses. ``And``/``Or`` are n-ary (a chain ``a or b or c`` is
one node) so a long expression makes a flat tree, not a deep one. Positions
are 0-based character offsets into the expression, kept for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

# Subjects (docs/semantics.md (cluster query language, ECS contract section 2)). ``attribute:<name>`` has kind ATTRIBUTE.
AGENT_CONNECTED = "agentConnected"
AGENT_VERSION = "agentVersion"
ATTRIBUTE = "attribute"
EC2_INSTANCE_ID = "ec2InstanceId"
REGISTERED_AT = "registeredAt"
RUNNING_TASKS_COUNT = "runningTasksCount"
TASK_GROUP = "task:group"

FIXED_SUBJECTS = (AGENT_CONNECTED, AGENT_VERSION, EC2_INSTANCE_ID, REGISTERED_AT,
                  RUNNING_TASKS_COUNT, TASK_GROUP)
#: Subjects whose value changes while a placement request is being placed.
DYNAMIC_SUBJECTS = frozenset({RUNNING_TASKS_COUNT, TASK_GROUP})
#: Subjects on which ``>``, ``>=``, ``<``, ``<=`` are allowed.
ORDERED_SUBJECTS = frozenset({AGENT_VERSION, REGISTERED_AT, RUNNING_TASKS_COUNT, ATTRIBUTE})

# Canonical operators (the symbol forms) and the word each may also be written as.
EQ, NE, GT, GE, LT, LE = "==", "!=", ">", ">=", "<", "<="
EXISTS, NOT_EXISTS, IN, NOT_IN, MATCHES, NOT_MATCHES = "exists", "!exists", "in", "!in", "=~", "!~"
OPERATOR_SPELLINGS = {
    EQ: EQ, "equals": EQ,
    NE: NE, "not_equals": NE,
    GT: GT, "greater_than": GT,
    GE: GE, "greater_than_equal": GE,
    LT: LT, "less_than": LT,
    LE: LE, "less_than_equal": LE,
    EXISTS: EXISTS,
    NOT_EXISTS: NOT_EXISTS, "not_exists": NOT_EXISTS,
    IN: IN,
    NOT_IN: NOT_IN, "not_in": NOT_IN,
    MATCHES: MATCHES, "matches": MATCHES,
    NOT_MATCHES: NOT_MATCHES, "not_matches": NOT_MATCHES,
}
ORDERED_OPERATORS = frozenset({GT, GE, LT, LE})
NO_ARGUMENT_OPERATORS = frozenset({EXISTS, NOT_EXISTS})
LIST_OPERATORS = frozenset({IN, NOT_IN})
PATTERN_OPERATORS = frozenset({MATCHES, NOT_MATCHES})
#: Operators that are the negation of another ("none qualifies" on task:group).
NEGATED = {NE: EQ, NOT_IN: IN, NOT_MATCHES: MATCHES, NOT_EXISTS: EXISTS}


@dataclass(frozen=True, slots=True)
class Value:
    """An argument as written (quotes removed, escapes resolved) and where it starts."""

    text: str
    position: int = 0


@dataclass(frozen=True, slots=True)
class Predicate:
    """``SUBJECT OPERATOR [ARGUMENT]``.

    ``kind`` is one of the subject constants above; ``attribute`` is the name
    for ``attribute:<name>`` and None otherwise; ``operator`` is canonical
    (``equals`` becomes ``==``); ``values`` is empty for exists/!exists, one
    value for the single-value operators, one or more for in/!in.
    """

    kind: str
    attribute: str | None
    operator: str
    values: tuple[Value, ...]
    position: int = 0

    @property
    def subject(self) -> str:
        return f"attribute:{self.attribute}" if self.kind == ATTRIBUTE else self.kind


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int = 0


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node = Predicate | Not | And | Or


def predicates(node: Node):
    """Every predicate of the tree, left to right (iterative: trees can be 100 deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Predicate):
            yield current
        elif isinstance(current, Not):
            stack.append(current.operand)
        else:
            stack.extend(reversed(current.operands))
