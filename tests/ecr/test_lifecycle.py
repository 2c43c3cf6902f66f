"""Lifecycle policies: ECR's documented examples, validation, and the fast path vs the plain one."""

import json
import os

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifecycle_plain
from quaymaster.ecr import LifecyclePolicyError, evaluate_lifecycle_policy, parse_policy
from quaymaster.errors import ServiceError

NOW = 1_800_000_000.0
DAY = 86400


def table(images):
    return pa.table({"imageDigest": pa.array([d for d, _, _ in images], pa.string()),
                     "imageTags": pa.array([tags for _, tags, _ in images], pa.list_(pa.string())),
                     "imagePushedAt": pa.array([NOW - days * DAY for _, _, days in images],
                                               pa.float64())})


def expired(policy, images):
    result = evaluate_lifecycle_policy(policy, table(images), NOW)
    return list(zip(result.column("imageDigest").to_pylist(),
                    result.column("appliedRulePriority").to_pylist()))


def rule(priority, status, count_type, number, prefixes=None, patterns=None):
    selection = {"tagStatus": status, "countType": count_type, "countNumber": number}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


# ECR's documented examples ("Examples of lifecycle policies in Amazon ECR"), as tables:
# (name, rules, images as (digest, tags, pushed days ago), expected (digest, rule)).
DOC_EXAMPLES = [
    ("filtering on image age: untagged older than 14 days",
     [rule(1, "untagged", "sinceImagePushed", 14)],
     [("A", [], 20), ("B", [], 10), ("C", ["v1"], 30)],
     [("A", 1)]),
    ("filtering on image age: tagPatternList prod* older than 14 days",
     [rule(1, "tagged", "sinceImagePushed", 14, patterns=["prod*"])],
     [("A", ["prod-1"], 20), ("B", ["prod-2"], 10), ("C", ["dev-1"], 30), ("D", [], 40)],
     [("A", 1)]),
    ("filtering on image count: keep only one untagged image",
     [rule(1, "untagged", "imageCountMoreThan", 1)],
     [("A", [], 3), ("B", [], 2), ("C", [], 1), ("D", ["v1"], 5)],
     [("A", 1), ("B", 1)]),
    ("multiple rules, example A: prod then beta; B would violate rule 1",
     [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["prod"]),
      rule(2, "tagged", "imageCountMoreThan", 1, prefixes=["beta"])],
     [("A", ["beta-1", "prod-1"], 10), ("B", ["beta-2", "prod-2"], 9), ("C", ["beta-3"], 8)],
     [("A", 1)]),
    ("multiple rules, example B: beta then prod; rule 2 marks nothing more",
     [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["beta"]),
      rule(2, "tagged", "imageCountMoreThan", 1, prefixes=["prod"])],
     [("A", ["beta-1", "prod-1"], 10), ("B", ["beta-2", "prod-2"], 9), ("C", ["beta-3"], 8)],
     [("A", 1), ("B", 1)]),
    ("multiple tags in one rule, example A: alpha and beta older than 5 days",
     [rule(1, "tagged", "sinceImagePushed", 5, prefixes=["alpha", "beta"])],
     [("A", ["alpha-1"], 12), ("B", ["beta-1"], 11), ("C", ["alpha-2", "beta-2"], 10),
      ("D", ["alpha-3"], 4), ("E", ["beta-3"], 3), ("F", ["alpha-4", "beta-4"], 2)],
     [("C", 1)]),
    ("multiple tags in one rule, example B: tags are not exclusive",
     [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["alpha", "beta"])],
     [("A", ["alpha-1", "beta-1", "gamma-1"], 10), ("B", ["alpha-2", "beta-2"], 9),
      ("C", ["alpha-3", "beta-3", "gamma-2"], 8)],
     [("A", 1), ("B", 1)]),
]

# Further cases worked out from the written rules (not from ECR's pages).
RULE_EXAMPLES = [
    ("three prefixes: only images with all of them",
     [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["alpha", "beta", "gamma"])],
     [("A", ["alpha-1", "beta-1", "gamma-1"], 10), ("B", ["alpha-2", "beta-2"], 9),
      ("C", ["alpha-3", "beta-3", "gamma-2"], 8)],
     [("A", 1)]),
    ("any last: a higher rule's tags protect images it did not expire",
     [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["alpha"]),
      rule(2, "any", "imageCountMoreThan", 1)],
     [("A", ["alpha-1"], 4), ("B", [], 3), ("C", ["alpha-2"], 2), ("D", ["git-hash"], 1)],
     [("A", 1), ("B", 2)]),
    ("pattern with a wildcard inside",
     [rule(1, "tagged", "imageCountMoreThan", 1, patterns=["prod*release"])],
     [("A", ["prod-1-release"], 3), ("B", ["prodrelease"], 2), ("C", ["prod-2-rc"], 1)],
     [("A", 1)]),
]
EXAMPLES = DOC_EXAMPLES + RULE_EXAMPLES


