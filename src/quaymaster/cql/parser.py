"""Parse a CQL expression into the nodes of :mod:`quaymaster.cql.ast` (docs/semantics.md (cluster query language, ECS contract section 1)).

Precedence climbing over two binary levels (``or`` below ``and``) with
``not``/``!`` and parentheses as the unary level:

    expr  := and (("||" | "or") and)*
    and   := unary (("&&" | "and") unary)*
    unary := ("!" | "not") unary | "(" expr ")" | predicate

The binary levels loop instead of recursing, so only ``not`` and ``(`` add
stack depth, and both count toward the nesting cap of 100. Arguments are
validated here (a version that is not a version, a bad pattern), so a query
that compiles always evaluates.
"""

from __future__ import annotations

from quaymaster.cql import ast, values
from quaymaster.cql.lexer import (
    COMMA,
    END,
    LBRACKET,
    LPAREN,
    RBRACKET,
    RPAREN,
    STRING,
    SYMBOL,
    WORD,
    Token,
    tokenize,
)
from quaymaster.errors import CQLError, InvalidInputError
from quaymaster.model.attributes import ATTRIBUTE_NAME_RULE, attribute_name_problem
from quaymaster.model.schema import ATTRIBUTE_PREFIX

MAX_LENGTH = 2000   # docs/semantics.md (limits): CQL expression length
MAX_DEPTH = 100     # docs/semantics.md (cluster query language, ECS contract section 5): nesting depth cap

_CONNECTIVES = {(WORD, "or"): "or", (SYMBOL, "||"): "or", (WORD, "and"): "and", (SYMBOL, "&&"): "and"}
_NEGATIONS = {(WORD, "not"), (SYMBOL, "!")}
_SUBJECTS_HELP = ("agentConnected, agentVersion, attribute:<name>, ec2InstanceId, registeredAt, "
                  "runningTasksCount, task:group")


def check_expression_type(expression: object) -> None:
    """Refuse a non-string expression before anything tries to read it as text."""
    if not isinstance(expression, str):
        raise InvalidInputError(f"a CQL expression must be a string, found {type(expression).__name__}",
                                field="expression", value=expression)


def parse(expression: str) -> ast.Node:
    """The syntax tree of ``expression``; raises CQLError with the offending position."""
    check_expression_type(expression)
    if len(expression) > MAX_LENGTH:
        raise CQLError(f"expression is {len(expression)} characters long; at most {MAX_LENGTH} "
                       "are allowed", expression=expression, position=MAX_LENGTH)
    return _Parser(expression).parse()


