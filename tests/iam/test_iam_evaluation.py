"""IAM evaluation: table tests from the policy language, AWS's documented
examples, the seed's two policies, and properties (explicit deny wins;
Action and NotAction are complements)."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.iam import (ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, MalformedPolicyDocument,
                            Request, evaluate, parse_policy)
from quaymaster.iam.catalogue import action, all_actions

ALICE = "arn:aws:iam::123456789012:user/alice"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/{}"

# The seed's container-instance role policy, as the seed slide prints it.
EC2_ROLE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
    "ec2:DescribeTags", "ecs:CreateCluster", "ecs:DeregisterContainerInstance",
    "ecs:DiscoverPollEndpoint", "ecs:Poll", "ecs:RegisterContainerInstance",
    "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState", "ecs:Submit*",
    "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}
# The seed's ECR push policy.
ECR_PUSH = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
    "ecr:CompleteLayerUpload", "ecr:GetAuthorizationToken", "ecr:UploadLayerPart",
    "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
    "Resource": "*"}]}


def decide(policies, act, resource="*", context=None, principal=ALICE, resource_policy=None):
    parsed = [parse_policy(p) for p in policies]
    rp = {resource: parse_policy(resource_policy, resource_policy=True)} if resource_policy else None
    ctx = {k.lower(): v for k, v in (context or {}).items()}
    return evaluate(Request(principal, act, [resource], ctx), parsed, rp).effect


def allow(**statement):
    return {"Version": "2012-10-17", "Statement": [dict({"Effect": "Allow"}, **statement)]}


def deny(**statement):
    return {"Version": "2012-10-17", "Statement": [dict({"Effect": "Deny"}, **statement)]}


@pytest.mark.parametrize("act, expected", [
    ("ecs:RegisterContainerInstance", ALLOW), ("ecs:SubmitTaskStateChange", ALLOW),
    ("ecs:SubmitContainerStateChange", ALLOW), ("ecs:submitattachmentstatechanges", ALLOW),
    ("ecs:RunTask", IMPLICIT_DENY), ("ecs:CreateService", IMPLICIT_DENY),
    ("ecr:BatchGetImage", ALLOW), ("ecr:PutImage", IMPLICIT_DENY),
])
def test_seed_container_instance_role(act, expected):
    assert decide([EC2_ROLE], act, CLUSTER.format("default")) == expected


@pytest.mark.parametrize("act, expected", [
    ("ecr:PutImage", ALLOW), ("ecr:UploadLayerPart", ALLOW), ("ecr:CompleteLayerUpload", ALLOW),
    ("ecr:DeleteRepository", IMPLICIT_DENY), ("ecr:BatchDeleteImage", IMPLICIT_DENY),
])
def test_seed_ecr_push_policy(act, expected):
    repo = "arn:aws:ecr:us-east-1:123456789012:repository/my-repository"
    assert decide([ECR_PUSH], act, repo) == expected


def test_seed_role_actions_exist_in_the_catalogue():
    # Submit* must match real ECS actions, else the role's test above proves nothing.
    submits = [a for a in all_actions("ecs") if a.startswith("Submit")]
    assert len(submits) >= 3
    assert all(decide([EC2_ROLE], f"ecs:{a}") == ALLOW for a in submits)


@pytest.mark.parametrize("pattern, act, hit", [
    ("ecs:*", "ecs:RunTask", True), ("ecs:Run*", "ecs:runtask", True),
    ("ecs:Describe?lusters", "ecs:DescribeClusters", True), ("ecs:Describe?", "ecs:DescribeClusters", False),
    ("ecr:*", "ecs:RunTask", False), ("*", "ecr:PutImage", True),
])
def test_action_matching(pattern, act, hit):
    assert (decide([allow(Action=pattern, Resource="*")], act) == ALLOW) is hit


@pytest.mark.parametrize("pattern, resource, hit", [
    ("arn:aws:ecs:us-east-1:123456789012:cluster/*", CLUSTER.format("web"), True),
    ("arn:aws:ecs:*:123456789012:cluster/web", CLUSTER.format("web"), True),
    ("arn:aws:ecs:us-east-1:123456789012:cluster/Web", CLUSTER.format("web"), False),  # case-sensitive
    ("arn:aws:ecs:us-east-1:123456789012:cluster/we?", CLUSTER.format("web"), True),
    ("arn:aws:ecs:us-east-1:999999999999:cluster/*", CLUSTER.format("web"), False),
    ("arn:aws:ecs:us-east-1:123456789012:service/*", CLUSTER.format("web"), False),
    ("arn:aws:ecs:*:*:*", CLUSTER.format("web"), True),
])
def test_resource_matching(pattern, resource, hit):
    assert (decide([allow(Action="ecs:*", Resource=pattern)], "ecs:DeleteCluster", resource)
            == ALLOW) is hit


def test_not_resource_and_not_action():
    policy = allow(NotAction="ecs:Delete*", NotResource=CLUSTER.format("prod"))
    assert decide([policy], "ecs:DescribeClusters", CLUSTER.format("dev")) == ALLOW
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("dev")) == IMPLICIT_DENY
    assert decide([policy], "ecs:DescribeClusters", CLUSTER.format("prod")) == IMPLICIT_DENY


def test_policy_variables():
    policy = allow(Action="ecs:*", Resource="arn:aws:ecs:*:*:cluster/${aws:username}-*")
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("alice-dev"),
                  {"aws:username": "alice"}) == ALLOW
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("bob-dev"),
                  {"aws:username": "alice"}) == IMPLICIT_DENY
    # No value for the variable: the resource pattern matches nothing.
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("alice-dev")) == IMPLICIT_DENY
    tagged = allow(Action="ecs:*", Resource="arn:aws:ecs:*:*:cluster/${aws:PrincipalTag/team}")
    assert decide([tagged], "ecs:DeleteCluster", CLUSTER.format("web"),
                  {"aws:PrincipalTag/team": "web"}) == ALLOW
    default = allow(Action="ecs:*", Resource="arn:aws:ecs:*:*:cluster/${aws:PrincipalTag/x, 'shared'}")
    assert decide([default], "ecs:DeleteCluster", CLUSTER.format("shared")) == ALLOW


def test_literal_variables_are_not_wildcards():
    policy = allow(Action="ecs:*", Resource="arn:aws:ecs:*:*:cluster/a${*}b")
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("a*b")) == ALLOW
    assert decide([policy], "ecs:DeleteCluster", CLUSTER.format("axxb")) == IMPLICIT_DENY


CONDITION_TABLE = [
    # operator, policy values, request value (None: absent), matches
    ("StringEquals", ["web"], "web", True), ("StringEquals", ["web"], "Web", False),
    ("StringEquals", ["web"], None, False), ("StringNotEquals", ["web"], "api", True),
    ("StringNotEquals", ["web"], "web", False), ("StringNotEquals", ["web"], None, True),
    ("StringEqualsIgnoreCase", ["WEB"], "web", True), ("StringNotEqualsIgnoreCase", ["WEB"], "web", False),
    ("StringLike", ["we*"], "website", True), ("StringLike", ["w?b"], "web", True),
    ("StringLike", ["w?b"], "webb", False), ("StringNotLike", ["we*"], "api", True),
    ("StringEqualsIfExists", ["web"], None, True), ("StringEqualsIfExists", ["web"], "api", False),
    ("NumericEquals", ["10"], "10", True), ("NumericNotEquals", ["10"], "11", True),
    ("NumericLessThan", ["10"], "9", True), ("NumericLessThan", ["10"], "10", False),
    ("NumericLessThanEquals", ["10"], "10", True), ("NumericGreaterThan", ["10"], "11", True),
    ("NumericGreaterThanEquals", ["10"], "9", False), ("NumericEquals", ["10"], "ten", False),
    ("DateGreaterThan", ["2026-01-01T00:00:00Z"], "2026-06-01T00:00:00Z", True),
    ("DateLessThan", ["2026-01-01T00:00:00Z"], "2026-06-01T00:00:00Z", False),
    ("DateEquals", ["1767225600"], "2026-01-01T00:00:00Z", True),
    ("DateNotEquals", ["1767225600"], "2026-01-01T00:00:01Z", True),
    ("DateLessThanEquals", ["2026-01-01T00:00:00Z"], "1767225600", True),
    ("DateGreaterThanEquals", ["2026-01-01T00:00:00Z"], "1767225599", False),
    ("Bool", ["true"], "true", True), ("Bool", ["true"], "false", False), ("Bool", ["false"], None, False),
    ("BinaryEquals", ["QmluYXJ5VmFsdWU="], "BinaryValue", True), ("BinaryEquals", ["QQ=="], "B", False),
    ("IpAddress", ["203.0.113.0/24"], "203.0.113.7", True), ("IpAddress", ["203.0.113.0/24"], "10.0.0.1", False),
    ("NotIpAddress", ["203.0.113.0/24"], "10.0.0.1", True), ("IpAddress", ["2001:db8::/32"], "2001:db8::1", True),
    ("ArnEquals", ["arn:aws:ecs:*:*:cluster/web"], CLUSTER.format("web"), True),
    ("ArnLike", ["arn:aws:ecs:*:*:cluster/w*"], CLUSTER.format("web"), True),
    ("ArnNotEquals", ["arn:aws:ecs:*:*:cluster/web"], CLUSTER.format("api"), True),
    ("ArnNotLike", ["arn:aws:ecs:*:*:cluster/w*"], CLUSTER.format("web"), False),
    ("Null", ["true"], None, True), ("Null", ["true"], "x", False), ("Null", ["false"], "x", True),
    ("NumericLessThanIfExists", ["5"], None, True), ("ArnLikeIfExists", ["arn:*"], "nope", False),
]


@pytest.mark.parametrize("operator, values, value, hit", CONDITION_TABLE)
def test_condition_operators(operator, values, value, hit):
    policy = allow(Action="ecs:*", Resource="*", Condition={operator: {"test:key": values}})
    context = {} if value is None else {"test:key": value}
    assert (decide([policy], "ecs:ListClusters", "*", context) == ALLOW) is hit


def test_every_operator_of_the_language_is_in_the_table():
    from quaymaster.iam.conditions import OPERATORS
    assert set(OPERATORS) == {row[0].removesuffix("IfExists") for row in CONDITION_TABLE}


@pytest.mark.parametrize("qualifier, values, request_values, hit", [
    ("ForAllValues:StringEquals", ["env", "team"], ["env"], True),
    ("ForAllValues:StringEquals", ["env", "team"], ["env", "cost"], False),
    ("ForAllValues:StringEquals", ["env"], None, True),      # no values: vacuously true
    ("ForAnyValue:StringEquals", ["env"], ["cost", "env"], True),
    ("ForAnyValue:StringEquals", ["env"], ["cost"], False),
    ("ForAnyValue:StringEquals", ["env"], None, False),
    ("ForAnyValue:StringLike", ["e*"], ["cost", "env"], True),
    ("ForAllValues:StringNotEquals", ["secret"], ["env", "team"], True),
    ("ForAllValues:StringNotEquals", ["secret"], ["env", "secret"], False),
])
def test_set_qualifiers(qualifier, values, request_values, hit):
    # AWS's documented example: restrict the tag keys a request may carry.
    policy = allow(Action="ecs:TagResource", Resource="*", Condition={qualifier: {"aws:TagKeys": values}})
    context = {} if request_values is None else {"aws:TagKeys": request_values}
    assert (decide([policy], "ecs:TagResource", "*", context) == ALLOW) is hit


def test_conditions_and_within_or_across_values():
    policy = allow(Action="ecs:*", Resource="*", Condition={
        "StringEquals": {"aws:RequestTag/env": ["dev", "test"], "aws:PrincipalTag/team": "web"}})
    assert decide([policy], "ecs:CreateCluster", "*",
                  {"aws:RequestTag/env": "test", "aws:PrincipalTag/team": "web"}) == ALLOW
    assert decide([policy], "ecs:CreateCluster", "*",
                  {"aws:RequestTag/env": "test", "aws:PrincipalTag/team": "api"}) == IMPLICIT_DENY


def test_condition_keys_are_case_insensitive():
    policy = allow(Action="ecs:*", Resource="*", Condition={"StringEquals": {"AWS:USERNAME": "alice"}})
    assert decide([policy], "ecs:ListClusters", "*", {"aws:username": "alice"}) == ALLOW


def test_explicit_deny_beats_allow_documented_example():
    # AWS docs: deny everything outside a source IP range, allow ECS otherwise.
    policies = [allow(Action="ecs:*", Resource="*"),
                deny(Action="*", Resource="*", Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})]
    assert decide(policies, "ecs:ListClusters", "*", {"aws:SourceIp": "192.0.2.9"}) == ALLOW
    assert decide(policies, "ecs:ListClusters", "*", {"aws:SourceIp": "198.51.100.1"}) == EXPLICIT_DENY


def test_resource_policy_allows_and_denies():
    repo = "arn:aws:ecr:us-east-1:123456789012:repository/app"
    pull = {"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}
    assert decide([], "ecr:BatchGetImage", repo, resource_policy=pull) == ALLOW
    assert decide([], "ecr:PutImage", repo, resource_policy=pull) == IMPLICIT_DENY
    other = "arn:aws:iam::123456789012:user/bob"
    assert decide([], "ecr:BatchGetImage", repo, principal=other, resource_policy=pull) == IMPLICIT_DENY
    account = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
               "Action": "ecr:*"}]}
    assert decide([], "ecr:PutImage", repo, principal=other, resource_policy=account) == ALLOW
    veto = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ecr:PutImage"}]}
    assert decide([ECR_PUSH], "ecr:PutImage", repo, resource_policy=veto) == EXPLICIT_DENY


def test_root_always_allowed_and_every_resource_must_be_allowed():
    root = "arn:aws:iam::123456789012:root"
    assert evaluate(Request(root, "ecs:DeleteCluster", ["*"]), []).effect == ALLOW
    policy = parse_policy(allow(Action="ecs:*", Resource=CLUSTER.format("a")))
    both = evaluate(Request(ALICE, "ecs:DeleteCluster", [CLUSTER.format("a"), CLUSTER.format("b")]), [policy])
    assert both.effect == IMPLICIT_DENY and both.resource == CLUSTER.format("b")


@pytest.mark.parametrize("document, named", [
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}, "Effect"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, "Action"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x:y",
                                              "Resource": "*"}]}, "Action"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}, "Resource"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "RunTask", "Resource": "*"}]}, "Action"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "cluster/x"}]}, "Resource"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                              "Condition": {"StringEqualz": {"a:b": "c"}}}]}, "Condition"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                              "Principal": "*"}]}, "Principal"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                              "Actions": "*"}]}, "Actions"),
    ({"Version": "2020-01-01", "Statement": []}, "Version"),
    ({"Version": "2012-10-17"}, "Statement"),
])
def test_malformed_policies_name_the_key(document, named):
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(document)
    assert caught.value.field == named and named in str(caught.value)


def test_malformed_names_the_statement():
    bad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "second", "Effect": "Allow", "Action": "*", "Resource": 5}]}
    with pytest.raises(MalformedPolicyDocument, match=re.escape("Statement 1 (second): Resource")):
        parse_policy(bad)


def test_catalogue_maps_operations_to_actions_and_resources():
    create = action("ecs", "CreateService")
    assert create.name == "ecs:CreateService" and create.mutating
    assert [r.name for r in create.resource_types] == ["service"]
    assert "ecs:cluster" in create.condition_keys
    assert not action("ecs", "ListClusters").mutating and not action("ecs", "DescribeServices").mutating
    assert action("ecr", "PutImage").resource_types[0].arn_format.endswith("repository/${RepositoryName}")


ACTIONS = st.sampled_from([f"ecs:{a}" for a in all_actions("ecs")[:60]] +
                          [f"ecr:{a}" for a in all_actions("ecr")[:30]])
PATTERNS = st.sampled_from(["*", "ecs:*", "ecr:*", "ecs:Describe*", "ecs:*Task*", "ecr:Put?mage",
                            "ecs:List*", "ecs:RunTask", "ecr:Get*"])
RESOURCES = st.sampled_from(["*", CLUSTER.format("web"), CLUSTER.format("api"),
                             "arn:aws:ecs:us-east-1:123456789012:cluster/w*", "arn:aws:ecr:*:*:repository/*"])
STATEMENTS = st.builds(lambda e, a, r: {"Effect": e, "Action": a, "Resource": r},
                       st.sampled_from(["Allow", "Deny"]), st.lists(PATTERNS, min_size=1, max_size=3), RESOURCES)
POLICIES = st.lists(st.lists(STATEMENTS, min_size=1, max_size=3).map(
    lambda s: {"Version": "2012-10-17", "Statement": s}), min_size=0, max_size=3)


@settings(max_examples=150)
@given(POLICIES, ACTIONS, RESOURCES.filter(lambda r: "*" not in r or r == "*"))
def test_explicit_deny_always_wins(policies, act, resource):
    deny_all = deny(Action=act, Resource="*")
    assert decide(policies + [deny_all], act, resource) == EXPLICIT_DENY
    # And adding an Allow never turns an explicit deny into an allow.
    if decide(policies, act, resource) == EXPLICIT_DENY:
        assert decide(policies + [allow(Action="*", Resource="*")], act, resource) == EXPLICIT_DENY


@settings(max_examples=150)
@given(st.lists(PATTERNS, min_size=1, max_size=4), ACTIONS)
def test_action_and_not_action_are_complements(patterns, act):
    with_action = decide([allow(Action=patterns, Resource="*")], act)
    with_not_action = decide([allow(NotAction=patterns, Resource="*")], act)
    assert {with_action, with_not_action} == {ALLOW, IMPLICIT_DENY}