@pytest.mark.parametrize("name,rules,images,want", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples(name, rules, images, want):
    policy = {"rules": rules}
    assert expired(policy, images) == want
    plain_images = [{"digest": d, "tags": t, "pushed": NOW - days * DAY} for d, t, days in images]
    assert lifecycle_plain.evaluate(policy, plain_images, NOW) == want


def test_result_is_oldest_first_with_every_column():
    policy = {"rules": [rule(1, "any", "sinceImagePushed", 1)]}
    result = evaluate_lifecycle_policy(policy, table([("B", ["x"], 5), ("A", [], 9), ("C", [], 0)]),
                                       NOW)
    assert result.column_names == ["imageDigest", "imageTags", "imagePushedAt",
                                   "appliedRulePriority"]
    assert result.column("imageDigest").to_pylist() == ["A", "B"]


def test_exactly_n_days_is_not_older_than_n_days():
    policy = {"rules": [rule(1, "any", "sinceImagePushed", 2)]}
    assert expired(policy, [("A", [], 2), ("B", [], 2.0001)]) == [("B", 1)]


def test_timestamps_and_null_tags_are_accepted():
    tbl = pa.table({"imageDigest": ["a", "b"],
                    "imageTags": pa.array([None, ["v1"]], pa.list_(pa.string())),
                    "imagePushedAt": pa.array([0, 10**9], pa.timestamp("s", "UTC"))})
    policy = {"rules": [rule(1, "untagged", "imageCountMoreThan", 1),
                        rule(2, "any", "sinceImagePushed", 1)]}
    result = evaluate_lifecycle_policy(policy, tbl, NOW)
    # "a" is old but matches the untagged rule above, which keeps it: never expired by rule 2
    assert result.column("imageDigest").to_pylist() == ["b"]
    assert result.column("appliedRulePriority").to_pylist() == [2]


BAD_POLICIES = [
    ({"rules": [rule(1, "tagged", "imageCountMoreThan", 1)]}, "rule 1", "exactly one"),
    ({"rules": [rule(1, "tagged", "imageCountMoreThan", 1, prefixes=["a"], patterns=["b"])]},
     "rule 1", "exactly one"),
    ({"rules": [rule(1, "untagged", "imageCountMoreThan", 1, prefixes=["a"])]}, "rule 1", "neither"),
    ({"rules": [rule(1, "untagged", "imageCountMoreThan", 1),
                rule(2, "untagged", "imageCountMoreThan", 2)]}, "rule 2", "only one rule"),
    ({"rules": [rule(2, "any", "imageCountMoreThan", 1),
                rule(3, "tagged", "imageCountMoreThan", 1, prefixes=["x"])]}, "rule 1", "highest"),
    ({"rules": [rule(1, "any", "imageCountMoreThan", 0)]}, "rule 1", "countNumber"),
    ({"rules": [rule(5, "tagged", "imageCountMoreThan", 1, prefixes=["a"]),
                rule(5, "tagged", "imageCountMoreThan", 1, prefixes=["b"])]}, "rule 2", "also used"),
    ({"rules": [rule(1, "tagged", "imageCountMoreThan", 1, patterns=["a*b*c*d*e*f"])]},
     "rule 1", "4 wildcards"),
    ({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType":
                 "sinceImagePushed", "countNumber": 1}, "action": {"type": "expire"}}]},
     "rule 1", "countUnit"),
    ({"rules": [{**rule(1, "any", "imageCountMoreThan", 3),
                 "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                               "countNumber": 3, "countUnit": "days"}}]}, "rule 1", "countUnit"),
    ({"rules": [{**rule(0, "any", "imageCountMoreThan", 3)}]}, "rule 1", "rulePriority"),
    ({"rules": [{**rule(1, "any", "imageCountMoreThan", 3), "action": {"type": "delete"}}]},
     "rule 1", "action"),
    ({"rules": []}, "", "at least one"),
    ("not json", "", "JSON"),
]


@pytest.mark.parametrize("policy,where,what", BAD_POLICIES)
def test_invalid_policies_are_refused_naming_the_rule(policy, where, what):
    with pytest.raises(LifecyclePolicyError) as info:
        parse_policy(policy)
    assert where in str(info.value) and what in str(info.value)


def test_put_lifecycle_policy_refuses_invalid_and_keeps_the_old(registry):
    registry.create_repository({"repositoryName": "app"})
    good = json.dumps({"rules": [rule(1, "any", "imageCountMoreThan", 3)]})
    registry.put_lifecycle_policy({"repositoryName": "app", "lifecyclePolicyText": good})
    bad = json.dumps({"rules": [rule(1, "untagged", "imageCountMoreThan", 0)]})
    with pytest.raises(ServiceError) as info:
        registry.put_lifecycle_policy({"repositoryName": "app", "lifecyclePolicyText": bad})
    assert info.value.code == "InvalidParameterException" and "rule 1" in info.value.message
    got = registry.get_lifecycle_policy({"repositoryName": "app"})
    assert got["lifecyclePolicyText"] == good


# -- the fast path against the plain one ---------------------------------------
TAG_WORDS = ["prod", "dev", "beta", "rc", "v1", "v2", "release", "x"]
tags_st = st.lists(st.builds(lambda a, b: a + b, st.sampled_from(TAG_WORDS),
                             st.sampled_from(["", "-1", "-2", ".3", "a", "-release"])),
                   max_size=3, unique=True)
pattern_st = st.builds(lambda parts: "*".join(parts),
                       st.lists(st.sampled_from(["", "prod", "dev", "-", "1", "release", "v"]),
                                min_size=1, max_size=4)).filter(bool)


@st.composite
def policies(draw):
    count = draw(st.integers(1, 6))
    priorities = sorted(draw(st.lists(st.integers(1, 50), min_size=count, max_size=count,
                                      unique=True)))
    rules, used_untagged = [], False
    for i, priority in enumerate(priorities):
        last = i == count - 1
        kinds = ["prefix", "pattern"] + ([] if used_untagged else ["untagged"]) + (["any"] if last else [])
        kind = draw(st.sampled_from(kinds))
        count_type = draw(st.sampled_from(["imageCountMoreThan", "sinceImagePushed"]))
        number = draw(st.integers(1, 6))
        if kind == "prefix":
            prefixes = draw(st.lists(st.sampled_from(TAG_WORDS + ["p", "d", "v"]), min_size=1,
                                     max_size=2))
            rules.append(rule(priority, "tagged", count_type, number, prefixes=prefixes))
        elif kind == "pattern":
            rules.append(rule(priority, "tagged", count_type, number,
                              patterns=draw(st.lists(pattern_st, min_size=1, max_size=2))))
        else:
            used_untagged |= kind == "untagged"
            rules.append(rule(priority, kind, count_type, number))
    return {"rules": draw(st.permutations(rules))}


images_st = st.lists(st.tuples(tags_st, st.integers(0, 12)), max_size=30)


@settings(max_examples=150)
@given(policies(), images_st)
def test_fast_path_agrees_with_plain(policy, images):
    parse_policy(policy)  # the strategy only makes valid policies
    rows = [(f"sha256:{i:064x}", tags, days) for i, (tags, days) in enumerate(images)]
    plain_images = [{"digest": d, "tags": t, "pushed": NOW - days * DAY} for d, t, days in rows]
    assert expired(policy, rows) == lifecycle_plain.evaluate(policy, plain_images, NOW)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("QM_ECR_LIFECYCLE_EXAMPLES", "100")))
@given(policies(), st.lists(st.tuples(tags_st, st.integers(0, 12)), max_size=120))
def test_fast_path_agrees_with_plain_long(policy, images):
    """Larger image sets; QM_ECR_LIFECYCLE_EXAMPLES=3000 for a long run."""
    test_fast_path_agrees_with_plain.hypothesis.inner_test(policy, images)


def test_table_shapes_chunks_and_bad_columns():
    from quaymaster.errors import InvalidInputError
    policy = {"rules": [rule(1, "any", "imageCountMoreThan", 1)]}
    whole = table([("A", ["x"], 3), ("B", [], 2), ("C", ["y"], 1)])
    chunked = pa.Table.from_batches(whole.to_batches(max_chunksize=1))
    assert evaluate_lifecycle_policy(policy, chunked, NOW).equals(
        evaluate_lifecycle_policy(policy, whole, NOW))
    for bad, column in ((whole.drop_columns(["imageTags"]), "imageTags"),
                        (whole.set_column(0, "imageDigest", pa.array([1, 2, 3])), "imageDigest"),
                        (whole.set_column(2, "imagePushedAt", pa.array(["a", "b", "c"])),
                         "imagePushedAt")):
        with pytest.raises(InvalidInputError) as info:
            evaluate_lifecycle_policy(policy, bad, NOW)
        assert column in str(info.value)
