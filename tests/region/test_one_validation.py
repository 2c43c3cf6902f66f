"""One request check for every API: the same bad request is refused alike wherever it enters."""

import pytest

from quaymaster.api_models import check_request
from quaymaster.errors import ServiceError
from quaymaster.region import Region
from quaymaster.scaling.appautoscaling import ApplicationAutoScaling

BAD = [  # (service, operation, request, code, a word the report must name)
    ("ecs", "ListClusters", {"maxResults": "ten"}, "InvalidParameterException", "maxResults"),
    ("ecs", "CreateService", {}, "InvalidParameterException", "serviceName"),
    # the server-side limits botocore leaves out: enums, booleans posing as numbers
    ("ecs", "RunTask", {"taskDefinition": "web", "launchType": "EC3"}, "InvalidParameterException", "launchType"),
    ("ecs", "ListClusters", {"maxResults": True}, "InvalidParameterException", "maxResults"),
    ("application-autoscaling", "DescribeScalableTargets", {"ServiceNamespace": "ecs", "MaxResults": "x"},
     "ValidationException", "MaxResults"),
    ("autoscaling", "DescribeAutoScalingGroups", {"MaxRecords": "x"}, "ValidationError", "MaxRecords"),
    ("cloudwatch", "PutMetricAlarm", {"AlarmName": 5}, "InvalidParameterValueException", "AlarmName"),
    ("ecr", "DescribeRepositories", {"maxResults": "x"}, "ValidationException", "maxResults"),
]


def refusal(call):
    with pytest.raises(ServiceError) as info:
        call()
    return info.value.code, info.value.message


@pytest.mark.parametrize("service,operation,request_,code,member", BAD, ids=lambda v: str(v)[:30])
def test_the_region_refuses_with_the_shared_check(service, operation, request_, code, member):
    region = Region()
    before = region.handle("ecs", "ListClusters", {})
    got = refusal(lambda: region.handle(service, operation, dict(request_)))
    assert got == refusal(lambda: check_request(service, operation, dict(request_)))
    assert got[0] == code and member in got[1] and " validation error" in got[1]
    assert region.handle("ecs", "ListClusters", {}) == before


def test_a_scaling_api_called_directly_answers_as_through_the_region():
    request = {"ServiceNamespace": "ecs", "MaxResults": "x"}
    direct = refusal(lambda: ApplicationAutoScaling().describe_scalable_targets(dict(request)))
    through = refusal(lambda: Region().handle("application-autoscaling", "DescribeScalableTargets", request))
    assert direct == through


@pytest.mark.parametrize("request_", [[1], "x", 3])
def test_a_request_that_is_not_an_object_is_refused(request_):
    code, message = refusal(lambda: Region().handle("ecs", "ListClusters", request_))
    assert code == "InvalidParameterException" and "must be an object" in message


def test_one_timestamp_reading_for_every_api():
    import datetime as dt

    from quaymaster.clock import instant_ms
    from quaymaster.scaling.shapes import from_millis, to_millis

    moment = dt.datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=dt.timezone.utc)
    forms = [moment, moment.replace(tzinfo=None), "2026-03-04T05:06:07.250Z", moment.timestamp()]
    assert {instant_ms(f, field="t") for f in forms} == {to_millis(f, field="t") for f in forms} \
        == {1772600767250}
    assert from_millis(1772600767250) == moment
    for bad in (True, "yesterday", [1]):
        with pytest.raises(ServiceError) as info:
            to_millis(bad, field="StartTime")
        assert info.value.code == "ValidationException" and "StartTime" in info.value.message
