"""`quaymaster query` against an independent reading of cql.md (reference/cql_independent.py).

Random instance/task tables and random expressions drawn from the grammar of
cql.md (every subject, both operator spellings, lists, quoted values with
escapes, bare values, patterns, the four date forms, and/or/not precedence,
keywords as values), plus near-miss invalid expressions. The command must
print the same ids as the independent ``select``, or both must refuse the
expression (exit 2, nothing on stdout).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.cql_independent import IndependentCQLError, select

from quaymaster.cli.main import main

STATUSES = ("ACTIVE", "DRAINING", "INACTIVE", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED")
ATTRIBUTE_NAMES = ("ecs.instance-type", "ecs.availability-zone", "ecs.os-family", "stack", "Stack",
                   "mode", "num", "ver", "a/b", "x_y", "w\\z", "path.to-x", "and", "-")
# Values ECS accepts for attributes (letters, digits, - _ . @ / \ : and inner spaces; "" = no value).
ATTRIBUTE_VALUES = ("t2.small", "t2.micro", "t2.medium", "g2.2xlarge", "xt2", "us-east-1a",
                    "us-east-1b", "us-east-1d", "prod", "dev", "10", "9", "-3", "1e3", "2.5", "0.5",
                    "1.14.0", "1.9", "1.10.0", "a:b", "a/b/c", "and", "or", "not", "in", "exists",
                    "x y", "WINDOWS_SERVER_2019_FULL", "a\\b", "100", "1E2", "3.0", "-0", "07", "",
                    "user@host", "inf", "nan", "1_0", "1E2", "1e-3")
# Arguments that are no attribute value but still fine to compare with.
EXTRA_ARGUMENTS = ("+3", "1e+3", "é", "t2.*", "[x]", "a|b", "it's", 'say "hi"', "a\\'b")
AGENT_VERSIONS = ("1.0.0", "1.14.5", "1.100.0", "1.14", "1.14.0", "1.9.0", "2", "1.2.3.4",
                  "10.0.0", "1.14.4")
VERSION_ARGUMENTS = AGENT_VERSIONS + ("1", "1.14.5.0", "0.0.1", "1.15")
GROUPS = ("service:production", "service:web", "family:db", "databases", "database", "and",
          "family:web:3", "g (1)", "x,y", "it's", 'say "hi"', "a\\'b", 'a\\"b')
TIMES = (datetime(2018, 2, 13), datetime(2018, 6, 18, 22, 28, 28), datetime(2018, 6, 18),
         datetime(2017, 12, 31, 23, 59, 59), datetime(2019, 1, 1, 12), datetime(2018, 2, 12, 23, 59, 59, 500000),
         datetime(2018, 6, 18, 22, 28, 28, 1))
PATTERNS = ("t2.*", "t2\\..*", "g2.*", ".*", "[a-z]+", "prod|dev", "(prod|dev)", "us-east-1[ab]",
            "1\\.1.*", "[0-9]+", "-?[0-9]+", ".*:.*", "a/b/.*", "x y", "", "t2", "T2.*", "^t2.*$",
            "i-.*", "service:.*", "true", "fals.", "1.*", "[0-9]", "d.*b.*", ".*web.*", "1\\.14(\\.0)?")
WORD_OPS = {"==": "equals", "!=": "not_equals", ">": "greater_than", ">=": "greater_than_equal",
            "<": "less_than", "<=": "less_than_equal", "exists": "exists", "!exists": "not_exists",
            "in": "in", "!in": "not_in", "=~": "matches", "!~": "not_matches"}
NOT_BARE = set("()[],'\"=!<>&|~")
# cql.md section 6: every one must parse and mean what ECS says.
ECS_EXAMPLES = (
    "attribute:ecs.instance-type == t2.small",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
    "task:group == service:production",
    "not(task:group == database)",
    "runningTasksCount == 1",
    "agentVersion < 1.14.5",
    "registeredAt < 2018-02-13",
    "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
    "attribute:ecs.instance-type =~ t2.*",
    "task:group == databases",
    "attribute:ecs.os-family == WINDOWS_SERVER_2019_FULL",
    "attribute:ecs.instance-type == g2.2xlarge",
    "attribute:stack == prod",
    "attribute:stack != prod",
    "attribute:ecs.instance-type in [t2.small, t2.medium]",
    "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a",
    ("(attribute:ecs.instance-type == t2.small or attribute:ecs.instance-type == t2.medium) and "
     "attribute:ecs.availability-zone == us-east-1a"),
)


# ---------------------------------------------------------------- tables

@st.composite
def tables(draw):
    """(instances, tasks or None, id pool) following placement.md section 1."""
    n = draw(st.integers(0, 7))
    suffixes = ("", "a", ".b", ":c", '"q', "\\'r", '\\"s', "\\t")  # quotes and backslashes need escapes
    ids = [f"i-{k:04x}{draw(st.sampled_from(suffixes))}" for k in range(n)]
    names = draw(st.lists(st.sampled_from(ATTRIBUTE_NAMES), max_size=4, unique=True))
    columns = {
        "ec2_instance_id": pa.array(ids, pa.string()),
        "cpu_registered": pa.array([4096] * n, pa.int64()),
        "memory_registered": pa.array([16384] * n, pa.int64()),
        "registered_at": pa.array([draw(st.sampled_from(TIMES)).replace(tzinfo=UTC) for _ in ids],
                                  pa.timestamp("us", tz="UTC")),
    }
    # Optional columns: sometimes left out, sometimes with nulls (both mean the default).
    optional = {"status": (st.sampled_from(STATUSES[:3] * 3 + STATUSES), pa.string()),
                "agent_connected": (st.booleans(), pa.bool_()),
                "agent_version": (st.sampled_from(AGENT_VERSIONS), pa.string())}
    for name, (values, typ) in optional.items():
        if draw(st.integers(0, 5)):
            nullable = values | st.none() if draw(st.integers(0, 3)) == 0 else values
            columns[name] = pa.array([draw(nullable) for _ in ids], typ)
    for name in names:
        values = [draw(st.none() | st.sampled_from(ATTRIBUTE_VALUES)) for _ in ids]
        columns["attribute:" + name] = pa.array(values, pa.string())
    instances = pa.table(columns)
    if not draw(st.booleans()):
        return instances, None
    homes = draw(st.lists(st.sampled_from(ids) if ids else st.none(), max_size=10))
    homes += [None] * draw(st.integers(0, 1))  # a Fargate task, on no instance
    tasks = pa.table({
        "task_arn": pa.array([f"arn:aws:ecs:us-east-1:0:task/c/{k}" for k in range(len(homes))], pa.string()),
        "ec2_instance_id": pa.array(homes, pa.string()),
        "group": pa.array([draw(st.sampled_from(GROUPS)) for _ in homes], pa.string()),
    })
    return instances, tasks


# ---------------------------------------------------------------- expressions (as token lists)

def _render_value(draw, value: str) -> str:
    """``value`` bare when it can be, else (or by choice) quoted with escapes."""
    bare_ok = value != "" and not any(c.isspace() or c in NOT_BARE for c in value)
    if bare_ok and draw(st.booleans()):
        return value
    quote = draw(st.sampled_from("'\""))
    # A backslash before anything but the quote or a backslash may be left single
    # (cql.md: "a backslash escapes the quote or itself"; so it stays literal).
    # Before the *other* quote too: it is no escape there, the backslash stays
    # (once a disagreement, settled in the library's lexer).
    keep_single = draw(st.booleans())
    escaped = ""
    for k, c in enumerate(value):
        following = value[k + 1:k + 2]
        if c == quote:
            escaped += "\\" + c
        elif c == "\\" and keep_single and following not in ("", quote, "\\"):
            escaped += c
        elif c == "\\":
            escaped += "\\\\"
        else:
            escaped += c
    return quote + escaped + quote


def _date_text(when: datetime, form: int) -> str:
    """``when`` in one of the four date forms of cql.md section 4."""
    if form == 0:
        return when.strftime("%Y-%m-%d")
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    return base + ("", "Z", "+00:00")[form - 1]


def _argument_values(subject: str, ids: list) -> st.SearchStrategy:
    if subject == "runningTasksCount":
        return st.sampled_from(("0", "1", "2", "3", "10"))
    if subject == "agentVersion":
        return st.sampled_from(VERSION_ARGUMENTS)
    if subject == "registeredAt":
        return st.builds(_date_text, st.sampled_from(TIMES), st.integers(0, 3))
    if subject == "agentConnected":
        return st.sampled_from(("true", "false", "TRUE", "yes"))
    if subject == "ec2InstanceId":
        return st.sampled_from(tuple(ids) + ("i-nothere", "and"))
    if subject == "task:group":
        return st.sampled_from(GROUPS + ("service:none",))
    return st.sampled_from(ATTRIBUTE_VALUES + EXTRA_ARGUMENTS)


def _operator(draw, symbol: str) -> str:
    return draw(st.sampled_from((symbol, WORD_OPS[symbol])))


@st.composite
def predicates(draw, ids):
    """A valid predicate as a list of token strings."""
    subject = draw(st.sampled_from(("agentConnected", "agentVersion", "ec2InstanceId", "registeredAt",
                                    "runningTasksCount", "task:group", "attribute", "attribute")))
    if subject == "attribute":
        subject = "attribute:" + draw(st.sampled_from(ATTRIBUTE_NAMES + ("missing", "ecs.os-type")))
    kinds = ["==", "!=", "exists", "!exists", "in", "!in"]
    if subject != "registeredAt":  # the spec does not say what text a pattern sees for a time
        kinds += ["=~", "!~"]
    if subject in ("agentVersion", "registeredAt", "runningTasksCount") or subject.startswith("attribute:"):
        kinds += [">", ">=", "<", "<="] * 2
    symbol = draw(st.sampled_from(kinds))
    op = _operator(draw, symbol)
    values = _argument_values(subject, ids)
    if symbol in ("exists", "!exists"):
        return [subject, op]
    if symbol in ("=~", "!~"):
        return [subject, op, _render_value(draw, draw(st.sampled_from(PATTERNS)))]
    if symbol in ("in", "!in"):
        items = [_render_value(draw, draw(values)) for _ in range(draw(st.integers(1, 3)))]
        if len(items) == 1 and draw(st.booleans()):
            return [subject, op, items[0]]
        return [subject, op, "["] + _join_list(items) + ["]"]
    return [subject, op, _render_value(draw, draw(values))]


def _join_list(items: list) -> list:
    out = []
    for item in items:
        if out:
            out.append(",")
        out.append(item)
    return out


@st.composite
def trees(draw, ids, depth=3):
    """A valid expression as a list of token strings (with and/or/not/parentheses)."""
    choice = draw(st.integers(0, 9)) if depth > 0 else 0
    if choice <= 3:
        return draw(predicates(ids))
    if choice <= 5:
        kind = draw(st.sampled_from(("and", "&&", "or", "||")))
        return draw(trees(ids, depth - 1)) + [kind] + draw(trees(ids, depth - 1))
    if choice <= 7:
        inner = draw(trees(ids, depth - 1))
        style = draw(st.integers(0, 3))
        if style == 0:
            return ["not", "("] + inner + [")"]  # not(expr), possibly without a space
        if style == 1:
            return ["!", "("] + inner + [")"]
        return [("not", "!")[style - 2]] + inner
    return ["("] + draw(trees(ids, depth - 1)) + [")"]


def _bare_end(text: str, at_end: bool) -> bool:
    c = text[-1] if at_end else text[0]
    return not (c.isspace() or c in NOT_BARE)


def _separator_ok_empty(left: str, right: str) -> bool:
    # Tokens may touch unless both sides are bare runs (they would merge), or a
    # symbol would merge with the next one ("!" + "=...").
    if _bare_end(left, True) and _bare_end(right, False):
        return False
    return not (left[-1] in "!<>=&|" and right[0] in "=~&|")


@st.composite
def rendered(draw, tokens):
    """The tokens joined by random white space (or none where they cannot merge)."""
    out = tokens[0]
    for left, right in pairwise(tokens):
        separators = [" ", " ", "  ", "\t", "\n"] + ([""] * 2 if _separator_ok_empty(left, right) else [])
        out += draw(st.sampled_from(separators)) + right
    return out


# ---------------------------------------------------------------- near misses

BAD_PREDICATES = (
    ["agentversion", "==", "1.0.0"], ["AgentVersion", "exists"], ["attribute:", "exists"],
    ["attribute:a:b", "exists"], ["task:Group", "==", "x"], ["task:groups", "==", "x"], ["foo", "exists"],
    ["attribute:" + "a" * 129, "exists"], ["ec2InstanceID", "exists"], ["'stack'", "exists"],
    ["ec2InstanceId", ">", "i-1"], ["agentConnected", ">=", "true"], ["task:group", "less_than", "x"],
    ["ec2InstanceId", "greater_than_equal", "a"],
    ["runningTasksCount", ">", "abc"], ["runningTasksCount", "==", "1.0"], ["runningTasksCount", "in", "[1,x]"],
    ["runningTasksCount", "==", "''"], ["agentVersion", "<", "1.x"], ["agentVersion", "==", "v1.2"],
    ["agentVersion", "in", "[1..2]"], ["agentVersion", ">", "1.2."], ["agentVersion", "==", "''"],
    ["registeredAt", "<", "2018-13-01"], ["registeredAt", "<", "2018-02-30"], ["registeredAt", ">", "2018/02/13"],
    ["registeredAt", ">", "2018-02-13T25:00:00"], ["registeredAt", ">", "2018-02-13T10:00"],
    ["registeredAt", "==", "yesterday"], ["registeredAt", "<", "'2018-02-13 10:00:00'"],
    ["attribute:stack", "==", "[prod]"], ["attribute:stack", "=~", "[t2.*]"], ["attribute:stack", "in", "[]"],
    ["attribute:stack", "in", "[a,]"], ["attribute:stack", "in", "[a b]"], ["attribute:stack", "in", "[,a]"],
    ["attribute:stack", "in", "[a"], ["attribute:stack", "exists", "foo"], ["attribute:stack", "!exists", "[a]"],
    ["attribute:stack", "in"], ["attribute:stack", "=="], ["attribute:stack", "not", "in", "[a]"],
    ["attribute:stack", "EQUALS", "a"], ["attribute:stack", "=", "a"], ["attribute:stack", "=>", "a"],
    ["attribute:stack", "~", "a"], ["attribute:stack", "=~", "*"], ["attribute:stack", "=~", "'t2('"],
    ["attribute:stack", "=~", "'[a-'"], ["attribute:stack", "matches", "+x"], ["attribute:stack", "=~", "'\\\\'"],
    ["attribute:stack", "==", "'abc"], ["attribute:stack", "==", '"abc\\"'], ["attribute:stack", "t2.small"],
    ["attribute:stack", "==", "a", "b"], ["attribute:stack", "<>", "a"], ["attribute:stack", "==", "("],
)
JUNK = ("&", "|", "=", "~", "and", "or", "not", "(", ")", "[", "]", ",", "'", "AND", "Or", "!", "&&", "||")


@st.composite
def near_misses(draw, ids):
    """Token lists that are probably not CQL: a bad predicate in a valid tree, or a mutated tree."""
    tokens = draw(trees(ids, 2))
    how = draw(st.integers(0, 4))
    if how <= 1:
        bad = draw(st.sampled_from(BAD_PREDICATES))
        return bad if how == 0 else draw(trees(ids, 1)) + [draw(st.sampled_from(("and", "or")))] + bad
    at = draw(st.integers(0, len(tokens) - 1))
    if how == 2:
        return tokens[:at] + tokens[at + 1:] or ["and"]
    if how == 3:
        return tokens[:at] + [draw(st.sampled_from(JUNK))] + tokens[at:]
    return tokens[:at] + [tokens[at].upper()] + tokens[at + 1:]


# ---------------------------------------------------------------- the comparison

def _run_command(capsys, instances, tasks, status, expression):
    with tempfile.TemporaryDirectory() as tmp:
        instances_path = Path(tmp) / "i.parquet"
        pq.write_table(instances, instances_path)
        argv = ["query", "--instances", str(instances_path)]
        if tasks is not None:
            tasks_path = Path(tmp) / "t.parquet"
            pq.write_table(tasks, tasks_path)
            argv += ["--tasks", str(tasks_path)]
        if status is not None:
            argv += ["--status", status]
        capsys.readouterr()
        code = main(argv + ["--", expression])
        captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _expected(instances, tasks, status, expression):
    try:
        return select(instances, tasks, expression, status)
    except IndependentCQLError:
        return None


def _check(capsys, instances, tasks, status, expression):
    expected = _expected(instances, tasks, status, expression)
    code, out, err = _run_command(capsys, instances, tasks, status, expression)
    if expected is None:
        assert (code, out) == (2, []), f"independent reading refuses {expression!r}; command printed {out}"
        assert "CQL error at position" in err
    else:
        assert code == 0, f"command refused {expression!r}: {err}"
        assert out == expected, f"{expression!r}: command {out}, independent {expected}"


_SETTINGS = settings(max_examples=120, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def valid_cases(draw):
    instances, tasks = draw(tables())
    ids = instances.column("ec2_instance_id").to_pylist()
    expression = draw(rendered(draw(trees(ids))))
    status = draw(st.none() | st.none() | st.sampled_from(STATUSES))
    return instances, tasks, status, expression


@st.composite
def ecs_example_cases(draw):
    instances, tasks = draw(tables())
    return instances, tasks, draw(st.none() | st.sampled_from(STATUSES)), draw(st.sampled_from(ECS_EXAMPLES))


@st.composite
def invalid_cases(draw):
    instances, tasks = draw(tables())
    ids = instances.column("ec2_instance_id").to_pylist()
    expression = draw(rendered(draw(near_misses(ids))))
    return instances, tasks, None, expression


@_SETTINGS
@given(valid_cases())
def test_grammar_expressions_select_what_the_independent_reading_selects(capsys, case):
    _check(capsys, *case)


@_SETTINGS
@given(invalid_cases())
def test_near_misses_are_refused_or_accepted_alike(capsys, case):
    _check(capsys, *case)


@settings(_SETTINGS, max_examples=60)
@given(ecs_example_cases())
def test_the_ecs_documentation_examples_agree(capsys, case):
    instances, tasks, status, expression = case
    assert isinstance(select(instances, tasks, expression, status), list)  # parses
    _check(capsys, *case)


def _small_cluster():
    """Three instances: stack=prod / stack=dev / no stack; agent versions of cql.md section 4."""
    instances = pa.table({
        "ec2_instance_id": ["i-1", "i-2", "i-3"],
        "agent_version": ["1.14.5", "1.100.0", "1.14"],
        "registered_at": pa.array([datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC)] * 3,
                                  pa.timestamp("us", tz="UTC")),
        "cpu_registered": [1024] * 3, "memory_registered": [1024] * 3,
        "attribute:stack": ["prod", "dev", None],
        "attribute:ecs.instance-type": ["t2.micro", "xt2", None],
    })
    tasks = pa.table({"task_arn": ["a", "b"], "ec2_instance_id": ["i-1", "i-1"],
                      "group": ["database", "service:web"]})
    return instances, tasks


# Facts cql.md states outright, so the independent reading is itself checked against the text.
SPEC_FACTS = (
    ("attribute:stack != prod", ["i-2"]),  # section 4: missing attributes are false...
    ("not(attribute:stack == prod)", ["i-2", "i-3"]),  # ...except under not
    ("attribute:stack !exists", ["i-3"]),
    ("agentVersion < 1.100.0", ["i-1", "i-3"]),  # 1.14.5 < 1.100.0
    ("agentVersion == 1.14.0", ["i-3"]),  # 1.14 == 1.14.0
    ("attribute:ecs.instance-type =~ t2.*", ["i-1"]),  # whole value: not xt2
    ("task:group == database", ["i-1"]),  # any group
    ("task:group != database", ["i-2", "i-3"]),  # no group; no tasks qualifies
    ("task:group exists", ["i-1"]),
    ("runningTasksCount>=2", ["i-1"]),  # white space is free
    ("attribute:stack == and or attribute:stack == prod", ["i-1"]),  # keyword as a value
    ("not attribute:stack == prod and attribute:stack exists", ["i-2"]),  # not binds tighter than and
    ("registeredAt == 2018-06-18T22:28:28Z", ["i-1", "i-2", "i-3"]),
)


def test_the_independent_reading_holds_the_facts_cql_md_states():
    instances, tasks = _small_cluster()
    for expression, ids in SPEC_FACTS:
        assert select(instances, tasks, expression) == ids, expression
    try:
        select(instances, tasks, "attribute:ecs.instance-type t2.small")
    except IndependentCQLError as error:
        assert error.position == 28  # the caret of cql.md section 5
    else:
        raise AssertionError("a predicate without an operator must be refused")
