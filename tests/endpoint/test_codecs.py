"""The model-driven codecs against botocore's own client side: what botocore's
query serializer writes, parse_form reads back; what xml_response writes,
botocore's query parser reads back; JSON timestamps travel as epoch seconds."""

import datetime as dt

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import given, settings, strategies as st

from quaymaster.endpoint import jsoncodec, querycodec
from quaymaster.api_validation import model_problem as validate

SESSION = botocore.session.get_session()
ASG = SESSION.get_service_model("autoscaling")
T0 = dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.timezone.utc)


def form_of(operation, params):
    request = create_serializer("query").serialize_to_request(params, operation)
    return {k: str(v) for k, v in request["body"].items()}


@pytest.mark.parametrize("name, params", [
    ("CreateAutoScalingGroup", {"AutoScalingGroupName": "g", "MinSize": 0, "MaxSize": 5,
                                "AvailabilityZones": ["a", "b"], "NewInstancesProtectedFromScaleIn": True,
                                "Tags": [{"Key": "k", "Value": "v", "PropagateAtLaunch": False}],
                                "MixedInstancesPolicy": {"LaunchTemplate": {"Overrides": [
                                    {"InstanceType": "m5.large", "WeightedCapacity": "2"}]}}}),
    ("SetInstanceProtection", {"InstanceIds": ["i-1", "i-2"], "AutoScalingGroupName": "g",
                               "ProtectedFromScaleIn": False}),
    ("UpdateAutoScalingGroup", {"AutoScalingGroupName": "g", "DesiredCapacity": 3,
                                "AvailabilityZones": []}),
    ("PutScheduledUpdateGroupAction", {"AutoScalingGroupName": "g", "ScheduledActionName": "s",
                                       "StartTime": T0, "DesiredCapacity": 2}),
    ("DescribeAutoScalingGroups", {}),
])
def test_query_form_round_trip(name, params):
    operation = ASG.operation_model(name)
    parsed = querycodec.parse_form(form_of(operation, params), operation.input_shape)
    assert parsed == params
    assert validate(parsed, operation.input_shape) is None


def test_query_form_bad_scalars_stay_for_the_validator():
    operation = ASG.operation_model("SetDesiredCapacity")
    parsed = querycodec.parse_form({"AutoScalingGroupName": "g", "DesiredCapacity": "two",
                                    "HonorCooldown": "maybe"}, operation.input_shape)
    message = validate(parsed, operation.input_shape)
    assert "DesiredCapacity" in message and "HonorCooldown" in message


names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
                min_size=1, max_size=12)


@settings(max_examples=60)
@given(groups=st.lists(st.fixed_dictionaries({
    "AutoScalingGroupName": names, "MinSize": st.integers(0, 10), "MaxSize": st.integers(0, 10),
    "DesiredCapacity": st.integers(0, 10), "DefaultCooldown": st.integers(0, 3600),
    "AvailabilityZones": st.lists(names, max_size=3), "HealthCheckType": st.sampled_from(["EC2", "ELB"]),
    "CreatedTime": st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                                timezones=st.just(dt.timezone.utc)).map(lambda t: t.replace(microsecond=0)),
    "Instances": st.lists(st.fixed_dictionaries({
        "InstanceId": names, "AvailabilityZone": names, "LifecycleState": st.just("InService"),
        "HealthStatus": st.just("Healthy"), "ProtectedFromScaleIn": st.booleans()}), max_size=2),
    "Tags": st.lists(st.fixed_dictionaries({"Key": names, "Value": names}), max_size=2),
}), max_size=3), token=st.none() | names)
def test_xml_response_round_trip_through_botocore(groups, token):
    operation = ASG.operation_model("DescribeAutoScalingGroups")
    result = {"AutoScalingGroups": groups, **({"NextToken": token} if token else {})}
    body = querycodec.xml_response(operation, result, "rid", ASG.metadata["xmlNamespace"])
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 200},
                                          operation.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    for group in parsed.get("AutoScalingGroups", []):
        group["CreatedTime"] = group["CreatedTime"].astimezone(dt.timezone.utc)
    expected = {"AutoScalingGroups": groups, **({"NextToken": token} if token else {})}
    assert parsed == expected


def test_json_timestamps_and_blobs_follow_the_shape():
    ecs = SESSION.get_service_model("ecs")
    out = ecs.operation_model("DescribeClusters").output_shape
    encoded = jsoncodec.encode_output({"clusters": [{"clusterName": "a", "unknown": 1}]}, out)
    assert encoded == {"clusters": [{"clusterName": "a"}]}  # members outside the shape dropped
    ecr = SESSION.get_service_model("ecr")
    images = ecr.operation_model("DescribeImages").output_shape
    encoded = jsoncodec.encode_output({"imageDetails": [{"imagePushedAt": T0}]}, images)
    assert encoded["imageDetails"][0]["imagePushedAt"] == T0.timestamp()
    parser = create_parser("json")
    back = parser.parse({"body": jsoncodec.dumps(encoded), "headers": {}, "status_code": 200}, images)
    assert back["imageDetails"][0]["imagePushedAt"] == T0
    start = ecs.operation_model("ListServiceDeployments").input_shape
    decoded = jsoncodec.decode_input({"service": "s", "createdAt": {"after": T0.timestamp()}}, start)
    assert decoded["createdAt"]["after"] == T0
