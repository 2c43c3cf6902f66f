"""Image manifests: Docker v2 schema 2, OCI image manifest and index (ECR, section 2).

An image is identified by the sha256 of its manifest bytes exactly as pushed.
Parsing finds what the registry must check and report: the blobs (config and
layers) an image manifest refers to, the manifests an index refers to, the
media type, the artifact type and the size (the sum of the layer sizes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from quaymaster.ecr.names import is_digest
from quaymaster.errors import InvalidInputError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
MEDIA_TYPES = IMAGE_TYPES + INDEX_TYPES


class ManifestError(InvalidInputError):
    """A manifest the registry cannot accept (registry API: MANIFEST_INVALID)."""


@dataclasses.dataclass(frozen=True)
class Manifest:
    raw: bytes
    digest: str
    media_type: str
    blobs: tuple[str, ...]            # config then layers (image manifests)
    children: tuple[str, ...]         # referenced manifests (indexes)
    layer_size: int                   # sum of layer sizes (image manifests)
    artifact_media_type: str | None
    subject: str | None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def digest_of(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    """Parse and check a manifest; ``media_type`` is the declared one (header or request)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest is not JSON: {exc}", field="imageManifest") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest must be a JSON object", field="imageManifest")
    kind = _media_type(doc, media_type)
    if not isinstance(doc.get("artifactType", ""), str):
        raise ManifestError("artifactType must be a string", field="artifactType",
                            value=doc.get("artifactType"))
    subject = doc.get("subject")
    subject_digest = _descriptor(subject, "subject")[0] if subject is not None else None
    if kind in INDEX_TYPES:
        entries = _descriptor_list(doc, "manifests")
        return Manifest(raw, digest_of(raw), kind, (), tuple(d for d, _ in entries), 0,
                        doc.get("artifactType"), subject_digest)
    if "config" not in doc:
        raise ManifestError("image manifest has no config", field="config")
    config_digest, _ = _descriptor(doc["config"], "config")
    layers = _descriptor_list(doc, "layers", required=kind == DOCKER_MANIFEST)
    artifact = doc.get("artifactType") or doc["config"].get("mediaType")
    if artifact is not None and not isinstance(artifact, str):
        raise ManifestError("config.mediaType must be a string", field="config", value=artifact)
    return Manifest(raw, digest_of(raw), kind, (config_digest, *(d for d, _ in layers)), (),
                    sum(size for _, size in layers), artifact, subject_digest)


def _media_type(doc: dict, declared: str | None) -> str:
    inner = doc.get("mediaType")
    if declared is not None and inner is not None and declared != inner:
        raise ManifestError(f"declared media type {declared!r} differs from the manifest's "
                            f"mediaType {inner!r}", field="mediaType", value=declared)
    kind = declared or inner
    if kind is not None and not isinstance(kind, str):
        raise ManifestError(f"mediaType must be a string, not {kind!r}", field="mediaType")
    if kind is None:  # OCI allows leaving mediaType out; the shape says which it is
        kind = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if kind not in MEDIA_TYPES:
        raise ManifestError(f"unsupported manifest media type {kind!r}", field="mediaType",
                            value=kind)
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"schemaVersion must be 2, not {doc.get('schemaVersion')!r}",
                            field="schemaVersion", value=doc.get("schemaVersion"))
    return kind


def _descriptor(desc, where: str) -> tuple[str, int]:
    if not isinstance(desc, dict):
        raise ManifestError(f"{where} must be a descriptor object", field=where)
    digest, size = desc.get("digest"), desc.get("size")
    if not is_digest(digest):
        raise ManifestError(f"{where}.digest {digest!r} is not a sha256 digest", field=where,
                            value=digest)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where}.size {size!r} must be a non-negative integer",
                            field=where, value=size)
    return digest, size


def _descriptor_list(doc: dict, key: str, required: bool = True) -> list[tuple[str, int]]:
    items = doc.get(key)
    if items is None and not required:
        return []
    if not isinstance(items, list):
        raise ManifestError(f"{key} must be a list of descriptors", field=key)
    return [_descriptor(item, f"{key}[{i}]") for i, item in enumerate(items)]
