"""Fetching an image from an upstream registry over the distribution API (pull-through cache).

Plain ``urllib``: GET the manifest (with the media types we store), then each
blob it names (and, for an index, each manifest it lists), verifying every
digest. Nothing here touches a registry's state: the caller caches the
result, so the network wait can run off the server's event loop.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import urllib.error
import urllib.request

from quaymaster.ecr.manifests import MEDIA_TYPES, digest_of, parse_manifest
from quaymaster.errors import QuaymasterError

TIMEOUT = 30


class UpstreamError(QuaymasterError):
    """The upstream registry did not give the image (unreachable, refused, or bad content)."""


@dataclasses.dataclass
class FetchedImage:
    raw: bytes
    media_type: str
    blobs: dict[str, bytes]
    children: list["FetchedImage"]


def base_url(upstream: str) -> str:
    """``http://host:port`` stays as given; a bare host means HTTPS, as ECR's upstreams are."""
    upstream = upstream.rstrip("/")
    return upstream if "://" in upstream else "https://" + upstream


def fetch_image(upstream: str, name: str, reference: str,
                credentials: tuple[str, str] | None = None) -> FetchedImage:
    """The image ``name:reference`` (tag or digest) of the registry at ``upstream``."""
    root = f"{base_url(upstream)}/v2/{name}"
    raw, media_type = _get(f"{root}/manifests/{reference}", credentials,
                           accept=", ".join(MEDIA_TYPES))
    if reference.startswith("sha256:") and digest_of(raw) != reference:
        raise UpstreamError(f"upstream manifest of {name}@{reference} has digest {digest_of(raw)}")
    try:
        manifest = parse_manifest(raw, media_type if media_type in MEDIA_TYPES else None)
    except Exception as exc:
        raise UpstreamError(f"upstream manifest of {name}:{reference} is invalid: {exc}") from None
    children = [fetch_image(upstream, name, child, credentials)
                for child in dict.fromkeys(manifest.children)]
    blobs = {}
    for digest in dict.fromkeys(manifest.blobs):
        data, _ = _get(f"{root}/blobs/{digest}", credentials)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise UpstreamError(f"upstream blob {digest} of {name} does not match its digest")
        blobs[digest] = data
    return FetchedImage(raw, manifest.media_type, blobs, children)


def _get(url: str, credentials, accept: str | None = None) -> tuple[bytes, str | None]:
    request = urllib.request.Request(url)
    if accept:
        request.add_header("Accept", accept)
    if credentials:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read(), response.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        raise UpstreamError(f"upstream answered {exc.code} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UpstreamError(f"upstream unreachable for {url}: {exc}") from None
