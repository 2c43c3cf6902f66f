"""What one repository holds: settings, images, tags, the blobs pushed to it."""

from __future__ import annotations

import dataclasses
from typing import Any

from quaymaster.ecr.manifests import Manifest


@dataclasses.dataclass
class ImageRecord:
    manifest: Manifest
    pushed_at: float
    size: int
    tags: set[str] = dataclasses.field(default_factory=set)
    last_pull: float | None = None

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclasses.dataclass
class Repository:
    name: str
    arn: str
    uri: str
    registry_id: str
    created_at: float
    tag_mutability: str = "MUTABLE"
    mutability_exclusions: list = dataclasses.field(default_factory=list)
    scanning: dict = dataclasses.field(default_factory=lambda: {"scanOnPush": False})
    encryption: dict = dataclasses.field(default_factory=lambda: {"encryptionType": "AES256"})
    tags: dict[str, str] = dataclasses.field(default_factory=dict)   # resource tags
    policy: str | None = None
    lifecycle_policy: str | None = None
    lifecycle_updated: float | None = None
    preview: dict | None = None
    images: dict[str, ImageRecord] = dataclasses.field(default_factory=dict)   # by digest
    image_tags: dict[str, str] = dataclasses.field(default_factory=dict)       # tag -> digest
    layers: set[str] = dataclasses.field(default_factory=set)                  # blobs held

    def describe(self, to_dt) -> dict[str, Any]:
        out = {"repositoryArn": self.arn, "registryId": self.registry_id,
               "repositoryName": self.name, "repositoryUri": self.uri,
               "createdAt": to_dt(self.created_at), "imageTagMutability": self.tag_mutability,
               "imageScanningConfiguration": dict(self.scanning),
               "encryptionConfiguration": dict(self.encryption)}
        if self.mutability_exclusions:
            out["imageTagMutabilityExclusionFilters"] = [dict(f) for f in self.mutability_exclusions]
        return out

    def tag_is_immutable(self, tag: str) -> bool:
        """Whether an existing ``tag`` may not be moved (IMMUTABLE, or an exclusion of MUTABLE)."""
        import fnmatch
        excluded = any(fnmatch.fnmatchcase(tag, f.get("filter", ""))
                       for f in self.mutability_exclusions)
        if self.tag_mutability == "IMMUTABLE":
            return True
        if self.tag_mutability == "IMMUTABLE_WITH_EXCLUSION":
            return not excluded
        if self.tag_mutability == "MUTABLE_WITH_EXCLUSION":
            return excluded
        return False

    def referenced_blobs(self) -> set[str]:
        out: set[str] = set()
        for image in self.images.values():
            out.update(image.manifest.blobs)
        return out

    def parents_of(self, digest: str) -> list[str]:
        """Indexes in this repository that refer to the manifest ``digest``."""
        return sorted(d for d, img in self.images.items() if digest in img.manifest.children)
