"""Capacity provider strategy split: base first, then the smallest assigned/weight, ties to the
earlier item; ECS's limits refused naming the field."""

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.scaling.strategy import parse_strategy, split_tasks


def cp(name, weight=0, base=None):
    item = {"capacityProvider": name, "weight": weight}
    if base is not None:
        item["base"] = base
    return item


@pytest.mark.parametrize("count, strategy, running, expected", [
    # weights 1:4 give one task of every five to the first provider
    (5, [cp("A", 1), cp("B", 4)], None, {"A": 1, "B": 4}),
    (10, [cp("A", 1), cp("B", 4)], None, {"A": 2, "B": 8}),
    (1, [cp("A", 1), cp("B", 4)], None, {"A": 1, "B": 0}),     # a tie goes to the earlier item
    (2, [cp("A", 1), cp("B", 4)], None, {"A": 1, "B": 1}),
    # AWS's example: FARGATE base 1 weight 1, FARGATE_SPOT weight 4
    (6, [cp("FARGATE", 1, 1), cp("FARGATE_SPOT", 4)], None, {"FARGATE": 2, "FARGATE_SPOT": 4}),
    (11, [cp("FARGATE", 1, 1), cp("FARGATE_SPOT", 4)], None, {"FARGATE": 3, "FARGATE_SPOT": 8}),
    # the base is filled first even on the later item
    (3, [cp("A", 1), cp("B", 1, 2)], None, {"A": 1, "B": 2}),
    (4, [cp("A", 0, 3), cp("B", 1)], None, {"A": 3, "B": 1}),   # weight 0: base only
    (4, [cp("A", 1), cp("B", 1)], None, {"A": 2, "B": 2}),
    # tasks already running count: the split tops up the lagging provider
    (5, [cp("A", 1), cp("B", 4)], {"A": 0, "B": 8}, {"A": 3, "B": 2}),  # A reaches 2 = 8/4, ties win
    (2, [cp("A", 1, 2), cp("B", 1)], {"A": 2, "B": 0}, {"A": 1, "B": 1}),
    (0, [cp("A", 1)], None, {"A": 0}),
])
def test_split_table(count, strategy, running, expected):
    assert split_tasks(count, parse_strategy(strategy), running) == expected


@pytest.mark.parametrize("strategy, field", [
    ([cp(f"p{i}", 1) for i in range(21)], "capacityProviderStrategy holds 21"),
    ([cp("A", 1001)], "capacityProviderStrategy[0].weight"),
    ([cp("A", -1)], "capacityProviderStrategy[0].weight"),
    ([cp("A", 1, 100001)], "capacityProviderStrategy[0].base"),
    ([cp("A", 1, 1), cp("B", 1, 2)], "capacityProviderStrategy[1].base"),
    ([cp("A", 0), cp("B", 0)], "at least one capacity provider must have a weight"),
    ([cp("A", 1), cp("A", 2)], "capacityProviderStrategy[1].capacityProvider"),
    ([{"capacityProvider": "A", "weight": 1, "bogus": 1}], "capacityProviderStrategy[0]"),
    ([cp("A", True)], "capacityProviderStrategy[0].weight"),
    ([], "non-empty"),
])
def test_bad_strategies_refused(strategy, field):
    with pytest.raises(ServiceError) as info:
        parse_strategy(strategy)
    assert info.value.code == "InvalidParameterException"
    assert field in info.value.message


def test_limits_at_the_edge_accepted():
    items = parse_strategy([cp(f"p{i}", 1000) for i in range(19)] + [cp("last", 0, 100000)])
    assert len(items) == 20


def plain_split(count, items, running):
    """One task at a time, scanning the list: the spec's rule written out directly."""
    held = {i.capacity_provider: running.get(i.capacity_provider, 0) for i in items}
    added = {i.capacity_provider: 0 for i in items}
    for _ in range(count):
        base_item = next((i for i in items if held[i.capacity_provider] < i.base), None)
        if base_item is not None:
            chosen = base_item.capacity_provider
        else:
            best = None
            for i in items:
                if i.weight == 0:
                    continue
                ratio = Fraction(max(0, held[i.capacity_provider] - i.base), i.weight)
                if best is None or ratio < best[0]:
                    best = (ratio, i.capacity_provider)
            chosen = best[1]
        held[chosen] += 1
        added[chosen] += 1
    return added


@st.composite
def strategies(draw):
    n = draw(st.integers(1, 5))
    weights = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n).filter(any))
    base_at = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    base = draw(st.integers(0, 6))
    raw = [cp(f"p{i}", w, base if i == base_at else None) for i, w in enumerate(weights)]
    running = {f"p{i}": draw(st.integers(0, 8)) for i in range(n)}
    return parse_strategy(raw), running


@given(strategies(), st.integers(0, 60))
def test_split_matches_plain_rule(strategy_and_running, count):
    items, running = strategy_and_running
    assert split_tasks(count, items, running) == plain_split(count, items, running)


@st.composite
def wide_strategies(draw):
    """Up to 20 providers with weights up to ECS's 1000 (least common multiples far past 64 bits)."""
    n = draw(st.integers(1, 20))
    weights = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n).filter(any))
    raw = [cp(f"p{i}", w) for i, w in enumerate(weights)]
    running = {f"p{i}": draw(st.integers(0, 3000)) for i in range(n)}
    return parse_strategy(raw), running


@settings(max_examples=60, deadline=None)
@given(wide_strategies(), st.integers(0, 40))
def test_split_matches_plain_rule_at_wide_weights(strategy_and_running, count):
    items, running = strategy_and_running
    assert split_tasks(count, items, running) == plain_split(count, items, running)


def test_a_remembered_strategy_is_still_checked_by_type_and_content():
    accepted = parse_strategy([cp("A", 1), cp("B", 2, 3)])
    assert parse_strategy([cp("A", 1), cp("B", 2, 3)]) == accepted
    with pytest.raises(ServiceError):   # True equals 1 and hashes alike, yet stays refused
        parse_strategy([cp("A", True), cp("B", 2, 3)])
    with pytest.raises(ServiceError):   # a second base: refused, though its providers and weights were accepted
        parse_strategy([cp("A", 1, 1), cp("B", 2, 3)])
    mutable = [cp("A", 1), cp("B", 2, 3)]
    parse_strategy(mutable)
    mutable[0]["weight"] = 1001         # a list changed in place is parsed afresh
    with pytest.raises(ServiceError):
        parse_strategy(mutable)
    assert parse_strategy(tuple([cp("A", 1), cp("B", 2, 3)])) == accepted
