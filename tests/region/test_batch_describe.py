"""describe_each, behind DescribeServices/Tasks/TaskSets/ServiceDeployments: order, failures, the limit."""

import pytest

from quaymaster.errors import ServiceError
from quaymaster.region.batch import describe_each
from servicekit import call, region_with, web_definition

KNOWN = {"a": 1, "c": 3}


def lookup(ref):
    if ref not in KNOWN:
        raise ServiceError("NotFound", ref)
    return {"ref": ref, "value": KNOWN[ref]}


def test_found_and_missing_keep_request_order():
    found, failures = describe_each(["c", "b", "a", "z"], lookup, member="things", arn_of=lambda r: f"arn:{r}")
    assert [f["ref"] for f in found] == ["c", "a"]
    assert failures == [{"arn": "arn:b", "reason": "MISSING"}, {"arn": "arn:z", "reason": "MISSING"}]


def test_too_many_references_are_refused_before_any_lookup():
    seen = []
    with pytest.raises(ServiceError) as info:
        describe_each(["a"] * 4, lambda r: seen.append(r), member="things", limit=3)
    assert info.value.code == "InvalidParameterException" and "things can have at most 3" in info.value.message
    assert seen == []


def test_region_describes_answer_failures_with_arns():
    region = region_with(2)
    call(region, "RegisterTaskDefinition", web_definition())
    call(region, "CreateService", {"cluster": "prod", "serviceName": "web", "taskDefinition": "web:1",
                                   "desiredCount": 1})
    out = call(region, "DescribeServices", {"cluster": "prod", "services": ["nope", "web"]})
    assert [s["serviceName"] for s in out["services"]] == ["web"] and "tags" not in out["services"][0]
    assert out["failures"] == [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/nope",
                                "reason": "MISSING"}]
    with pytest.raises(ServiceError, match="services can have at most 10 items"):
        region.handle("ecs", "DescribeServices", {"cluster": "prod", "services": ["web"] * 11})
    gone = call(region, "DescribeServiceDeployments", {"serviceDeploymentArns": ["arn:x"]})
    assert gone == {"serviceDeployments": [], "failures": [{"arn": "arn:x", "reason": "MISSING"}]}
