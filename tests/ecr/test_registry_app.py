"""The /v2/ registry API on a real uvicorn: the oras client, and the protocol by hand."""

import base64
import json
import os

import oras.client
import pytest
import requests

from ecr_helpers import OCI, allow_all, deny_pushes, manifest_for, password_of, sha
from quaymaster.ecr import registry_app
from ecr_serve import serving


class Counting:
    """ASGI wrapper counting requests by (method, kind) to see what a client sent."""

    def __init__(self, app):
        self.app, self.calls = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            kind = "upload" if "/blobs/uploads/" in scope["path"] else scope["path"].split("/")[-2]
            self.calls.append((scope["method"], kind))
        await self.app(scope, receive, send)

    def count(self, method, kind):
        return sum(1 for c in self.calls if c == (method, kind))


def oras_client(url, registry, principal=None):
    host = url.split("//")[1]
    client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    client.auth.set_basic_auth("AWS", password_of(registry, principal))
    return client, host


def test_oras_push_pull_list_and_dedup(registry, tmp_path, monkeypatch):
    registry.create_repository({"repositoryName": "team/artifacts"})
    counting = Counting(registry_app(registry, allow_all))
    files = {"model.bin": os.urandom(300_000), "notes.txt": b"hello registry\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    with serving(counting) as url:
        client, host = oras_client(url, registry)
        assert client.push(target=f"{host}/team/artifacts:v1", files=list(files)).status_code == 201
        uploads, written = counting.count("POST", "upload"), registry.blobs.blobs_written
        assert uploads >= 3 and written == 3            # two files and the empty config
        assert client.push(target=f"{host}/team/artifacts:v2", files=list(files)).status_code == 201
        assert counting.count("POST", "upload") == uploads   # every blob was already there
        assert registry.blobs.blobs_written == written
        assert client.get_tags(f"{host}/team/artifacts") == ["v1", "v2"]
        out = tmp_path / "out"
        pulled = client.pull(target=f"{host}/team/artifacts:v1", outdir=str(out))
    assert sorted(os.path.basename(p) for p in pulled) == sorted(files)
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    images = registry.describe_images({"repositoryName": "team/artifacts"})["imageDetails"]
    assert len(images) == 1 and images[0]["imageTags"] == ["v1", "v2"]
    assert images[0]["imageSizeInBytes"] == sum(len(d) for d in files.values())
    assert "lastRecordedPullTime" in images[0]


def test_push_denied_by_the_callback_changes_nothing(registry, tmp_path, monkeypatch):
    registry.create_repository({"repositoryName": "locked"})
    (tmp_path / "f.txt").write_bytes(b"data")
    monkeypatch.chdir(tmp_path)
    with serving(registry_app(registry, deny_pushes)) as url:
        client, host = oras_client(url, registry)
        with pytest.raises(Exception):
            client.push(target=f"{host}/locked:v1", files=["f.txt"])
        response = requests.post(f"{url}/v2/locked/blobs/uploads/",
                                 headers=_auth(registry))
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "DENIED"
        assert "ecr:InitiateLayerUpload" in response.json()["errors"][0]["message"]
    assert registry.repositories["locked"].images == {}
    assert registry.blobs.blobs_written == 0


def _auth(registry, principal=None):
    token = registry.get_authorization_token({}, principal=principal)
    return {"Authorization": "Basic " + token["authorizationData"][0]["authorizationToken"]}


@pytest.fixture
def http(registry):
    registry.create_repository({"repositoryName": "proto/app"})
    with serving(registry_app(registry, allow_all)) as url:
        session = requests.Session()
        session.headers.update(_auth(registry))
        yield url, session


def _error(response):
    return response.json()["errors"][0]["code"]


def test_authentication(registry, http, clock):
    url, session = http
    assert requests.get(f"{url}/v2/").status_code == 401
    challenge = requests.get(f"{url}/v2/").headers
    assert "Basic" in challenge["WWW-Authenticate"]
    assert challenge["Docker-Distribution-API-Version"] == "registry/2.0"
    bad = base64.b64encode(b"AWS:not-a-token").decode()
    assert requests.get(f"{url}/v2/", headers={"Authorization": "Basic " + bad}).status_code == 401
    assert session.get(f"{url}/v2/").status_code == 200
    clock.advance(12 * 3600)   # tokens live 12 hours of the registry's clock
    response = session.get(f"{url}/v2/")
    assert response.status_code == 401 and _error(response) == "UNAUTHORIZED"


def _monolithic(url, session, name, data, digest=None):
    return session.post(f"{url}/v2/{name}/blobs/uploads/", params={"digest": digest or sha(data)},
                        data=data)


def test_blob_uploads_monolithic_chunked_and_verified(registry, http):
    url, session = http
    data = os.urandom(5000)
    assert _monolithic(url, session, "proto/app", data).status_code == 201
    head = session.head(f"{url}/v2/proto/app/blobs/{sha(data)}")
    assert head.status_code == 200 and head.headers["Content-Length"] == "5000"
    assert session.get(f"{url}/v2/proto/app/blobs/{sha(data)}").content == data
    ranged = session.get(f"{url}/v2/proto/app/blobs/{sha(data)}", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == data[10:20]
    # chunked: POST, PATCH with Content-Range, a PATCH out of order refused, PUT
    chunked = os.urandom(3000)
    location = session.post(f"{url}/v2/proto/app/blobs/uploads/").headers["Location"]
    first = session.patch(url + location, data=chunked[:1000],
                          headers={"Content-Range": "0-999", "Content-Type": "application/octet-stream"})
    assert first.status_code == 202 and first.headers["Range"] == "0-999"
    skipped = session.patch(url + location, data=chunked[2000:], headers={"Content-Range": "2000-2999"})
    assert skipped.status_code == 416
    session.patch(url + location, data=chunked[1000:2000], headers={"Content-Range": "1000-1999"})
    done = session.put(url + location, params={"digest": sha(chunked)}, data=chunked[2000:])
    assert done.status_code == 201 and done.headers["Docker-Content-Digest"] == sha(chunked)
    assert session.get(f"{url}/v2/proto/app/blobs/{sha(chunked)}").content == chunked
    # a wrong digest is DIGEST_INVALID and stores nothing
    written = registry.blobs.blobs_written
    wrong = _monolithic(url, session, "proto/app", b"abc", digest=sha(b"abd"))
    assert wrong.status_code == 400 and _error(wrong) == "DIGEST_INVALID"
    assert registry.blobs.blobs_written == written and not registry.blobs.has(sha(b"abc"))
    unknown = session.get(f"{url}/v2/proto/app/blobs/{sha(b'nothing')}")
    assert unknown.status_code == 404 and _error(unknown) == "BLOB_UNKNOWN"
    missing_repo = session.head(f"{url}/v2/nope/blobs/{sha(data)}")
    assert missing_repo.status_code == 404


def test_cross_repository_mount_shares_one_blob(registry, http):
    url, session = http
    registry.create_repository({"repositoryName": "proto/other"})
    data = os.urandom(1000)
    _monolithic(url, session, "proto/app", data)
    mounted = session.post(f"{url}/v2/proto/other/blobs/uploads/",
                           params={"mount": sha(data), "from": "proto/app"})
    assert mounted.status_code == 201
    assert session.get(f"{url}/v2/proto/other/blobs/{sha(data)}").content == data
    assert registry.blobs.blobs_written == 1
    fallback = session.post(f"{url}/v2/proto/other/blobs/uploads/",
                            params={"mount": sha(b"unknown"), "from": "proto/app"})
    assert fallback.status_code == 202   # nothing to mount: an ordinary upload starts


def _push_manifest(url, session, name, ref, layers):
    config = b"{}"
    for blob in [config, *layers]:
        _monolithic(url, session, name, blob)
    body = manifest_for(config, layers).encode()
    return session.put(f"{url}/v2/{name}/manifests/{ref}", data=body,
                       headers={"Content-Type": OCI}), body


def test_manifests_by_tag_and_digest(registry, http):
    url, session = http
    response, body = _push_manifest(url, session, "proto/app", "v1", [b"layer-one"])
    assert response.status_code == 201 and response.headers["Docker-Content-Digest"] == sha(body)
    for ref in ("v1", sha(body)):
        got = session.get(f"{url}/v2/proto/app/manifests/{ref}", headers={"Accept": OCI})
        assert got.content == body and got.headers["Content-Type"] == OCI
        assert session.head(f"{url}/v2/proto/app/manifests/{ref}").headers[
            "Docker-Content-Digest"] == sha(body)
    unknown = session.get(f"{url}/v2/proto/app/manifests/v9")
    assert unknown.status_code == 404 and _error(unknown) == "MANIFEST_UNKNOWN"
    wrong = session.put(f"{url}/v2/proto/app/manifests/{sha(b'x')}", data=body,
                        headers={"Content-Type": OCI})
    assert _error(wrong) == "DIGEST_INVALID"
    dangling = manifest_for(b"{}", [b"never-uploaded"]).encode()
    refused = session.put(f"{url}/v2/proto/app/manifests/v2", data=dangling,
                          headers={"Content-Type": OCI})
    assert refused.status_code == 400 and _error(refused) == "MANIFEST_BLOB_UNKNOWN"
    invalid = session.put(f"{url}/v2/proto/app/manifests/v2", data=b"{not json",
                          headers={"Content-Type": OCI})
    assert _error(invalid) == "MANIFEST_INVALID"
    bad_tag = session.put(f"{url}/v2/proto/app/manifests/-bad", data=body,
                          headers={"Content-Type": OCI})
    assert _error(bad_tag) == "TAG_INVALID"
    assert _error(session.get(f"{url}/v2/missing/manifests/v1")) == "NAME_UNKNOWN"
    # delete by digest removes the image and its tags
    assert session.delete(f"{url}/v2/proto/app/manifests/{sha(body)}").status_code == 202
    assert session.get(f"{url}/v2/proto/app/manifests/v1").status_code == 404


def test_immutable_tags_refused_over_the_protocol(registry, http):
    url, session = http
    registry.put_image_tag_mutability({"repositoryName": "proto/app",
                                       "imageTagMutability": "IMMUTABLE"})
    first, _ = _push_manifest(url, session, "proto/app", "stable", [b"a"])
    again, _ = _push_manifest(url, session, "proto/app", "stable", [b"a"])
    assert first.status_code == 201 and again.status_code == 201   # same digest: no move
    moved, _ = _push_manifest(url, session, "proto/app", "stable", [b"b"])
    assert moved.status_code == 400 and _error(moved) == "TAG_INVALID"
    assert "immutable" in moved.json()["errors"][0]["message"]


def test_tags_list_pagination(registry, http):
    url, session = http
    for tag in ["c", "a", "e", "b", "d"]:
        _push_manifest(url, session, "proto/app", tag, [tag.encode()])
    everything = session.get(f"{url}/v2/proto/app/tags/list").json()
    assert everything == {"name": "proto/app", "tags": ["a", "b", "c", "d", "e"]}
    page = session.get(f"{url}/v2/proto/app/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["a", "b"] and 'rel="next"' in page.headers["Link"]
    rest = session.get(f"{url}/v2/proto/app/tags/list", params={"n": 2, "last": "b"})
    assert rest.json()["tags"] == ["c", "d"]
    tail = session.get(f"{url}/v2/proto/app/tags/list", params={"n": 5, "last": "d"})
    assert tail.json()["tags"] == ["e"] and "Link" not in tail.headers


def test_pull_only_principal(registry, http):
    """A callback granting one principal pulls only: pulls work, pushes are DENIED."""
    url, session = http
    _push_manifest(url, session, "proto/app", "v1", [b"shared"])
    reader = "arn:aws:iam::123456789012:user/reader"

    def reader_policy(principal, action, arn):
        return principal != reader or action in {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                                 "ecr:BatchCheckLayerAvailability", "ecr:ListImages"}
    with serving(registry_app(registry, reader_policy)) as url2:
        headers = _auth(registry, reader)
        assert requests.get(f"{url2}/v2/proto/app/manifests/v1", headers=headers).status_code == 200
        push = requests.put(f"{url2}/v2/proto/app/manifests/v2", headers=headers, data=b"{}")
        assert push.status_code == 403 and _error(push) == "DENIED"
        assert reader in push.json()["errors"][0]["message"]
        delete = requests.delete(f"{url2}/v2/proto/app/manifests/v1", headers=headers)
        assert delete.status_code == 403
    assert "v1" in registry.repositories["proto/app"].image_tags


def test_docker_index_refers_to_images(registry, http):
    url, session = http
    _, child = _push_manifest(url, session, "proto/app", "amd64", [b"amd64-layer"])
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": OCI, "digest": sha(child),
                                       "size": len(child)}]}).encode()
    put = session.put(f"{url}/v2/proto/app/manifests/multi", data=index,
                      headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    assert put.status_code == 201
    detail = registry.describe_images({"repositoryName": "proto/app",
                                       "imageIds": [{"imageTag": "multi"}]})["imageDetails"][0]
    assert detail["imageSizeInBytes"] == len(b"amd64-layer")
    refused = session.delete(f"{url}/v2/proto/app/manifests/{sha(child)}")
    assert refused.status_code == 403   # still referenced by the index


SEED_PUSH_POLICY = {"ecr:CompleteLayerUpload", "ecr:GetAuthorizationToken", "ecr:UploadLayerPart",
                    "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"}


def test_seed_push_policy_pushes_but_does_not_delete(registry, tmp_path, monkeypatch):
    """The seed's push policy as the callback: oras pushes; deleting or pulling is DENIED."""
    pusher = "arn:aws:iam::123456789012:user/pusher"

    def push_policy(principal, action, arn):
        return principal == pusher and action in SEED_PUSH_POLICY

    registry.create_repository({"repositoryName": "seed/app"})
    (tmp_path / "app.tar").write_bytes(os.urandom(2048))
    monkeypatch.chdir(tmp_path)
    with serving(registry_app(registry, push_policy)) as url:
        client, host = oras_client(url, registry, pusher)
        assert client.push(target=f"{host}/seed/app:v1", files=["app.tar"]).status_code == 201
        headers = _auth(registry, pusher)
        digest = registry.repositories["seed/app"].image_tags["v1"]
        delete = requests.delete(f"{url}/v2/seed/app/manifests/{digest}", headers=headers)
        assert delete.status_code == 403 and "ecr:BatchDeleteImage" in delete.text
        pull = requests.get(f"{url}/v2/seed/app/manifests/v1", headers=headers)
        assert pull.status_code == 403 and "ecr:BatchGetImage" in pull.text
    assert "v1" in registry.repositories["seed/app"].image_tags


def test_no_request_makes_a_server_error(registry, http):
    """Random paths, methods, queries and bodies: always a spec answer, never a 500."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    url, session = http
    data = b"known blob"
    _monolithic(url, session, "proto/app", data)
    parts = st.sampled_from(["proto", "app", "blobs", "uploads", "manifests", "tags", "list",
                             sha(data), "sha256:xyz", "v1", "..", "%2e%2e", "", "_catalog", "A"])
    paths = st.lists(parts, max_size=6).map("/".join)
    queries = st.dictionaries(st.sampled_from(["digest", "mount", "from", "n", "last"]),
                              st.sampled_from([sha(data), "x", "-1", "proto/app", ""]), max_size=3)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]), paths, queries,
           st.binary(max_size=64), st.sampled_from([None, "0-3", "5-1", "x"]))
    def one(method, path, query, body, content_range):
        headers = {"Content-Range": content_range} if content_range else {}
        response = session.request(method, f"{url}/v2/{path}", params=query, data=body,
                                   headers=headers)
        assert response.status_code < 500, (method, path, query, response.text)

    one()
    assert registry.blobs.get(sha(data)) == data


def test_mounted_under_v2_in_another_app(registry):
    """The endpoint may mount the app with Starlette's Mount("/v2", ...) or at the root."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    registry.create_repository({"repositoryName": "mounted/app"})
    for routes in ([Mount("/v2", app=registry_app(registry, allow_all))],
                   [Mount("", app=registry_app(registry, allow_all))]):
        outer = Starlette(routes=[Route("/", lambda r: PlainTextResponse("ecs"), methods=["POST"]),
                                  *routes])
        with serving(outer) as url:
            session = requests.Session()
            session.headers.update(_auth(registry))
            assert session.post(f"{url}/").text == "ecs"
            assert session.get(f"{url}/v2/").status_code == 200
            created = _monolithic(url, session, "mounted/app", b"via mount")
            assert created.status_code == 201
            assert session.get(url + created.headers["Location"]).content == b"via mount"
