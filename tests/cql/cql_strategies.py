"""Hypothesis strategies for CQL: random instance/task tables and random expressions.

Expressions are generated as syntax trees (``quaymaster.cql.ast`` nodes) and
rendered to text with random spellings, quoting, spacing and only the
parentheses precedence needs (plus some extra). A test can then evaluate the
*generated* tree with the reference and compare with the mask compiled from
the *text*, which checks the parser's precedence as well as the lowering.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import strategies as st

from quaymaster.cql import ast
from quaymaster.model.schema import INSTANCE_STATUSES, TIMESTAMP

ATTRIBUTE_NAMES = ("a", "num", "ver", "ecs.instance-type")
ABSENT_ATTRIBUTE = "nobody.has.it"
ATTRIBUTE_VALUES = ("x", "y", "and", "not", "x y", "a\\b", "A", "", "10", "9", "1e1", "-3", "007", "0",
                    "1.5", "-0.5", "1.14", "1.14.0", "1.9", "1.100", "abc", "t2.micro", "t2.small",
                    "m5.large", "us-east-1a", "i@x:y/z")
AGENT_VERSIONS = ("1.14.5", "1.14", "1.14.0", "1.9.0", "1.100.0", "2.0.0", "1.0.0", "0.9", "1.14.5.1",
                  "weird", "1.2-beta")
BASE_TIMES = (datetime(2018, 2, 13, tzinfo=UTC), datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC),
              datetime(2018, 6, 18, 22, 28, 28, 500000, tzinfo=UTC),
              datetime(2017, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC))
GROUPS = ("service:web", "family:db", "service:api", "it's", "a|b", 'say "hi"')
PATTERNS = (".*", "x", "1.*", "[0-9]+", "t2\\..*", "a|b", "i-00[0-3]", "service:.*", "true", "1\\.14.*",
            "(?:x|y)", "2018-.*", ".*\\+00:00", "[a-z]+", ".*s.*", "-?[0-9.]+", "f.*", "it's", "2")
BARE_RE = re.compile(r"""[^\s()\[\],'"=!<>&|~]+""")


# -- tables ---------------------------------------------------------------------

@st.composite
def tables(draw, max_instances: int = 12):
    """(instances, tasks or None) as Arrow tables of placement.md section 1."""
    n = draw(st.integers(0, max_instances))
    ids = [f"i-{k:03d}" for k in range(n)]
    columns = {
        "ec2_instance_id": ids,
        "cpu_registered": [1024] * n,
        "memory_registered": [2048] * n,
        "status": draw(st.lists(st.sampled_from(INSTANCE_STATUSES), min_size=n, max_size=n)),
        "agent_connected": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "agent_version": draw(st.lists(st.sampled_from(AGENT_VERSIONS), min_size=n, max_size=n)),
        "registered_at": pa.array(draw(st.lists(st.sampled_from(BASE_TIMES), min_size=n, max_size=n)),
                                  TIMESTAMP),
    }
    for name in ATTRIBUTE_NAMES:
        if draw(st.booleans()) or name == "num":
            values = st.one_of(st.none(), st.sampled_from(ATTRIBUTE_VALUES))
            columns[f"attribute:{name}"] = pa.array(draw(st.lists(values, min_size=n, max_size=n)),
                                                    pa.string())
    instances = pa.table(columns)
    placements = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, max(n - 1, 0))),
                                         st.sampled_from(GROUPS)), max_size=3 * n + 2))
    if not placements or n == 0:
        return instances, None
    tasks = pa.table({
        "task_arn": [f"t-{k}" for k in range(len(placements))],
        "ec2_instance_id": pa.array([None if p is None else ids[p] for p, _ in placements], pa.string()),
        "group": [g for _, g in placements],
    })
    return instances, tasks


# -- expressions as trees -------------------------------------------------------------

SUBJECT_KINDS = (ast.ATTRIBUTE, ast.AGENT_CONNECTED, ast.AGENT_VERSION, ast.EC2_INSTANCE_ID,
                 ast.REGISTERED_AT, ast.RUNNING_TASKS_COUNT, ast.TASK_GROUP)


