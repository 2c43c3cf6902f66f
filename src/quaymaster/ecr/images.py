"""Image operations: PutImage, BatchGetImage, BatchDeleteImage, DescribeImages, ListImages.

Shared by the API and the registry protocol: ``store_manifest`` is the one
way a manifest enters a repository (checks, tag moves, IMMUTABLE refusals,
replication), ``find_image`` the one way a reference is resolved.
"""

from __future__ import annotations

from typing import Any

from quaymaster.ecr.api_model import invalid, paginate, to_datetime, validate_request
from quaymaster.ecr.manifests import ManifestError, digest_of, parse_manifest
from quaymaster.ecr.names import is_digest, is_tag, registry_host
from quaymaster.ecr.repository import ImageRecord, Repository
from quaymaster.errors import ServiceError


class ImageOperations:
    """Mixin of ECRRegistry: images and tags."""

    # -- the shared core ----------------------------------------------
    def store_manifest(self, repo: Repository, raw: bytes, media_type: str | None,
                       tag: str | None, *, strict: bool, replicate: bool = True) -> ImageRecord:
        """Put a manifest (and optionally a tag) into ``repo``; the image record.

        ``strict`` (the PutImage API) refuses a push that changes nothing with
        ImageAlreadyExistsException; the registry protocol accepts it.
        """
        if tag is not None and not is_tag(tag):
            raise invalid(f"Invalid parameter at 'imageTag': {tag!r} is not a valid image tag")
        try:
            manifest = parse_manifest(raw, media_type)
        except ManifestError as exc:
            raise invalid(f"Invalid parameter at 'imageManifest': {exc}") from None
        self._check_references(repo, manifest)
        existing = repo.images.get(manifest.digest)
        current = repo.image_tags.get(tag) if tag is not None else None
        if current is not None and current != manifest.digest and repo.tag_is_immutable(tag):
            raise ServiceError(
                "ImageTagAlreadyExistsException",
                f"The image tag '{tag}' already exists in the '{repo.name}' repository and cannot "
                "be overwritten because the repository is immutable.")
        if strict and existing is not None and (tag is None or current == manifest.digest):
            raise ServiceError(
                "ImageAlreadyExistsException",
                f"Image with digest '{manifest.digest}'"
                + (f" and tag '{tag}'" if tag else "") + " already exists in the repository "
                f"with name '{repo.name}' in registry with id '{self.account}'")
        record = existing or ImageRecord(manifest, self.now(), self._image_size(repo, manifest))
        if existing is None:
            repo.images[manifest.digest] = record
            for blob in manifest.blobs:
                self._hold_blob(repo, blob)
        if tag is not None and current != manifest.digest:
            if current is not None:
                repo.images[current].tags.discard(tag)
            repo.image_tags[tag] = manifest.digest
            record.tags.add(tag)
        if replicate:
            self._replicate(repo, record, tag)
        return record

    def _check_references(self, repo: Repository, manifest) -> None:
        missing = [b for b in manifest.blobs if b not in repo.layers or not self.blobs.has(b)]
        if missing:
            raise ServiceError("LayersNotFoundException",
                               f"Layers with digests {missing} required for pushing image into "
                               f"repository with name '{repo.name}' in registry with id "
                               f"'{self.account}' do not exist")
        absent = [c for c in manifest.children if c not in repo.images]
        if absent:
            raise ServiceError("ReferencedImagesNotFoundException",
                               f"Manifests {absent} referenced by the index are not in repository "
                               f"'{repo.name}'")

    def _image_size(self, repo: Repository, manifest) -> int:
        """Layer sizes for an image; for an index, the sum of its images' sizes."""
        if manifest.is_index:
            return sum(repo.images[c].size for c in dict.fromkeys(manifest.children))
        return manifest.layer_size

    def _hold_blob(self, repo: Repository, digest: str) -> None:
        if digest not in repo.layers:
            repo.layers.add(digest)
            self.blobs.retain(digest)

    def find_image(self, repo: Repository, image_id: dict) -> ImageRecord:
        """The image an ImageIdentifier names; ServiceError('ImageNotFoundException') if none."""
        failure = self._resolve(repo, image_id)
        if isinstance(failure, ImageRecord):
            return failure
        raise ServiceError("ImageNotFoundException", failure[1])

    def _resolve(self, repo: Repository, image_id: dict):
        """An ImageRecord, or (failureCode, failureReason)."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if digest is None and tag is None:
            return "MissingDigestAndTag", "Missing image digest and tag"
        if digest is not None and not is_digest(digest):
            return "InvalidImageDigest", f"Invalid image digest {digest!r}"
        if tag is not None and not is_tag(tag):
            return "InvalidImageTag", f"Invalid image tag {tag!r}"
        by_tag = repo.image_tags.get(tag) if tag is not None else None
        if digest is not None and tag is not None and by_tag is not None and by_tag != digest:
            return "ImageTagDoesNotMatchDigest", "Invalid input: Image Tag does not match Digest"
        found = repo.images.get(digest if digest is not None else by_tag or "")
        if found is None or (tag is not None and by_tag is None):
            return "ImageNotFound", (f"The image with imageId {_id_text(image_id)} does not exist "
                                     f"within the repository with name '{repo.name}' in the "
                                     f"registry with id '{self.account}'")
        return found

    def delete_image(self, repo: Repository, record: ImageRecord) -> None:
        """Remove an image with all its tags, releasing blobs nothing else in ``repo`` uses."""
        del repo.images[record.digest]
        for tag in record.tags:
            repo.image_tags.pop(tag, None)
        still_used = repo.referenced_blobs()
        for blob in record.manifest.blobs:
            if blob not in still_used and blob in repo.layers:
                repo.layers.discard(blob)
                self.blobs.release(blob)

    def pull_error(self, image: str) -> str | None:
        """The stop reason of a task that would pull ``image`` (None: it can be pulled).

        Only images of this account's registries (``<account>.dkr.ecr.<region>.
        amazonaws.com/<name>[:tag|@digest]``, tag ``latest`` by default) are
        checked: this region's here, another region's through ``peer`` when
        there is one (a region that does not exist yet holds no image).
        Images of other registries (docker.io, another account, another
        region without ``peer``), and names under a pull-through cache rule
        (fetched on pull), give None.
        """
        if not isinstance(image, str):
            return None
        host, slash, rest = image.partition("/")
        named = registry_host(host) if slash else None
        if named is None or named[0] != self.account:
            return None
        if named[1] != self.region:
            if self.peer is None:
                return None
            other = self.peer(named[1])
            return other.pull_error(image) if other is not None else _cannot_pull(image)
        name, at, digest = rest.partition("@")
        if not at:
            name, _, tag = name.rpartition(":") if ":" in name else (name, "", "latest")
        image_id = {"imageDigest": digest} if at else {"imageTag": tag}
        repo = self.repositories.get(name)
        if repo is None and self.pull_through_source(name) is not None:
            return None
        if repo is None or not isinstance(self._resolve(repo, image_id), ImageRecord):
            return _cannot_pull(image)
        return None

    # -- API operations ------------------------------------------------
    def put_image(self, request: dict) -> dict:
        request = validate_request("PutImage", request)
        repo = self._repo_of(request)
        raw = request["imageManifest"].encode("utf-8")
        declared = request.get("imageDigest")
        if declared is not None and declared != digest_of(raw):
            raise ServiceError("ImageDigestDoesNotMatchException",
                               f"Provided digest {declared} does not match the digest of the "
                               f"manifest ({digest_of(raw)})")
        record = self.store_manifest(repo, raw, request.get("imageManifestMediaType"),
                                     request.get("imageTag"), strict=True)
        image_id = {"imageDigest": record.digest}
        if request.get("imageTag"):
            image_id["imageTag"] = request["imageTag"]
        return {"image": self._image_shape(repo, record, image_id)}

    def _image_shape(self, repo: Repository, record: ImageRecord, image_id: dict) -> dict:
        return {"registryId": self.account, "repositoryName": repo.name, "imageId": image_id,
                "imageManifest": record.manifest.raw.decode("utf-8"),
                "imageManifestMediaType": record.manifest.media_type}

    def batch_get_image(self, request: dict) -> dict:
        request = validate_request("BatchGetImage", request)
        self._registry_id(request)
        repo = self._repository_for_pull(request["repositoryName"], request["imageIds"])
        images, failures = [], []
        for image_id in request["imageIds"]:
            found = self._resolve(repo, image_id)
            if isinstance(found, ImageRecord):
                found.last_pull = self.now()
                ident = {"imageDigest": found.digest}
                if image_id.get("imageTag"):
                    ident["imageTag"] = image_id["imageTag"]
                images.append(self._image_shape(repo, found, ident))
            else:
                failures.append({"imageId": dict(image_id), "failureCode": found[0],
                                 "failureReason": found[1]})
        return {"images": images, "failures": failures}

    def batch_delete_image(self, request: dict) -> dict:
        request = validate_request("BatchDeleteImage", request)
        repo = self._repo_of(request)
        deleted, failures = [], []
        for image_id in request["imageIds"]:
            found = self._resolve(repo, image_id)
            if not isinstance(found, ImageRecord):
                failures.append({"imageId": dict(image_id), "failureCode": found[0],
                                 "failureReason": found[1]})
                continue
            deleted.extend(self._delete_by_id(repo, found, image_id, failures))
        return {"imageIds": deleted, "failures": failures}

    def _delete_by_id(self, repo: Repository, record: ImageRecord, image_id: dict,
                      failures: list) -> list[dict]:
        """By tag alone: untag, and delete once no tag is left; by digest: delete."""
        tag = image_id.get("imageTag")
        if tag is not None and image_id.get("imageDigest") is None and len(record.tags) > 1:
            record.tags.discard(tag)
            repo.image_tags.pop(tag, None)
            return [{"imageDigest": record.digest, "imageTag": tag}]
        parents = repo.parents_of(record.digest)
        if parents:
            failures.append({"imageId": dict(image_id), "failureCode": "ImageReferencedByManifestList",
                             "failureReason": f"Requested image referenced by manifest list: {parents}"})
            return []
        ids = [{"imageDigest": record.digest, "imageTag": t} for t in sorted(record.tags)]
        self.delete_image(repo, record)
        return ids or [{"imageDigest": record.digest}]

    def _ordered_images(self, repo: Repository, tag_status: str) -> list[ImageRecord]:
        images = sorted(repo.images.values(), key=lambda r: (r.pushed_at, r.digest))
        if tag_status == "TAGGED":
            return [r for r in images if r.tags]
        if tag_status == "UNTAGGED":
            return [r for r in images if not r.tags]
        return images

    def describe_images(self, request: dict) -> dict:
        request = validate_request("DescribeImages", request)
        repo = self._repo_of(request)
        if request.get("imageIds"):
            records = list({id(r): r for r in (self.find_image(repo, i)
                                              for i in request["imageIds"])}.values())
        else:
            records = self._ordered_images(repo, request.get("filter", {}).get("tagStatus", "ANY"))
        page, token = paginate(records, request, what="images", exclusive=("imageIds",))
        out: dict[str, Any] = {"imageDetails": [self._detail(repo, r) for r in page]}
        if token:
            out["nextToken"] = token
        return out

    def _detail(self, repo: Repository, record: ImageRecord) -> dict:
        detail = {"registryId": self.account, "repositoryName": repo.name,
                  "imageDigest": record.digest, "imageSizeInBytes": record.size,
                  "imagePushedAt": to_datetime(record.pushed_at),
                  "imageManifestMediaType": record.manifest.media_type, "imageStatus": "ACTIVE"}
        if record.tags:
            detail["imageTags"] = sorted(record.tags)
        if record.manifest.artifact_media_type:
            detail["artifactMediaType"] = record.manifest.artifact_media_type
        if record.manifest.subject:
            detail["subjectManifestDigest"] = record.manifest.subject
        if record.last_pull is not None:
            detail["lastRecordedPullTime"] = to_datetime(record.last_pull)
        return detail

    def list_images(self, request: dict) -> dict:
        request = validate_request("ListImages", request)
        repo = self._repo_of(request)
        ids = []
        for record in self._ordered_images(repo, request.get("filter", {}).get("tagStatus", "ANY")):
            if record.tags:
                ids.extend({"imageDigest": record.digest, "imageTag": t} for t in sorted(record.tags))
            else:
                ids.append({"imageDigest": record.digest})
        page, token = paginate(ids, request, what="imageIds")
        out: dict[str, Any] = {"imageIds": page}
        if token:
            out["nextToken"] = token
        return out


def _cannot_pull(image: str) -> str:
    """The stop reason ECS's agent gives for an image reference that does not resolve."""
    return (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: {image}: not found")


def _id_text(image_id: dict) -> str:
    parts = [f"{k}={v}" for k, v in sorted(image_id.items())]
    return "{" + ", ".join(parts) + "}"
