"""Blob endpoints of /v2/: HEAD/GET blobs, uploads (monolithic, chunked), cross-repository mount."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from quaymaster.ecr.blobs import DigestMismatchError
from quaymaster.ecr.names import is_digest
from quaymaster.ecr.registry_http import Context, RegistryError
from quaymaster.ecr.writes import begin_upload, end_upload, hold_blob, upload_part

_RANGE = re.compile(r"^(\d+)-(\d+)$")
_BYTES = re.compile(r"^bytes=(\d+)-(\d*)$")


def _blob_of(ctx: Context, name: str, digest: str):
    repo = ctx.repository(name)
    if not is_digest(digest):
        raise RegistryError("DIGEST_INVALID", f"invalid digest {digest!r}", detail={"digest": digest})
    if digest not in repo.layers or not ctx.registry.blobs.has(digest):
        raise RegistryError("BLOB_UNKNOWN", f"blob {digest} is not in repository '{name}'",
                            detail={"digest": digest})
    return repo


async def get_blob(ctx: Context, request: Request, name: str, digest: str) -> Response:
    head = request.method == "HEAD"
    ctx.require("ecr:BatchCheckLayerAvailability" if head else "ecr:GetDownloadUrlForLayer", name)
    _blob_of(ctx, name, digest)
    blobs = ctx.registry.blobs
    size = blobs.size(digest)
    headers = {"Docker-Content-Digest": digest, "Content-Length": str(size),
               "Accept-Ranges": "bytes"}
    if head:
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    start, end, status = 0, size, 200
    wanted = _BYTES.match(request.headers.get("range", ""))
    if wanted:
        start = int(wanted.group(1))
        end = min(size, int(wanted.group(2)) + 1) if wanted.group(2) else size
        if start >= size or start >= end:
            raise RegistryError("RANGE_INVALID", f"range {request.headers['range']} outside 0-{size - 1}")
        status = 206
        headers.update({"Content-Range": f"bytes {start}-{end - 1}/{size}",
                        "Content-Length": str(end - start)})
    return StreamingResponse(blobs.iter_bytes(digest, start, end), status_code=status,
                             headers=headers, media_type="application/octet-stream")


def _upload_headers(name: str, upload) -> dict:
    return {"Location": f"/v2/{name}/blobs/uploads/{upload.upload_id}",
            "Docker-Upload-UUID": upload.upload_id,
            "Range": f"0-{max(upload.size - 1, 0)}"}


def _created(name: str, digest: str) -> Response:
    return Response(status_code=201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                              "Docker-Content-Digest": digest})


async def start_upload(ctx: Context, request: Request, name: str) -> Response:
    ctx.require("ecr:InitiateLayerUpload", name)
    ctx.repository(name)
    registry = ctx.registry
    mount, source = request.query_params.get("mount"), request.query_params.get("from")
    if mount and source and _can_mount(ctx, mount, source):
        await ctx.write(hold_blob(name, mount))
        return _created(name, mount)
    upload = registry.begin_upload(name)
    digest = request.query_params.get("digest")
    if digest is None:   # a chunked upload: journaled before the client hears of it
        await ctx.write(begin_upload(name, upload.upload_id))
        return Response(status_code=202, headers=_upload_headers(name, upload))
    ctx.require("ecr:UploadLayerPart", name)
    ctx.require("ecr:CompleteLayerUpload", name)
    async for chunk in request.stream():
        upload.append(chunk)
    return await _finish(ctx, name, upload, digest, journaled=False)


def _can_mount(ctx: Context, digest: str, source: str) -> bool:
    """Whether a blob another repository holds can be mounted (else: a normal upload starts)."""
    source_repo = ctx.registry.repositories.get(source)
    if source_repo is None or digest not in source_repo.layers or not is_digest(digest):
        return False
    return ctx.authorize(ctx.principal, "ecr:GetDownloadUrlForLayer", ctx.arn(source))


def _upload_of(ctx: Context, name: str, upload_id: str):
    upload = ctx.registry.upload_for(name, upload_id)
    if upload is None:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"upload {upload_id!r} is not in progress for "
                                                   f"'{name}'")
    return upload


async def patch_upload(ctx: Context, request: Request, name: str, upload_id: str) -> Response:
    ctx.require("ecr:UploadLayerPart", name)
    ctx.repository(name)
    upload = _upload_of(ctx, name, upload_id)
    content_range = request.headers.get("content-range")
    if content_range:
        match = _RANGE.match(content_range.strip())
        if not match or int(match.group(1)) != upload.size:
            raise RegistryError("RANGE_INVALID",
                                f"Content-Range {content_range!r} does not continue the upload at "
                                f"byte {upload.size}", headers=_upload_headers(name, upload))
    async for chunk in request.stream():
        upload.append(chunk)
    upload.sync()   # the part's bytes on disk, and its new size journaled, before the 202
    await ctx.write(upload_part(name, upload.upload_id, upload.size))
    return Response(status_code=202, headers=_upload_headers(name, upload))


async def put_upload(ctx: Context, request: Request, name: str, upload_id: str) -> Response:
    ctx.require("ecr:CompleteLayerUpload", name)
    ctx.repository(name)
    upload = _upload_of(ctx, name, upload_id)
    digest = request.query_params.get("digest")
    async for chunk in request.stream():
        upload.append(chunk)
    return await _finish(ctx, name, upload, digest)


async def _finish(ctx: Context, name: str, upload, digest: str | None, *, journaled: bool = True
                  ) -> Response:
    """The bytes go to the blob store (fsynced) first; the repository then holds them by a
    registry write, which the endpoint journals before the client hears 201. A ``journaled``
    upload (chunked: its BeginUpload is in the journal) ends in the journal too, whatever
    the outcome, so a replay does not leave it in progress."""
    registry = ctx.registry
    ended = [end_upload(name, upload.upload_id)] if journaled else []
    if digest is None or not is_digest(digest):
        registry.cancel_upload(upload.upload_id)
        await ctx.write(*ended)
        raise RegistryError("DIGEST_INVALID", f"the upload needs a sha256 ?digest=, not {digest!r}")
    try:
        registry.commit_upload(upload.upload_id, digest)
    except DigestMismatchError as exc:
        await ctx.write(*ended)
        raise RegistryError("DIGEST_INVALID", str(exc), detail={"digest": digest}) from None
    await ctx.write(*ended, hold_blob(name, digest))
    return _created(name, digest)


async def upload_status(ctx: Context, request: Request, name: str, upload_id: str) -> Response:
    ctx.require("ecr:InitiateLayerUpload", name)
    upload = _upload_of(ctx, name, upload_id)
    if request.method == "DELETE":
        ctx.registry.cancel_upload(upload_id)
        await ctx.write(end_upload(name, upload_id))
        return Response(status_code=204)
    return Response(status_code=204, headers=_upload_headers(name, upload))
