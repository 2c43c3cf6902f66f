"""SigV4 (header and presigned forms, clock skew) and IAM authorization on a real
server started with --auth sigv4 and a credentials file; real boto3 clients."""

import datetime as dt
import json
import urllib.request

import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from server_support import ROOT_PRINCIPAL, client, signed_fixture

ACCOUNT = "123456789012"
ALICE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "web", "Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:DeleteCluster", "ecs:TagResource"],
     "Resource": "arn:aws:ecs:*:123456789012:cluster/${aws:PrincipalTag/team}-*"},
    {"Sid": "read", "Effect": "Allow", "Action": ["ecs:List*", "ecs:Describe*"], "Resource": "*"},
    {"Sid": "keep", "Effect": "Deny", "Action": "ecs:DeleteCluster",
     "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/keep": "yes"}}},
]}
EC2_ROLE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
    "ecs:CreateCluster", "ecs:RegisterContainerInstance", "ecs:Submit*", "ecs:Poll"], "Resource": "*"}]}
PRINCIPALS = {"principals": [
    {"arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "accessKeyId": "AKIDALICE",
     "secretAccessKey": "alice-secret", "policies": [ALICE_POLICY], "tags": {"team": "web"}},
    {"arn": f"arn:aws:iam::{ACCOUNT}:role/ecsInstanceRole", "accessKeyId": "AKIDROLE",
     "secretAccessKey": "role-secret", "policies": [EC2_ROLE]},
    ROOT_PRINCIPAL,
]}


signed = signed_fixture(PRINCIPALS)


def names(url):
    arns = client("ecs", url, key="AKIDROOT", secret="root-secret").list_clusters()["clusterArns"]
    return sorted(a.rsplit("/", 1)[1] for a in arns)


def code_of(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response


def test_valid_signature_and_policies(signed):
    alice = client("ecs", signed.url, key="AKIDALICE", secret="alice-secret")
    assert alice.create_cluster(clusterName="web-1")["cluster"]["clusterName"] == "web-1"
    code, response = code_of(lambda: alice.create_cluster(clusterName="api-1"))
    assert code == "AccessDeniedException"
    assert response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: ecs:CreateCluster on "
        f"resource: arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/api-1 because no identity-based policy "
        "allows the ecs:CreateCluster action")
    assert "api-1" not in names(signed.url)
    assert isinstance(alice.list_clusters()["clusterArns"], list)


def test_explicit_deny_on_resource_tag(signed):
    alice = client("ecs", signed.url, key="AKIDALICE", secret="alice-secret")
    alice.create_cluster(clusterName="web-keep", tags=[{"key": "keep", "value": "yes"}])
    code, response = code_of(lambda: alice.delete_cluster(cluster="web-keep"))
    assert code == "AccessDeniedException" and "explicit deny in an identity-based policy" in \
        response["Error"]["Message"]
    alice.create_cluster(clusterName="web-temp")
    alice.delete_cluster(cluster="web-temp")
    assert "web-temp" not in names(signed.url) and "web-keep" in names(signed.url)


def test_seed_instance_role_may_register_but_not_run_tasks(signed):
    role = client("ecs", signed.url, key="AKIDROLE", secret="role-secret")
    role.create_cluster(clusterName="role-made")
    code, response = code_of(lambda: role.run_task(taskDefinition="web:1"))
    assert code == "AccessDeniedException" and "ecs:RunTask" in response["Error"]["Message"]
    assert "task-definition/web:1" in response["Error"]["Message"]


def test_signature_failures(signed):
    before = names(signed.url)
    wrong = client("ecs", signed.url, key="AKIDALICE", secret="not-the-secret")
    assert code_of(lambda: wrong.create_cluster(clusterName="web-x"))[0] == "InvalidSignatureException"
    unknown = client("ecs", signed.url, key="AKIDNOBODY", secret="x")
    code, response = code_of(lambda: unknown.create_cluster(clusterName="web-y"))
    assert code == "UnrecognizedClientException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert names(signed.url) == before


