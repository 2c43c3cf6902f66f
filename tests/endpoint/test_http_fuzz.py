"""Fuzz of the HTTP layer on a real server: random and malformed bodies, wrong
targets, wrong content, oversized payloads, bad signatures. Every answer must
be a modeled or generic AWS error (never a crash, never a 200 that changed
anything) and the state must be unchanged afterwards."""

import functools
import json
import urllib.request

import botocore.session
from hypothesis import HealthCheck, given, settings, strategies as st

from server_support import client

ECS = botocore.session.get_session().get_service_model("ecs")
ECS_ERRORS = {s.name for s in ECS.error_shapes}
GENERIC = {"UnknownOperationException", "SerializationException", "RequestEntityTooLargeException",
           "InvalidParameterException", "ValidationException", "ValidationError", "InvalidAction",
           "IncompleteSignatureException", "InvalidSignatureException", "UnrecognizedClientException"}
# Operations whose random input must never succeed on the region (no CreateCluster, which
# can legitimately succeed with a random name, and no TagResource on a real cluster).
TARGET_OPS = [op for op in ECS.operation_names if op not in ("CreateCluster", "TagResource")]
PREFIX = ECS.metadata["targetPrefix"]

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
                           st.text(max_size=20), lambda c: st.lists(c, max_size=4) |
                           st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=12)
targets = st.one_of(st.sampled_from([f"{PREFIX}.{op}" for op in TARGET_OPS]),
                    st.text(max_size=60), st.just(f"{PREFIX}.NoSuchThing"),
                    st.just("AmazonEC2ContainerRegistry_V20150921.Nope"))
bodies = st.one_of(st.binary(max_size=300),
                   st.dictionaries(st.sampled_from(["cluster", "clusters", "maxResults", "nextToken",
                                                    "services", "taskDefinition", "count", "x"]),
                                   json_values, max_size=4).map(lambda d: json.dumps(d).encode()))


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@functools.lru_cache(maxsize=None)
def _client(url, key="AKIDTEST", secret="secret"):
    return client("ecs", url, key=key, secret=secret)


def snapshot(url):
    ecs = _client(url)
    return ecs.list_clusters(maxResults=100)["clusterArns"]


def check_error(status, body):
    assert status in (400, 403, 413), (status, body[:200])
    if body.startswith(b"<?xml"):
        assert b"<Code>" in body
        return
    code = json.loads(body)["__type"]
    assert code in ECS_ERRORS or code in GENERIC, code


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(target=targets, body=bodies, content_type=st.sampled_from(
    ["application/x-amz-json-1.1", "application/json", "text/plain", "application/x-www-form-urlencoded"]),
    auth=st.one_of(st.none(), st.text(max_size=80), st.just("AWS4-HMAC-SHA256 Credential=a/b/c/ecs/x")))
def test_random_requests_are_modeled_errors(server, target, body, content_type, auth):
    if not hasattr(test_random_requests_are_modeled_errors, "before"):
        # The region makes ECS's "default" cluster on first use (reads included):
        # make it first, so that a successful read really changes nothing.
        _client(server.url).create_cluster()
        test_random_requests_are_modeled_errors.before = snapshot(server.url)
    headers = {"Content-Type": content_type}
    if target and target.isprintable() and target.isascii():  # what urllib can send
        headers["X-Amz-Target"] = target
    if auth and auth.isprintable() and auth.isascii():
        headers["Authorization"] = auth
    status, answer = post(server.url, body, headers)
    if status == 200:  # only a read may succeed, and it must change nothing
        op = headers.get("X-Amz-Target", "").partition(".")[2]
        assert op.startswith(("List", "Describe")), (op, body)
    else:
        check_error(status, answer)
    assert snapshot(server.url) == test_random_requests_are_modeled_errors.before


def test_oversized_and_declared_oversized(server):
    before = snapshot(server.url)
    from quaymaster.endpoint import MAX_BODY
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{PREFIX}.CreateCluster"}
    status, answer = post(server.url, b"{" + b" " * (MAX_BODY + 1) + b"}", headers)
    check_error(status, answer)
    assert status == 413 and snapshot(server.url) == before


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(secret=st.text(min_size=1, max_size=20).filter(lambda s: s != "secret" and s.isascii()))
def test_bad_signatures_on_a_signed_server(signed_server, secret):
    before = snapshot_root(signed_server.url)
    ecs = client("ecs", signed_server.url, key="AKIDFUZZ", secret=secret)
    try:
        ecs.create_cluster(clusterName="fuzz-made")
        raise AssertionError("a wrong secret was accepted")
    except ecs.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidSignatureException"
    assert snapshot_root(signed_server.url) == before


def snapshot_root(url):
    return _client(url, "AKIDFUZZ", "secret").list_clusters()["clusterArns"]
