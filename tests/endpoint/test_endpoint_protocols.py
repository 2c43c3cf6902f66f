"""A real uvicorn server driven by real boto3 clients and the AWS CLI: JSON 1.1
and query protocols, modeled errors, validation, the clock and health routes.

The region behind it is the real ``quaymaster.region.Region`` (the default of
``quaymaster serve``); the 500 test injects its fault in a subclass of it
(faulty_region.py)."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from server_support import ROOT, Server, client, env

AWS = str(Path(sys.executable).parent / "aws")  # the aws of this interpreter


def raw_post(url, body: bytes, headers: dict):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_health(server):
    assert server.get("/_quaymaster/health") == {"status": "ok"}


def test_cluster_round_trip_and_pagination(server):
    ecs = client("ecs", server.url)
    names = [f"page-{i:02d}" for i in range(7)]
    for name in names:
        made = ecs.create_cluster(clusterName=name, tags=[{"key": "n", "value": name}])
        assert made["cluster"]["clusterName"] == name
    seen, token = [], None
    while True:
        page = ecs.list_clusters(maxResults=3, **({"nextToken": token} if token else {}))
        assert len(page["clusterArns"]) <= 3
        seen += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert [a for a in seen if "/page-" in a] == [
        f"arn:aws:ecs:us-east-1:123456789012:cluster/{n}" for n in names]
    paginated = [a for p in ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2})
                 for a in p["clusterArns"]]
    assert paginated == seen
    described = ecs.describe_clusters(clusters=["page-03", "missing"], include=["TAGS"])
    assert described["clusters"][0]["tags"] == [{"key": "n", "value": "page-03"}]
    assert described["failures"][0]["reason"] == "MISSING"


def test_modeled_error_is_the_modeled_exception_class(server):
    ecs = client("ecs", server.url)
    with pytest.raises(ecs.exceptions.ClusterNotFoundException) as caught:
        ecs.delete_cluster(cluster="never-made")
    assert caught.value.response["Error"]["Message"] == "Cluster not found."
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_cluster(clusterName="bad name!")  # ECS names: letters, digits, - and _


def test_model_validation_names_the_member(server):
    url = server.url
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DeleteCluster"}
    status, _, body = raw_post(url, b"{}", headers)
    answer = json.loads(body)
    assert status == 400 and answer["__type"] == "InvalidParameterException"
    assert "'cluster'" in answer["message"] and "must not be null" in answer["message"]
    headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113.ListClusters"
    status, _, body = raw_post(url, b'{"maxResults": "ten"}', headers)
    assert status == 400 and "maxResults" in json.loads(body)["message"]
    # ECR models ValidationException; enums and maximum lengths are checked too.
    ecr_headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository"}
    status, _, body = raw_post(url, json.dumps({"repositoryName": "r", "imageTagMutability": "SOMETIMES"}).encode(),
                               ecr_headers)
    answer = json.loads(body)
    assert answer["__type"] == "ValidationException" and "imageTagMutability" in answer["message"]
    status, _, body = raw_post(url, json.dumps({"repositoryName": "r" * 300}).encode(), ecr_headers)
    assert "less than or equal to 256" in json.loads(body)["message"]


@pytest.mark.parametrize("target, body, code, status", [
    ("AmazonEC2ContainerServiceV20141113.NoSuchOperation", b"{}", "UnknownOperationException", 400),
    ("SomethingElse_20200101.ListClusters", b"{}", "UnknownOperationException", 400),
    (None, b"{}", "UnknownOperationException", 400),
    ("AmazonEC2ContainerServiceV20141113.ListClusters", b"{not json", "SerializationException", 400),
    ("AmazonEC2ContainerServiceV20141113.ListClusters", b"[1, 2]", "SerializationException", 400),
])
def test_generic_errors(server, target, body, code, status):
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    got_status, got_headers, answer = raw_post(server.url, body, headers)
    assert got_status == status and json.loads(answer)["__type"] == code
    assert got_headers["x-amzn-errortype"] == code


def test_oversized_body_is_refused(server):
    from quaymaster.endpoint import MAX_BODY
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster"}
    body = b'{"clusterName": "' + b"x" * (MAX_BODY + 10) + b'"}'
    status, _, answer = raw_post(server.url, body, headers)
    assert status == 413 and json.loads(answer)["__type"] == "RequestEntityTooLargeException"


def test_internal_error_is_500_and_changes_nothing():
    faulty = Server("--region-factory", "faulty_region:FaultyRegion")
    try:
        ecs = client("ecs", faulty.url)
        ecs.create_cluster(clusterName="kept")
        before = ecs.list_clusters(maxResults=100)["clusterArns"]
        with pytest.raises(ClientError) as caught:
            ecs.create_cluster(clusterName="boom-internal")  # made, then the region fails
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert caught.value.response["Error"]["Code"] == "ServerException"
        assert ecs.list_clusters(maxResults=100)["clusterArns"] == before
    finally:
        faulty.stop()


def test_query_protocol_reaches_the_region_and_answers_xml(server):
    # EC2 Auto Scaling over the query protocol: the group is created in the region and
    # read back as XML that boto3 parses; a group without instance types is the region's
    # ValidationError, also as XML.
    asg = client("autoscaling", server.url)
    with pytest.raises(ClientError) as caught:
        asg.create_auto_scaling_group(AutoScalingGroupName="xml-group", MinSize=1, MaxSize=4,
                                      DesiredCapacity=2, AvailabilityZones=["us-east-1a"])
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "InstanceType" in caught.value.response["Error"]["Message"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName="xml-group", MinSize=1, MaxSize=4, DesiredCapacity=2,
        AvailabilityZones=["us-east-1a"],
        MixedInstancesPolicy={"LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateName": "ecs-nodes"},
            "Overrides": [{"InstanceType": "c5.large"}]}})
    (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["xml-group"])["AutoScalingGroups"]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 4, 2)
    # Removed again: while a group exists the clock visits every tick, and the clock-route
    # test on this same server jumps years ahead.
    asg.delete_auto_scaling_group(AutoScalingGroupName="xml-group", ForceDelete=True)
    unchecked = client("autoscaling", server.url, parameter_validation=False)
    with pytest.raises(ClientError) as caught:  # the server's own validation, query protocol
        unchecked.create_auto_scaling_group(AutoScalingGroupName="", MinSize=1, MaxSize=4)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "AutoScalingGroupName" in caught.value.response["Error"]["Message"]


def test_query_protocol_errors_are_xml(server):
    status, headers, body = raw_post(server.url, b"Action=NoSuchThing&Version=2011-01-01",
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"<Code>InvalidAction</Code>" in body
    status, _, body = raw_post(server.url, b"Action=CreateAutoScalingGroup&Version=2011-01-01&MinSize=x",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"<Code>ValidationError</Code>" in body and b"AutoScalingGroupName" in body


def test_clock_routes(server):
    start = server.get("/_quaymaster/clock")
    status, moved = server.post("/_quaymaster/clock/advance", {"seconds": 300})
    assert status == 200 and moved["epoch"] == pytest.approx(start["epoch"] + 300)
    assert moved["time"].endswith("Z") and server.get("/_quaymaster/clock") == moved
    status, until = server.post("/_quaymaster/clock/advance", {"until": "2030-01-01T00:00:00Z"})
    assert status == 200 and until["time"] == "2030-01-01T00:00:00.000Z"
    status, error = server.post("/_quaymaster/clock/advance", {"seconds": -5})
    assert status == 400 and error["__type"] == "InvalidParameterException"
    status, error = server.post("/_quaymaster/clock/advance", {"until": "2029-01-01T00:00:00Z"})
    assert status == 400 and server.get("/_quaymaster/clock") == until


def _aws(url, *args):
    environment = dict(env(), AWS_ACCESS_KEY_ID="AKIDTEST", AWS_SECRET_ACCESS_KEY="secret",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                       AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    done = subprocess.run([AWS, "--endpoint-url", url, *args], capture_output=True, text=True,
                          env=environment, timeout=60, cwd=ROOT)
    return done


def test_aws_cli_list_clusters_json_and_table(server):
    client("ecs", server.url).create_cluster(clusterName="cli-visible")
    done = _aws(server.url, "ecs", "list-clusters", "--output", "json")
    assert done.returncode == 0, done.stderr
    arns = json.loads(done.stdout)["clusterArns"]
    assert "arn:aws:ecs:us-east-1:123456789012:cluster/cli-visible" in arns
    table = _aws(server.url, "ecs", "list-clusters", "--output", "table")
    assert table.returncode == 0 and "ListClusters" in table.stdout and "cli-visible" in table.stdout
    missing = _aws(server.url, "ecs", "delete-cluster", "--cluster", "nope")
    assert missing.returncode != 0 and "ClusterNotFoundException" in missing.stderr