def _request(url, target="ListClusters", body=b"{}"):
    return AWSRequest(method="POST", url=url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{target}"})


def _send_raw(request):
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=prepared.body or b"", method="POST",
                                 headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(raw, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _send(request):
    status, body = _send_raw(request)
    return status, json.loads(body or b"{}")


def test_clock_skew_is_refused(signed, monkeypatch):
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: old)
    request = _request(signed.url)
    SigV4Auth(Credentials("AKIDALICE", "alice-secret"), "ecs", "us-east-1").add_auth(request)
    status, answer = _send(request)
    assert status == 403 and answer["__type"] == "InvalidSignatureException"
    assert answer["message"].startswith("Signature expired:")
    recent = old + dt.timedelta(minutes=3)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: recent)
    request = _request(signed.url)
    SigV4Auth(Credentials("AKIDALICE", "alice-secret"), "ecs", "us-east-1").add_auth(request)
    assert _send(request)[0] == 200


def test_tampered_body_is_refused(signed):
    request = _request(signed.url, "CreateCluster", b'{"clusterName": "web-ok"}')
    SigV4Auth(Credentials("AKIDALICE", "alice-secret"), "ecs", "us-east-1").add_auth(request)
    request.data = b'{"clusterName": "web-evil"}'
    status, answer = _send(request)
    assert status == 403 and answer["__type"] == "InvalidSignatureException"
    assert "web-evil" not in names(signed.url)


def test_incomplete_signature(signed):
    request = _request(signed.url)
    request.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDALICE/20260101/us-east-1/ecs/aws4_request"
    request.headers["X-Amz-Date"] = "20260101T000000Z"
    status, answer = _send(request)
    assert status == 400 and answer["__type"] == "IncompleteSignatureException"
    assert "SignedHeaders" in answer["message"] and "Signature" in answer["message"]


def _query_request(url, form: str):
    from urllib.parse import parse_qsl
    form = dict(parse_qsl(form))
    return AWSRequest(method="POST", url=url + "/", data=form,
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def _presign(request, key="AKIDROOT", secret="root-secret", service="ecs", expires=60):
    SigV4QueryAuth(Credentials(key, secret), service, "us-east-1", expires=expires).add_auth(request)
    assert "X-Amz-Signature=" in request.url and "Authorization" not in request.headers
    return request


def test_presigned_json_form(signed):
    status, answer = _send(_presign(_request(signed.url, "ListClusters", b""), "AKIDALICE", "alice-secret"))
    assert status == 200 and isinstance(answer["clusterArns"], list)
    forged = _presign(_request(signed.url, "ListClusters", b""), "AKIDALICE", "alice-secret")
    forged.url = forged.url[:-4] + ("0000" if not forged.url.endswith("0000") else "1111")
    assert _send(forged)[1]["__type"] == "InvalidSignatureException"


def test_presigned_query_protocol_and_expiry(signed, monkeypatch):
    # botocore moves the form into the URL; the server reads the operation from there.
    made = _presign(_query_request(signed.url, "Action=CreateAutoScalingGroup&Version=2011-01-01&"
                                   "AutoScalingGroupName=presigned&MinSize=0&MaxSize=2"),
                    service="autoscaling")
    assert "AutoScalingGroupName=presigned" in made.url
    # Authenticated and decoded: the call reaches the region, which refuses a group
    # with no instance types (a modeled XML error, not a 403).
    status, body = _send_raw(made)
    assert status == 400 and b"<Code>ValidationError</Code>" in body and b"InstanceType" in body
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=2)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: old)
    expired = _presign(_query_request(signed.url, "Action=CreateAutoScalingGroup&Version=2011-01-01&"
                                      "AutoScalingGroupName=late&MinSize=0&MaxSize=2"), service="autoscaling")
    status, body = _send_raw(expired)
    assert status == 403 and b"<Code>InvalidSignatureException</Code>" in body
    assert b"Signature expired" in body
