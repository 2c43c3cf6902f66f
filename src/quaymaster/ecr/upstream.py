"""Fetching an image from an upstream registry over the distribution API (pull-through cache).

Plain ``urllib``: GET the manifest (with the media types we store), then each
blob it names that the caller does not already store (and, for an index,
each manifest it lists), verifying every digest. Nothing here touches a
registry's state: the caller caches the result, so the network wait can run
off the server's event loop.

Authentication follows the registry's challenge, as docker does: a 401 with
``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` gets a token
from the realm (anonymously, or with the rule's credentials as Basic auth)
and the request is sent again with it (Docker Hub, ghcr.io, quay.io ask this
even for anonymous pulls); a ``Basic`` challenge is answered with the
credentials when there are any. Credentials never follow a redirect (a blob
GET redirected to a CDN or a presigned S3 URL must not carry them).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

from quaymaster.ecr.manifests import MEDIA_TYPES, digest_of, parse_manifest
from quaymaster.errors import QuaymasterError

TIMEOUT = 30
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class UpstreamError(QuaymasterError):
    """The upstream registry did not give the image (unreachable, refused, or bad content)."""


@dataclasses.dataclass
class FetchedImage:
    raw: bytes
    media_type: str
    blobs: dict[str, bytes]          # the blobs downloaded (those the caller lacked), by digest
    children: list["FetchedImage"]
    blob_digests: tuple[str, ...] = ()   # every blob the manifest names, downloaded or not


def base_url(upstream: str) -> str:
    """``http://host:port`` stays as given; a bare host means HTTPS, as ECR's upstreams are."""
    upstream = upstream.rstrip("/")
    return upstream if "://" in upstream else "https://" + upstream


def fetch_image(upstream: str, name: str, reference: str,
                credentials: tuple[str, str] | None = None,
                have: Callable[[str], bool] = lambda digest: False) -> FetchedImage:
    """The image ``name:reference`` (tag or digest) of the registry at ``upstream``.

    ``have(digest)`` says which blobs the caller already stores: those are
    not downloaded again (content addressing makes them the same bytes).
    """
    return _fetch(_Session(credentials), f"{base_url(upstream)}/v2/{name}", name, reference, have)


def _fetch(session: "_Session", root: str, name: str, reference: str, have) -> FetchedImage:
    raw, media_type = session.get(f"{root}/manifests/{reference}", accept=", ".join(MEDIA_TYPES))
    if reference.startswith("sha256:") and digest_of(raw) != reference:
        raise UpstreamError(f"upstream manifest of {name}@{reference} has digest {digest_of(raw)}")
    try:
        manifest = parse_manifest(raw, media_type if media_type in MEDIA_TYPES else None)
    except Exception as exc:
        raise UpstreamError(f"upstream manifest of {name}:{reference} is invalid: {exc}") from None
    children = [_fetch(session, root, name, child, have) for child in dict.fromkeys(manifest.children)]
    digests = tuple(dict.fromkeys(manifest.blobs))
    blobs = {}
    for digest in digests:
        if have(digest):
            continue
        data, _ = session.get(f"{root}/blobs/{digest}")
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise UpstreamError(f"upstream blob {digest} of {name} does not match its digest")
        blobs[digest] = data
    return FetchedImage(raw, manifest.media_type, blobs, children, digests)


class _Session:
    """GETs with the authorization the upstream's last challenge asked for."""

    def __init__(self, credentials: tuple[str, str] | None):
        self.credentials = credentials
        self.authorization: str | None = None   # what to send: learnt from a challenge

    def get(self, url: str, accept: str | None = None) -> tuple[bytes, str | None]:
        try:
            return self._get(url, accept)
        except urllib.error.HTTPError as exc:
            if exc.code != 401 or not self._answer(exc.headers.get("WWW-Authenticate", ""), url):
                raise UpstreamError(f"upstream answered {exc.code} for {url}") from None
        try:
            return self._get(url, accept)
        except urllib.error.HTTPError as exc:
            raise UpstreamError(f"upstream answered {exc.code} for {url}") from None

    def _get(self, url: str, accept: str | None) -> tuple[bytes, str | None]:
        request = urllib.request.Request(url)
        if accept:
            request.add_header("Accept", accept)
        if self.authorization:
            request.add_unredirected_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.read(), response.headers.get("Content-Type")
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError) as exc:
            raise UpstreamError(f"upstream unreachable for {url}: {exc}") from None

    def _answer(self, challenge: str, url: str) -> bool:
        """Set the authorization a 401's challenge asks for; False when there is none to give."""
        scheme, _, rest = challenge.strip().partition(" ")
        if scheme.lower() == "basic" and self.credentials and not self.authorization:
            self.authorization = "Basic " + _basic(self.credentials)
            return True
        if scheme.lower() != "bearer":
            return False
        params = dict(_CHALLENGE_PARAM.findall(rest))
        if "realm" not in params:
            return False
        token = self._token(params)
        if token is None or self.authorization == "Bearer " + token:
            return False   # the same token refused again: give up instead of looping
        self.authorization = "Bearer " + token
        return True

    def _token(self, params: dict) -> str | None:
        query = urllib.parse.urlencode({k: params[k] for k in ("service", "scope") if k in params})
        request = urllib.request.Request(params["realm"] + ("?" + query if query else ""))
        if self.credentials:
            request.add_unredirected_header("Authorization", "Basic " + _basic(self.credentials))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise UpstreamError(f"upstream token service {params['realm']} failed: {exc}") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        return token if isinstance(token, str) and token else None


def _basic(credentials: tuple[str, str]) -> str:
    return base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