class _Parser:
    def __init__(self, expression: str):
        self.text = expression
        self._tokens = tokenize(expression)
        self.token: Token = next(self._tokens)

    # -- helpers --------------------------------------------------------------

    def _advance(self) -> Token:
        consumed = self.token
        if consumed.kind != END:
            self.token = next(self._tokens)
        return consumed

    def _error(self, message: str, position: int | None = None) -> CQLError:
        if position is None:
            position = self.token.position
        # An error at the end points at the last character (the caret must fall inside).
        position = max(0, min(position, len(self.text) - 1))
        return CQLError(message, expression=self.text, position=position)

    def _found(self, token: Token | None = None) -> str:
        token = token or self.token
        if token.kind == END:
            return "end of expression"
        return values._show(token.source(self.text))

    # -- grammar --------------------------------------------------------------

    def parse(self) -> ast.Node:
        if self.token.kind == END:
            raise self._error("expression is empty", 0)
        node = self._disjunction(0)
        if self.token.kind != END:
            if self.token.kind == RPAREN:
                raise self._error("unbalanced ')': no '(' to close")
            raise self._error(f"expected 'and', 'or' or end of expression, found {self._found()}")
        return node

    def _connective(self) -> str | None:
        return _CONNECTIVES.get((self.token.kind, self.token.text))

    def _disjunction(self, depth: int) -> ast.Node:
        operands = [self._conjunction(depth)]
        while self._connective() == "or":
            self._advance()
            operands.append(self._conjunction(depth))
        return operands[0] if len(operands) == 1 else ast.Or(tuple(operands))

    def _conjunction(self, depth: int) -> ast.Node:
        operands = [self._unary(depth)]
        while self._connective() == "and":
            self._advance()
            operands.append(self._unary(depth))
        return operands[0] if len(operands) == 1 else ast.And(tuple(operands))

    def _unary(self, depth: int) -> ast.Node:
        token = self.token
        if (token.kind, token.text) in _NEGATIONS or token.kind == LPAREN:
            if depth >= MAX_DEPTH:
                raise self._error(f"expression is nested more than {MAX_DEPTH} levels deep "
                                  "(parentheses and negations)")
            self._advance()
            if token.kind != LPAREN:
                return ast.Not(self._unary(depth + 1), token.position)
            node = self._disjunction(depth + 1)
            if self.token.kind != RPAREN:
                raise self._error(f"expected ')' to close the '(' at position {token.position}, "
                                  f"found {self._found()}")
            self._advance()
            return node
        return self._predicate()

    def _predicate(self) -> ast.Predicate:
        subject = self.token
        kind, attribute = self._subject(subject)
        self._advance()
        operator_token = self.token
        operator = None
        if operator_token.kind in (WORD, SYMBOL):
            operator = ast.OPERATOR_SPELLINGS.get(operator_token.text)
        if operator is None:
            raise self._error(f"expected an operator after subject {subject.text!r}, "
                              f"found {self._found()}")
        if operator in ast.ORDERED_OPERATORS and kind not in ast.ORDERED_SUBJECTS:
            raise self._error(f"operator {operator_token.text!r} is not allowed on subject "
                              f"{subject.text!r} (ordered comparisons apply to agentVersion, "
                              "registeredAt, runningTasksCount and attribute:<name>)")
        self._advance()
        if operator in ast.NO_ARGUMENT_OPERATORS:
            arguments: tuple[ast.Value, ...] = ()
        elif operator in ast.LIST_OPERATORS:
            arguments = self._list(operator_token)
        else:
            if self.token.kind == LBRACKET:
                raise self._error(f"operator {operator_token.text!r} takes a single value, not a list")
            arguments = (self._value(operator_token),)
        for argument in arguments:
            self._check_argument(kind, operator, argument)
        return ast.Predicate(kind, attribute, operator, arguments, subject.position)

    def _subject(self, token: Token) -> tuple[str, str | None]:
        if token.kind != WORD or token.text in ("and", "or"):
            raise self._error(f"expected a subject ({_SUBJECTS_HELP}), found {self._found()}")
        if token.text in ast.FIXED_SUBJECTS:
            return token.text, None
        if token.text.startswith(ATTRIBUTE_PREFIX):
            name = token.text[len(ATTRIBUTE_PREFIX):]
            if attribute_name_problem(name) is not None:  # ECS's rule, as PutAttributes checks it
                raise self._error(f"invalid attribute name {values._show(name)}: {ATTRIBUTE_NAME_RULE}")
            return ast.ATTRIBUTE, name
        raise self._error(f"unknown subject {values._show(token.text)} (subjects are {_SUBJECTS_HELP})")

    def _list(self, operator_token: Token) -> tuple[ast.Value, ...]:
        if self.token.kind != LBRACKET:
            return (self._value(operator_token),)  # a single value is a list of one
        self._advance()
        items = [self._value(operator_token)]
        while self.token.kind != RBRACKET:
            if self.token.kind != COMMA:
                raise self._error(f"expected ',' or ']' in the list, found {self._found()}")
            self._advance()
            items.append(self._value(operator_token))
        self._advance()
        return tuple(items)

    def _value(self, operator_token: Token) -> ast.Value:
        # In argument position every word is a value, even 'and' or 'not'.
        token = self.token
        if token.kind not in (WORD, STRING):
            raise self._error(f"expected a value after operator {operator_token.text!r}, "
                              f"found {self._found()}")
        self._advance()
        return ast.Value(token.text, token.position)

    def _check_argument(self, kind: str, operator: str, argument: ast.Value) -> None:
        try:
            if operator in ast.PATTERN_OPERATORS:
                values.compile_pattern(argument.text)
            elif kind == ast.RUNNING_TASKS_COUNT:
                values.parse_integer(argument.text)
            elif kind == ast.AGENT_VERSION:
                values.parse_version(argument.text)
            elif kind == ast.REGISTERED_AT:
                values.parse_time(argument.text)
        except values.BadValue as exc:
            raise self._error(str(exc), argument.position) from None