def _time_texts(moment: datetime) -> list[str]:
    shifted = moment + timedelta(hours=2)
    return [moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            moment.strftime("%Y-%m-%dT%H:%M:%S"), moment.strftime("%Y-%m-%d"),
            shifted.strftime("%Y-%m-%dT%H:%M:%S+02:00"), (moment - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]


TIME_TEXTS = tuple(t for m in BASE_TIMES for t in _time_texts(m))
ARGUMENTS = {
    ast.ATTRIBUTE: ATTRIBUTE_VALUES + ("5", "1e0", "z", "-10"),
    ast.AGENT_CONNECTED: ("true", "false", "True"),
    ast.AGENT_VERSION: ("1.14.5", "1.14", "1.9", "2", "1.100", "0", "1.14.5.0", "1.14.4"),
    ast.EC2_INSTANCE_ID: ("i-000", "i-001", "i-003", "i-010", "i-999"),
    ast.REGISTERED_AT: TIME_TEXTS,
    ast.RUNNING_TASKS_COUNT: ("0", "1", "2", "3", "-1", "+1", "007", "99999999999999999999"),
    ast.TASK_GROUP: GROUPS + ("nope", ""),
}


@st.composite
def predicates(draw) -> ast.Predicate:
    kind = draw(st.sampled_from(SUBJECT_KINDS))
    attribute = draw(st.sampled_from(ATTRIBUTE_NAMES + (ABSENT_ATTRIBUTE,))) if kind == ast.ATTRIBUTE else None
    operators = [o for o in set(ast.OPERATOR_SPELLINGS.values())
                 if o not in ast.ORDERED_OPERATORS or kind in ast.ORDERED_SUBJECTS]
    operator = draw(st.sampled_from(sorted(operators)))
    if operator in ast.NO_ARGUMENT_OPERATORS:
        texts = []
    elif operator in ast.PATTERN_OPERATORS:
        texts = [draw(st.sampled_from(PATTERNS))]
    elif operator in ast.LIST_OPERATORS:
        texts = draw(st.lists(st.sampled_from(ARGUMENTS[kind]), min_size=1, max_size=3))
    else:
        texts = [draw(st.sampled_from(ARGUMENTS[kind]))]
    return ast.Predicate(kind, attribute, operator, tuple(ast.Value(t) for t in texts))


def trees(max_leaves: int = 8):
    """Random syntax trees of predicates under and/or/not."""
    def extend(children):
        return st.one_of(
            st.builds(ast.Not, children),
            st.builds(ast.And, st.lists(children, min_size=2, max_size=3).map(tuple)),
            st.builds(ast.Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
        )
    return st.recursive(predicates(), extend, max_leaves=max_leaves)


# -- rendering ----------------------------------------------------------------------------

WORD_SPELLINGS = {canonical: [s for s, c in ast.OPERATOR_SPELLINGS.items() if c == canonical]
                  for canonical in set(ast.OPERATOR_SPELLINGS.values())}


def render_value(draw, text: str) -> str:
    if text and BARE_RE.fullmatch(text) and draw(st.booleans()):
        return text
    quote = draw(st.sampled_from("'\""))
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + escaped + quote


def render_predicate(draw, p: ast.Predicate) -> str:
    spelling = draw(st.sampled_from(sorted(WORD_SPELLINGS[p.operator])))
    symbolic = not spelling[0].isalpha()

    def space() -> str:  # symbols need no white space around them, words do
        return draw(st.sampled_from(["", " "])) if symbolic else " "

    text = p.subject + space() + spelling
    if not p.values:
        return text
    values = [render_value(draw, v.text) for v in p.values]
    if p.operator in ast.LIST_OPERATORS and (len(values) > 1 or draw(st.booleans())):
        separator = draw(st.sampled_from([",", ", ", " , "]))
        argument = "[" + separator.join(values) + "]"
    else:
        argument = values[0]
    glue = space()
    if spelling.startswith("!") and spelling[1:].isalpha() and argument[0] not in "['\"":
        glue = " "  # '!in' directly followed by a bare word would read as '!' + a word
    return text + glue + argument


def render(draw, node, parent: str | None = None) -> str:
    """Text for ``node``, parenthesised when its parent binds tighter (or at random)."""
    if isinstance(node, ast.Predicate):
        text = render_predicate(draw, node)
        own = "predicate"
    elif isinstance(node, ast.Not):
        inner = render(draw, node.operand, "not")
        keyword = draw(st.sampled_from(["not ", "!", "! "]))
        if inner.startswith("(") and keyword == "not ":
            keyword = draw(st.sampled_from(["not ", "not"]))
        text, own = keyword + inner, "not"
    else:
        own = "and" if isinstance(node, ast.And) else "or"
        words = ["and", "&&"] if own == "and" else ["or", "||"]
        parts = [render(draw, child, own) for child in node.operands]
        text = ""
        for k, part in enumerate(parts):
            if k:
                word = draw(st.sampled_from(words))
                text += f" {word} " if word.isalpha() or draw(st.booleans()) else word
            text += part
    needs = ((parent == "not" and own in ("and", "or")) or (parent == "and" and own == "or")
             or (parent == own and own in ("and", "or")))
    if needs or (parent is not None and draw(st.integers(0, 9)) == 0):
        text = "(" + text + ")"
    return text


@st.composite
def expressions(draw, max_leaves: int = 8):
    """(tree, text) pairs."""
    tree = draw(trees(max_leaves))
    return tree, render(draw, tree)
