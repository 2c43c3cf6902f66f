"""The registry API under /v2/ (OCI distribution spec) as a Starlette app (ECR, section 2).

``registry_app(registry, authorize)`` returns an ASGI app serving ``/v2/...``;
the endpoint mounts it at the root or with ``Mount("/v2", app)``. Clients authenticate
with Basic auth carrying GetAuthorizationToken's ``AWS:<password>``; each
request is then checked with ``authorize(principal, action, repository_arn)``
for the ECR action it amounts to (a manifest GET is ``ecr:BatchGetImage``, a
manifest PUT ``ecr:PutImage``, ...). Errors are the spec's JSON error codes.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quaymaster.ecr import registry_blobs as blobs
from quaymaster.ecr.manifests import digest_of
from quaymaster.ecr.names import REPOSITORY_NAME, is_digest, is_tag
from quaymaster.ecr.registry_http import (SERVICE_TO_OCI, Authorize, Context, RegistryError, Writer,
                                          apply_directly)
from quaymaster.ecr.repository import ImageRecord
from quaymaster.ecr.upstream import UpstreamError
from quaymaster.ecr.writes import put_manifest as put_manifest_write
from quaymaster.errors import ServiceError

Select = Callable[[Any], Awaitable[Any]]   # select(Host header) -> the registry it names
MAX_MANIFEST = 4 * 1024 * 1024
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}  # docker's ping looks for it
_PATH = re.compile(r"^(?P<name>.+?)/(?:(?P<uploads>blobs/uploads/(?P<upload>[^/]*))|"
                   r"blobs/(?P<digest>[^/]+)|manifests/(?P<ref>[^/]+)|(?P<tags>tags/list))$")


def registry_app(registry, authorize: Authorize, *, anonymous: str | None = None,
                 realm: str | None = None, writer: Writer = apply_directly,
                 select: Select | None = None):
    """The /v2/ app serving ``registry``.

    ``authorize(principal, action, repository_arn) -> bool`` decides every
    request (the IAM engine plugs in here). ``anonymous``, when given, is the
    principal of requests without credentials (a public upstream); without it
    they are UNAUTHORIZED. ``writer(registry, writes)`` applies the registry
    writes of pushes and deletes (``quaymaster.ecr.writes``; the endpoint's
    journals them). ``select(host_header)``, when given, is awaited for the
    registry of each request (one server, every region): ``registry`` is then
    only the default.
    """

    async def dispatch(request: Request) -> Response:
        try:
            target = registry if select is None else await select(request.headers.get("host"))
            ctx = _context(request, target)
            return await _route(ctx, request, request.path_params["rest"])
        except RegistryError as exc:
            return exc.response()
        except ServiceError as exc:
            return RegistryError(SERVICE_TO_OCI.get(exc.code, "UNSUPPORTED"), exc.message,
                                 status=None if exc.code in SERVICE_TO_OCI else 400).response()

    def _context(request: Request, target) -> Context:
        challenge = RegistryError("UNAUTHORIZED", "authentication required: Basic auth with the "
                                  "token of ecr GetAuthorizationToken",
                                  headers={"WWW-Authenticate": f'Basic realm="{realm or target.endpoint}"',
                                           **API_VERSION})
        principal = target.authenticate(request.headers.get("authorization"))
        if principal is not None:
            return Context(target, principal, authorize, writer)
        if request.headers.get("authorization") is None and anonymous is not None \
                and request.path_params["rest"] != "":
            # What the anonymous principal may not do asks for credentials (401), so a client
            # that logs in only when challenged still pushes; the ping always challenges, so
            # docker learns to send them.
            return Context(target, anonymous, authorize, writer, challenge=challenge)
        raise challenge

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return _FullPath(Starlette(routes=[Route("/v2/{rest:path}", dispatch, methods=methods)]))


class _FullPath:
    """Route on the request's full path, so the app works at the root or under ``Mount("/v2")``.

    A Starlette ``Mount`` hands the mounted app a ``root_path``; registry
    paths are absolute (``/v2/<name>/...``, and the ``Location`` headers the
    app sends), so the prefix is put back before routing.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("root_path"):
            scope = dict(scope, root_path="")
        await self.app(scope, receive, send)


async def _route(ctx: Context, request: Request, rest: str) -> Response:
    if rest == "":
        return JSONResponse({}, headers=API_VERSION)
    match = _PATH.match(rest)
    if match is None:
        raise RegistryError("UNSUPPORTED", f"no registry route for /v2/{rest}", status=404)
    name, method = match["name"], request.method
    if not REPOSITORY_NAME.fullmatch(name) or len(name) > 256:
        raise RegistryError("NAME_INVALID", f"invalid repository name {name!r}")
    ref = match["upload"] if match["uploads"] is not None else match["ref"]
    if match["uploads"] is not None and ref == "":
        if method == "POST":
            return await blobs.start_upload(ctx, request, name)
    elif match["uploads"] is not None:
        handler = {"PATCH": blobs.patch_upload, "PUT": blobs.put_upload,
                   "GET": blobs.upload_status, "DELETE": blobs.upload_status}.get(method)
        if handler is not None:
            return await handler(ctx, request, name, ref)
    elif match["digest"] is not None:
        if method in ("GET", "HEAD"):
            return await blobs.get_blob(ctx, request, name, match["digest"])
    elif ref is not None:
        on_manifest = {"GET": get_manifest, "HEAD": get_manifest, "PUT": put_manifest,
                       "DELETE": delete_manifest}.get(method)
        if on_manifest is not None:
            return await on_manifest(ctx, request, name, ref)
    elif method == "GET":
        return await list_tags(ctx, request, name)
    raise RegistryError("UNSUPPORTED", f"{method} is not supported on /v2/{rest}")


