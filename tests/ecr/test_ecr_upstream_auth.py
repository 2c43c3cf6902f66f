"""Pull-through from upstreams that authenticate as Docker Hub does: a Bearer challenge
answered from the token realm, blob GETs redirected to a CDN that must not see the
credentials, and blobs the cache already stores not downloaded again.

The upstream is our own /v2/ app behind a small token gate (the Docker token protocol,
not a stand-in for any of our components)."""

import base64

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ecr_helpers import allow_all, password_of, push, sha
from ecr_serve import serving
from quaymaster.ecr import ECRRegistry, registry_app
from quaymaster.errors import ServiceError

SCOPE = "repository:lib/app:pull"
CREDENTIALS = ("puller", "s3cret")


class TokenGate:
    """ASGI: /token issues a Bearer token for Basic CREDENTIALS; /v2/ needs it, and blob GETs
    are redirected to ``cdn``. Every request is recorded."""

    def __init__(self, inner, cdn: list):
        self.inner, self.cdn, self.seen = inner, cdn, []

    async def __call__(self, scope, receive, send):
        request = Request(scope, receive)
        self.seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/token":
            expected = "Basic " + base64.b64encode(":".join(CREDENTIALS).encode()).decode()
            ok = request.headers.get("authorization") == expected
            answer = JSONResponse({"token": "tok-" + request.query_params.get("scope", "")}
                                  if ok else {"error": "no"}, status_code=200 if ok else 401)
        elif request.headers.get("authorization") != f"Bearer tok-{SCOPE}":
            realm = f"http://{request.headers['host']}/token"
            answer = Response(status_code=401, headers={
                "WWW-Authenticate": f'Bearer realm="{realm}",service="gate",scope="{SCOPE}"'})
        elif "/blobs/" in request.url.path:
            answer = RedirectResponse(f"{self.cdn[0]}/cdn/{request.url.path.rsplit('/', 1)[1]}",
                                      status_code=307)
        else:
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            return await self.inner(dict(scope, headers=headers), receive, send)
        await answer(scope, receive, send)


def cdn_app(upstream: ECRRegistry, seen: list):
    async def blob(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        return Response(upstream.blobs.get(request.path_params["digest"]))
    return Starlette(routes=[Route("/cdn/{digest}", blob)])


@pytest.fixture
def gated_upstream(clock):
    upstream = ECRRegistry(account="210987654321", clock=clock)
    upstream.create_repository({"repositoryName": "lib/app"})
    cdn_url, cdn_seen = [], []
    gate = TokenGate(registry_app(upstream, allow_all, anonymous="anonymous"), cdn_url)
    with serving(cdn_app(upstream, cdn_seen)) as cdn, serving(gate) as url:
        cdn_url.append(cdn)
        yield upstream, url, gate, cdn_seen


def test_bearer_challenge_redirected_blobs_and_known_blobs(registry, gated_upstream):
    upstream, url, gate, cdn_seen = gated_upstream
    shared, first_only, second_only = b"base layer " * 50, b"app v1", b"app v2"
    v1 = push(upstream, "lib/app", [shared, first_only], tag="v1")
    v2 = push(upstream, "lib/app", [shared, second_only], tag="v2")
    registry.create_pull_through_cache_rule({"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": url})
    registry.upstream_credentials[url] = CREDENTIALS
    got = registry.batch_get_image({"repositoryName": "hub/lib/app", "imageIds": [{"imageTag": "v1"}]})
    assert got["images"][0]["imageId"]["imageDigest"] == v1
    assert "/token" in [path for path, _ in gate.seen]
    assert cdn_seen and all(auth is None for auth in cdn_seen)   # no credentials to the CDN
    blob_gets = len(cdn_seen)                                      # config + 2 layers
    assert blob_gets == 3
    registry.batch_get_image({"repositoryName": "hub/lib/app", "imageIds": [{"imageTag": "v2"}]})
    # v2 shares its config and base layer with v1: only its one new layer is downloaded
    assert len(cdn_seen) - blob_gets == 1
    with serving(registry_app(registry, allow_all)) as mine:
        layer = requests.get(f"{mine}/v2/hub/lib/app/blobs/{sha(second_only)}",
                             auth=("AWS", password_of(registry)))
        assert layer.content == second_only
    assert {d["imageDigest"] for d in registry.describe_images(
        {"repositoryName": "hub/lib/app"})["imageDetails"]} == {v1, v2}


def test_wrong_credentials_give_unable_to_get_upstream_image(registry, gated_upstream):
    upstream, url, _, _ = gated_upstream
    push(upstream, "lib/app", [b"layer"], tag="v1")
    registry.create_pull_through_cache_rule({"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": url})
    registry.upstream_credentials[url] = ("puller", "wrong")
    with pytest.raises(ServiceError) as info:
        registry.batch_get_image({"repositoryName": "hub/lib/app", "imageIds": [{"imageTag": "v1"}]})
    assert info.value.code == "UnableToGetUpstreamImageException"
    assert "hub/lib/app" not in registry.repositories        # nothing was cached
