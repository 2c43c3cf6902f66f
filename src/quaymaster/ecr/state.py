"""A registry's state as JSON, so a durable server can snapshot and reload it.

Blob bytes stay in the blob store (under the state directory when there is
one); the snapshot holds everything else: repositories, settings, policies,
images (manifest bytes, base64), tags, which blobs each repository holds,
replication and pull-through rules, and the uploads in progress (id, repository,
size: their bytes are the store's upload files, fsynced when the snapshot is taken). Authorization tokens need no state: they
are signed with the key under the blob store's directory (``tokens``), so a
registry reloaded over the same directory accepts the tokens it issued.
"""

from __future__ import annotations

import base64

from quaymaster.ecr.manifests import parse_manifest
from quaymaster.ecr.repository import ImageRecord, Repository

VERSION = 1
_SETTINGS = ("name", "arn", "uri", "registry_id", "created_at", "tag_mutability",
             "mutability_exclusions", "scanning", "encryption", "tags", "policy",
             "lifecycle_policy", "lifecycle_updated", "preview")


def to_state(registry) -> dict:
    repos = []
    for name in sorted(registry.repositories):
        repo = registry.repositories[name]
        entry = {key: getattr(repo, key) for key in _SETTINGS}
        entry["layers"] = sorted(repo.layers)
        entry["images"] = [
            {"manifest": base64.b64encode(r.manifest.raw).decode(),
             "mediaType": r.manifest.media_type, "pushedAt": r.pushed_at, "size": r.size,
             "tags": sorted(r.tags), "lastPull": r.last_pull}
            for r in sorted(repo.images.values(), key=lambda r: (r.pushed_at, r.digest))]
        repos.append(entry)
    return {"version": VERSION, "account": registry.account, "region": registry.region,
            "repositories": repos, "replication": registry.replication,
            "pullThroughRules": [registry.pull_through_rules[p]
                                 for p in sorted(registry.pull_through_rules)],
            "uploads": registry.uploads_in_progress()}


def load_state(registry, state: dict) -> None:
    """Replace the registry's state with ``state`` (from ``to_state``)."""
    if state.get("version") != VERSION or state.get("account") != registry.account:
        raise ValueError(f"not a snapshot of registry {registry.account} (version {VERSION})")
    previous = registry.repositories
    registry.repositories = {}
    for entry in state["repositories"]:
        repo = Repository(**{key: entry[key] for key in _SETTINGS})
        for image in entry["images"]:
            manifest = parse_manifest(base64.b64decode(image["manifest"]), image["mediaType"])
            record = ImageRecord(manifest, image["pushedAt"], image["size"], set(image["tags"]),
                                 image["lastPull"])
            repo.images[manifest.digest] = record
            for tag in record.tags:
                repo.image_tags[tag] = manifest.digest
        for digest in entry["layers"]:
            repo.layers.add(digest)
            registry.blobs.retain(digest)
        registry.repositories[repo.name] = repo
    # Let go of the old state's blobs only now: a blob both states hold must survive.
    for repo in previous.values():
        for digest in repo.layers:
            registry.blobs.release(digest)
    registry.replication = state["replication"]
    registry.pull_through_rules = {r["ecrRepositoryPrefix"]: dict(r)
                                   for r in state["pullThroughRules"]}
    _resume_uploads(registry, state.get("uploads", []))


def _resume_uploads(registry, uploads: list) -> None:
    """Uploads in progress at the snapshot, at their acknowledged size; one whose bytes the
    blob store no longer has (an in-memory store of another process) is not resumed: its
    client hears BLOB_UPLOAD_UNKNOWN and starts again, as the distribution spec allows."""
    for upload_id in list(registry._layer_uploads):
        registry.cancel_upload(upload_id)
    for entry in uploads:
        if entry["repositoryName"] in registry.repositories:
            registry.resume_upload(entry["repositoryName"], entry["uploadId"], int(entry["size"]))


__all__ = ["load_state", "to_state"]