def _check_reference(ref: str) -> None:
    if ref.startswith("sha256:") or ":" in ref:
        if not is_digest(ref):
            raise RegistryError("DIGEST_INVALID", f"invalid digest {ref!r}", detail={"digest": ref})
    elif not is_tag(ref):
        raise RegistryError("TAG_INVALID", f"invalid tag {ref!r}", detail={"tag": ref})


def _image_id(ref: str) -> dict:
    return {"imageDigest": ref} if is_digest(ref) else {"imageTag": ref}


async def _find_for_pull(ctx: Context, name: str, ref: str) -> ImageRecord:
    registry = ctx.registry
    repo = registry.repositories.get(name)
    found = registry._resolve(repo, _image_id(ref)) if repo is not None else None
    if isinstance(found, ImageRecord):
        return found
    if registry.pull_through_source(name) is None:
        ctx.repository(name)   # NAME_UNKNOWN before MANIFEST_UNKNOWN
        raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref!r} is not in repository '{name}'",
                            detail={"name": name, "reference": ref})
    try:  # the network wait and the blob writes run off the event loop
        fetched = await run_in_threadpool(registry.fetch_upstream, name, ref)
        writes = await run_in_threadpool(registry.cache_writes, name, ref, fetched)
    except UpstreamError as exc:
        raise RegistryError("MANIFEST_UNKNOWN", f"not cached and the upstream failed: {exc}",
                            detail={"name": name, "reference": ref}) from None
    return (await ctx.write(*writes))[-1]


async def get_manifest(ctx: Context, request: Request, name: str, ref: str) -> Response:
    ctx.require("ecr:BatchGetImage", name)
    _check_reference(ref)
    record = await _find_for_pull(ctx, name, ref)
    headers = {"Docker-Content-Digest": record.digest,
               "Content-Length": str(len(record.manifest.raw))}
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=record.manifest.media_type)
    record.last_pull = ctx.registry.now()
    return Response(record.manifest.raw, headers=headers, media_type=record.manifest.media_type)


async def put_manifest(ctx: Context, request: Request, name: str, ref: str) -> Response:
    ctx.require("ecr:PutImage", name)
    ctx.repository(name)
    _check_reference(ref)
    raw = await _read_limited(request, MAX_MANIFEST)
    if is_digest(ref) and digest_of(raw) != ref:
        raise RegistryError("DIGEST_INVALID", f"manifest digest {digest_of(raw)} is not {ref}",
                            detail={"digest": ref})
    media_type = request.headers.get("content-type", "").split(";")[0].strip() or None
    [record] = await ctx.write(put_manifest_write(name, raw, media_type,
                                                  None if is_digest(ref) else ref))
    return Response(status_code=201, headers={"Location": f"/v2/{name}/manifests/{record.digest}",
                                              "Docker-Content-Digest": record.digest})


async def _read_limited(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RegistryError("SIZE_INVALID", f"manifest larger than {limit} bytes")
    return bytes(body)


async def delete_manifest(ctx: Context, request: Request, name: str, ref: str) -> Response:
    ctx.require("ecr:BatchDeleteImage", name)
    ctx.repository(name)
    _check_reference(ref)
    [result] = await ctx.write(("BatchDeleteImage",
                                {"repositoryName": name, "imageIds": [_image_id(ref)]}))
    if result["failures"]:
        failure = result["failures"][0]
        code = "MANIFEST_UNKNOWN" if failure["failureCode"] == "ImageNotFound" else "DENIED"
        raise RegistryError(code, failure["failureReason"], detail={"reference": ref})
    return Response(status_code=202)


async def list_tags(ctx: Context, request: Request, name: str) -> Response:
    ctx.require("ecr:ListImages", name)
    repo = ctx.repository(name)
    tags = sorted(repo.image_tags)
    last = request.query_params.get("last")
    if last is not None:
        tags = [t for t in tags if t > last]
    headers = {}
    n = request.query_params.get("n")
    if n is not None:
        if not n.isdigit():
            raise RegistryError("UNSUPPORTED", f"n must be a non-negative integer, not {n!r}",
                                status=400)
        if len(tags) > int(n):
            tags = tags[:int(n)]
            if tags:
                headers["Link"] = f'</v2/{name}/tags/list?n={n}&last={tags[-1]}>; rel="next"'
    return JSONResponse({"name": name, "tags": tags}, headers=headers)
