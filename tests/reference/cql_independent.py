"""A second, independent reading of the cluster query language (spec: cql.md).

Written from cql.md and placement.md section 1 alone, without looking at the
library's parser or at ``cql_ref`` (which shares that parser), so that a test
comparing the two catches a misreading on either side. Nothing is imported
from quaymaster: a lexer, a recursive-descent parser and a row-by-row
evaluator, all plain Python.

Readings made where cql.md is terse (each one is a choice, not a quote):

- Tokens are lexed without context: ``( ) [ ] ,``, quoted values, bare runs
  and the symbols ``== != < <= > >= =~ !~ ! && ||``. A lone ``=``, ``&``,
  ``|`` or ``~`` is an error. Keywords are bare runs the parser recognises by
  position, so in argument position ``and`` is just a value.
- ``!exists`` and ``!in`` are ``!`` immediately followed by the bare word
  (no white space between them).
- In a quoted value a backslash before the enclosing quote or a backslash
  yields that character; any other backslash is kept as it is (so
  ``'t2\\.micro'`` is the regex ``t2\\.micro``).
- ``[...]`` is a list argument even with one element; only ``in``/``not_in``
  accept it. ``[]`` and a trailing comma are errors.
- ``runningTasksCount`` arguments: ``[+-]?[0-9]+``. ``agentVersion``:
  ``[0-9]+(\\.[0-9]+)*``. Decimal numbers of ``attribute:*`` ordered
  comparisons: ``[+-]?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?``, compared exactly.
- Dates: the four forms of cql.md section 4, with any ``+HH:MM``/``-HH:MM``
  offset in the first form.
- A pattern matches ``runningTasksCount`` as its decimal string,
  ``agentVersion`` as the stored string, ``agentConnected`` as
  ``true``/``false``; ``registeredAt`` as ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``
  (spec silent; the test does not generate patterns on it).
- An instance whose ``agent_version`` is not a dotted version is refused
  (plain ValueError) when ``agentVersion`` is evaluated on it; cql.md is silent.
- Nesting depth counts each ``(`` and each ``not``/``!``; more than 100 is an
  error. More than 2000 characters is an error at position 2000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

MAX_LENGTH = 2000
MAX_DEPTH = 100

SUBJECTS = ("agentConnected", "agentVersion", "ec2InstanceId", "registeredAt",
            "runningTasksCount", "task:group")
ORDERED_SUBJECT_OK = ("agentVersion", "registeredAt", "runningTasksCount")

# word spelling -> canonical (symbol) spelling
WORD_OPERATORS = {
    "equals": "==", "not_equals": "!=", "greater_than": ">", "greater_than_equal": ">=",
    "less_than": "<", "less_than_equal": "<=", "exists": "exists", "not_exists": "!exists",
    "in": "in", "not_in": "!in", "matches": "=~", "not_matches": "!~",
}
SYMBOL_OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "=~", "!~")
ORDERED = (">", ">=", "<", "<=")
NO_ARGUMENT = ("exists", "!exists")
LIST_ARGUMENT = ("in", "!in")
PATTERN = ("=~", "!~")

_NOT_BARE = set("()[],'\"=!<>&|~")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9\-_/\\.]{1,128}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME = r"T([0-9]{2}):([0-9]{2}):([0-9]{2})"
_DATE_FORMS = tuple(re.compile(_DATE + tail) for tail in
                    ("", _TIME, _TIME + "Z", _TIME + r"([+-])([0-9]{2}):([0-9]{2})"))


class IndependentCQLError(ValueError):
    """A bad expression; ``position`` is the 0-based character it was found at."""

    def __init__(self, message: str, position: int):
        super().__init__(f"position {position}: {message}")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "[", "]", ",", "QUOTED", "BARE", "SYM", "END"
    text: str  # the value for QUOTED (escapes resolved), else the source text
    start: int
    end: int


def tokenize(expression: str) -> list[Token]:
    """The tokens of ``expression`` followed by an END token."""
    tokens, i, n = [], 0, len(expression)
    while i < n:
        c = expression[i]
        if c.isspace():
            i += 1
        elif c in "()[],":
            tokens.append(Token(c, c, i, i + 1))
            i += 1
        elif c in "'\"":
            tokens.append(_quoted(expression, i))
            i = tokens[-1].end
        elif c in "=!<>&|~":
            tokens.append(_symbol(expression, i))
            i = tokens[-1].end
        else:
            j = i
            while j < n and not expression[j].isspace() and expression[j] not in _NOT_BARE:
                j += 1
            tokens.append(Token("BARE", expression[i:j], i, j))
            i = j
    tokens.append(Token("END", "", n, n))
    return tokens


def _quoted(expression: str, start: int) -> Token:
    quote, out, i = expression[start], [], start + 1
    while i < len(expression):
        c = expression[i]
        if c == "\\" and i + 1 < len(expression) and expression[i + 1] in (quote, "\\"):
            out.append(expression[i + 1])
            i += 2
        elif c == quote:
            return Token("QUOTED", "".join(out), start, i + 1)
        else:
            out.append(c)
            i += 1
    raise IndependentCQLError("unterminated quoted value", start)


def _symbol(expression: str, i: int) -> Token:
    pair = expression[i:i + 2]
    if pair in ("==", "!=", "<=", ">=", "=~", "!~", "&&", "||"):
        return Token("SYM", pair, i, i + 2)
    if expression[i] in "!<>":
        return Token("SYM", expression[i], i, i + 1)
    raise IndependentCQLError(f"unexpected character {expression[i]!r}", i)


# ---------------------------------------------------------------- the AST

@dataclass(frozen=True)
class Predicate:
    subject: str  # a SUBJECTS entry or "attribute:<name>"
    operator: str  # canonical: a SYMBOL_OPERATORS entry, exists, !exists, in, !in
    values: tuple = ()  # converted arguments (one for single-valued operators)
    pattern: re.Pattern | None = None


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class Junction:
    kind: str  # "and" / "or"
    left: object
    right: object


# ---------------------------------------------------------------- the parser

class _Parser:
    def __init__(self, expression: str):
        self.tokens = tokenize(expression)
        self.index = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def fail(self, message: str, token: Token | None = None):
        raise IndependentCQLError(message, (token or self.peek()).start)

    def parse(self):
        node = self.parse_or(0)
        if self.peek().kind != "END":
            self.fail(f"expected 'and', 'or' or the end, found {self.peek().text!r}")
        return node

    def _is_connective(self, words: tuple) -> bool:
        token = self.peek()
        return token.kind in ("BARE", "SYM") and token.text in words

    def parse_or(self, depth: int):
        node = self.parse_and(depth)
        while self._is_connective(("or", "||")):
            self.take()
            node = Junction("or", node, self.parse_and(depth))
        return node

    def parse_and(self, depth: int):
        node = self.parse_unary(depth)
        while self._is_connective(("and", "&&")):
            self.take()
            node = Junction("and", node, self.parse_unary(depth))
        return node

    def parse_unary(self, depth: int):
        token = self.peek()
        if depth >= MAX_DEPTH and (token.kind == "(" or token.text in ("!", "not")):
            self.fail("nesting deeper than 100")
        if (token.kind == "SYM" and token.text == "!") or (token.kind == "BARE" and token.text == "not"):
            self.take()
            return Not(self.parse_unary(depth + 1))
        if token.kind == "(":
            self.take()
            node = self.parse_or(depth + 1)
            if self.peek().kind != ")":
                self.fail("expected ')'")
            self.take()
            return node
        return self.parse_predicate()

    def parse_predicate(self) -> Predicate:
        token = self.take()
        if token.kind != "BARE":
            self.fail(f"expected a subject, found {token.text!r}", token)
        subject = token.text
        if subject.startswith("attribute:"):
            if not _ATTRIBUTE_NAME.fullmatch(subject[len("attribute:"):]):
                self.fail(f"invalid attribute name in {subject!r}", token)
        elif subject not in SUBJECTS:
            self.fail(f"unknown subject {subject!r}", token)
        operator_token = self.peek()
        operator = self.parse_operator()
        if operator in ORDERED and not (subject in ORDERED_SUBJECT_OK or subject.startswith("attribute:")):
            self.fail(f"{operator} is not allowed on {subject}", operator_token)
        return self.parse_argument(subject, operator)

    def parse_operator(self) -> str:
        token = self.take()
        if token.kind == "SYM" and token.text in SYMBOL_OPERATORS:
            return token.text
        if token.kind == "SYM" and token.text == "!":
            word = self.peek()
            if word.kind == "BARE" and word.start == token.end and word.text in ("exists", "in"):
                self.take()
                return "!" + word.text
        if token.kind == "BARE" and token.text in WORD_OPERATORS:
            return WORD_OPERATORS[token.text]
        self.fail(f"expected an operator, found {token.text!r}", token)

    def parse_value(self) -> Token:
        token = self.take()
        if token.kind not in ("BARE", "QUOTED"):
            self.fail(f"expected a value, found {token.text!r}", token)
        return token

    def parse_argument(self, subject: str, operator: str) -> Predicate:
        if operator in NO_ARGUMENT:
            return Predicate(subject, operator)
        if operator in LIST_ARGUMENT and self.peek().kind == "[":
            self.take()
            raw = [self.parse_value()]
            while self.peek().kind == ",":
                self.take()
                raw.append(self.parse_value())
            if self.peek().kind != "]":
                self.fail("expected ',' or ']'")
            self.take()
        else:
            raw = [self.parse_value()]
        if operator in PATTERN:
            try:
                pattern = re.compile(raw[0].text)
            except (re.error, RecursionError, OverflowError):
                self.fail(f"invalid pattern {raw[0].text!r}", raw[0])
            return Predicate(subject, operator, (raw[0].text,), pattern)
        return Predicate(subject, operator, tuple(self.convert(subject, t) for t in raw))

    def convert(self, subject: str, token: Token):
        """The argument as the subject orders it; an error if it does not parse."""
        value = token.text
        if subject == "runningTasksCount":
            if _INTEGER.fullmatch(value):
                return int(value)
        elif subject == "agentVersion":
            if _VERSION.fullmatch(value):
                return version_key(value)
        elif subject == "registeredAt":
            when = parse_time(value)
            if when is not None:
                return when
        else:
            return value
        self.fail(f"{value!r} is not a valid argument for {subject}", token)


def parse(expression: str):
    """The AST of ``expression``; IndependentCQLError if it is not CQL."""
    if not isinstance(expression, str):
        raise IndependentCQLError("expression must be a string", 0)
    if len(expression) > MAX_LENGTH:
        raise IndependentCQLError("longer than 2000 characters", MAX_LENGTH)
    return _Parser(expression).parse()


def version_key(text: str) -> tuple:
    """Parts as integers, trailing zeros dropped: shorter versions are padded with zeros."""
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(when: datetime) -> int:
    """Microseconds since 1970 (an int, so offsets can leave datetime's years 1..9999)."""
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_time(text: str) -> int | None:
    """One of the four date forms as microseconds since 1970 (UTC), None if none fits."""
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if not match:
            continue
        fields = [int(g) for g in match.groups()[:6]]  # the date, then the time if given
        try:
            when = micros(datetime(*fields, tzinfo=UTC))
        except ValueError:
            return None
        if form is _DATE_FORMS[3]:
            sign, hours, minutes = match.group(7), int(match.group(8)), int(match.group(9))
            if hours > 23 or minutes > 59:
                return None
            offset = (hours * 60 + minutes) * 60_000_000
            when = when - offset if sign == "+" else when + offset
        return when
    return None


# ---------------------------------------------------------------- evaluation

def _decimal(text: str):
    return Decimal(text) if _DECIMAL.fullmatch(text) else None


def _ordered(operator: str, left, right) -> bool:
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[operator]


def _attribute_ordered(operator: str, value: str, argument: str) -> bool:
    left, right = _decimal(value), _decimal(argument)
    if left is None or right is None:
        left, right = value, argument  # Python str order is code point order
    return _ordered(operator, left, right)


def _scalar(predicate: Predicate, value, text: str) -> bool:
    """A predicate on a subject with one value (``text`` is what a pattern sees)."""
    op, values = predicate.operator, predicate.values
    if op == "exists":
        return True
    if op == "!exists":
        return False
    if op in PATTERN:
        return bool(predicate.pattern.fullmatch(text)) == (op == "=~")
    if op in ORDERED:
        if predicate.subject.startswith("attribute:"):
            return _attribute_ordered(op, value, values[0])
        return _ordered(op, value, values[0])
    if op == "==":
        return value == values[0]
    if op == "!=":
        return value != values[0]
    return (value in values) == (op == "in")


_POSITIVE = {"!=": "==", "!in": "in", "!~": "=~"}


def _groups(predicate: Predicate, groups: set) -> bool:
    """task:group is a set: positive operators need any group, negative ones need none."""
    op = predicate.operator
    if op == "exists":
        return bool(groups)
    if op == "!exists":
        return not groups
    if op in _POSITIVE:
        positive = Predicate(predicate.subject, _POSITIVE[op], predicate.values, predicate.pattern)
        return not any(_scalar(positive, g, g) for g in groups)
    return any(_scalar(predicate, g, g) for g in groups)


@dataclass
class _Row:
    ec2_instance_id: str
    agent_connected: bool
    agent_version: str
    registered_at: datetime
    attributes: dict
    groups: set
    running: int


def _subject_value(row: _Row, subject: str):
    """(value as the subject orders it, text a pattern matches)."""
    if subject == "agentConnected":
        text = "true" if row.agent_connected else "false"
        return text, text
    if subject == "agentVersion":
        if not _VERSION.fullmatch(row.agent_version):  # spec silent: refuse, do not guess
            raise ValueError(f"agent_version {row.agent_version!r} of {row.ec2_instance_id!r} "
                             "is not a dotted version")
        return version_key(row.agent_version), row.agent_version
    if subject == "ec2InstanceId":
        return row.ec2_instance_id, row.ec2_instance_id
    if subject == "registeredAt":
        return micros(row.registered_at), row.registered_at.isoformat()
    if subject == "runningTasksCount":
        return row.running, str(row.running)
    value = row.attributes.get(subject[len("attribute:"):])
    return value, value


def evaluate(node, row: _Row) -> bool:
    """Whether the instance ``row`` satisfies the AST ``node``."""
    if isinstance(node, Junction):
        if node.kind == "and":
            return evaluate(node.left, row) and evaluate(node.right, row)
        return evaluate(node.left, row) or evaluate(node.right, row)
    if isinstance(node, Not):
        return not evaluate(node.operand, row)
    if node.subject == "task:group":
        return _groups(node, row.groups)
    value, text = _subject_value(row, node.subject)
    if value is None:  # an attribute the instance lacks: only !exists holds
        return node.operator == "!exists"
    return _scalar(node, value, text)


# ---------------------------------------------------------------- tables

def _column(table: pa.Table, name: str, default):
    if name not in table.column_names:
        return [default] * table.num_rows
    return [default if v is None else v for v in table.column(name).to_pylist()]


def _rows(instances: pa.Table, tasks: pa.Table | None) -> list[_Row]:
    ids = instances.column("ec2_instance_id").to_pylist()
    groups = {i: set() for i in ids}
    running = dict.fromkeys(ids, 0)
    if tasks is not None and tasks.num_rows:
        task_ids = _column(tasks, "ec2_instance_id", None)
        for instance, group in zip(task_ids, tasks.column("group").to_pylist()):
            if instance is not None:  # a Fargate task is on no instance
                groups[instance].add(group)
                running[instance] += 1
    now = datetime.now(UTC)
    connected = _column(instances, "agent_connected", True)
    versions = _column(instances, "agent_version", "1.0.0")
    registered = _column(instances, "registered_at", now)
    attribute_columns = {name[len("attribute:"):]: instances.column(name).to_pylist()
                         for name in instances.column_names if name.startswith("attribute:")}
    rows = []
    for k, instance in enumerate(ids):
        when = registered[k]
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        attributes = {name: values[k] for name, values in attribute_columns.items()
                      if values[k] is not None}
        rows.append(_Row(instance, connected[k], versions[k], when, attributes,
                         groups[instance], running[instance]))
    return rows


def select(instances: pa.Table, tasks: pa.Table | None, expression: str,
           status: str | None = None) -> list[str]:
    """The ec2_instance_ids ``quaymaster query`` should print, in table order.

    INACTIVE instances are left out unless ``status`` asks for them; with
    ``status`` only instances in that status are kept. The expression is
    parsed before the tables are looked at (a bad one raises
    IndependentCQLError whatever the tables).
    """
    tree = parse(expression)
    statuses = _column(instances, "status", "ACTIVE")
    selected = []
    for row, row_status in zip(_rows(instances, tasks), statuses):
        if (row_status != status) if status is not None else (row_status == "INACTIVE"):
            continue
        if evaluate(tree, row):
            selected.append(row.ec2_instance_id)
    return selected
