"""Lifecycle policy operations, previews and the daily expiry (ECR, section 3).

The preview is computed when it is started (status COMPLETE at once); the
daily expiry applies every repository's policy at a whole day of the clock,
deletes what it expires and returns one event per expired image.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from quaymaster.ecr.api_model import invalid, paginate, to_datetime, validate_request
from quaymaster.ecr.lifecycle import LifecyclePolicyError, evaluate_lifecycle_policy, parse_policy
from quaymaster.ecr.repository import Repository
from quaymaster.errors import ServiceError

IMAGE_SCHEMA = pa.schema([("imageDigest", pa.string()), ("imageTags", pa.list_(pa.string())),
                          ("imagePushedAt", pa.float64())])


class LifecycleOperations:
    """Mixin of ECRRegistry: lifecycle policies."""

    def __init__(self):
        self.lifecycle_events: list[dict] = []

    def _check_lifecycle(self, text: str) -> None:
        try:
            parse_policy(text)
        except LifecyclePolicyError as exc:
            raise invalid(str(exc)) from None

    def put_lifecycle_policy(self, request: dict) -> dict:
        request = validate_request("PutLifecyclePolicy", request)
        repo = self._repo_of(request)
        self._check_lifecycle(request["lifecyclePolicyText"])
        repo.lifecycle_policy = request["lifecyclePolicyText"]
        repo.lifecycle_updated = self.now()
        return {"registryId": self.account, "repositoryName": repo.name,
                "lifecyclePolicyText": repo.lifecycle_policy}

    def _lifecycle_of(self, repo: Repository) -> str:
        if repo.lifecycle_policy is None:
            raise ServiceError("LifecyclePolicyNotFoundException",
                               f"Lifecycle policy does not exist for the repository with name "
                               f"'{repo.name}' in the registry with id '{self.account}'")
        return repo.lifecycle_policy

    def get_lifecycle_policy(self, request: dict) -> dict:
        request = validate_request("GetLifecyclePolicy", request)
        repo = self._repo_of(request)
        text = self._lifecycle_of(repo)
        return {"registryId": self.account, "repositoryName": repo.name,
                "lifecyclePolicyText": text,
                "lastEvaluatedAt": to_datetime(repo.lifecycle_updated)}

    def delete_lifecycle_policy(self, request: dict) -> dict:
        out = self.get_lifecycle_policy(request)
        self.repositories[request["repositoryName"]].lifecycle_policy = None
        return out

    # -- evaluation over a repository ----------------------------------
    def images_table(self, repo: Repository) -> pa.Table:
        """The repository's images as the table ``evaluate_lifecycle_policy`` reads."""
        records = sorted(repo.images.values(), key=lambda r: (r.pushed_at, r.digest))
        return pa.table({"imageDigest": [r.digest for r in records],
                         "imageTags": [sorted(r.tags) for r in records],
                         "imagePushedAt": [r.pushed_at for r in records]}, schema=IMAGE_SCHEMA)

    def _expired(self, repo: Repository, text: str, now: float) -> list[dict]:
        result = evaluate_lifecycle_policy(text, self.images_table(repo), now)
        return result.to_pylist()

    # -- previews --------------------------------------------------------
    def start_lifecycle_policy_preview(self, request: dict) -> dict:
        request = validate_request("StartLifecyclePolicyPreview", request)
        repo = self._repo_of(request)
        text = request.get("lifecyclePolicyText") or self._lifecycle_of(repo)
        self._check_lifecycle(text)
        repo.preview = {"text": text, "results": self._expired(repo, text, self.now())}
        return {"registryId": self.account, "repositoryName": repo.name,
                "lifecyclePolicyText": text, "status": "COMPLETE"}

    def get_lifecycle_policy_preview(self, request: dict) -> dict:
        request = validate_request("GetLifecyclePolicyPreview", request)
        repo = self._repo_of(request)
        if repo.preview is None:
            raise ServiceError("LifecyclePolicyPreviewNotFoundException",
                               f"There is no dry run for the repository with name '{repo.name}' in "
                               f"the registry with id '{self.account}'")
        results = self._preview_rows(repo, request)
        page, token = paginate(results, request, what="preview", exclusive=("imageIds",))
        out: dict[str, Any] = {
            "registryId": self.account, "repositoryName": repo.name,
            "lifecyclePolicyText": repo.preview["text"], "status": "COMPLETE",
            "previewResults": page,
            "summary": {"expiringImageTotalCount": len(repo.preview["results"])}}
        if token:
            out["nextToken"] = token
        return out

    def _preview_rows(self, repo: Repository, request: dict) -> list[dict]:
        rows = repo.preview["results"]
        status = request.get("filter", {}).get("tagStatus", "ANY")
        if status == "TAGGED":
            rows = [r for r in rows if r["imageTags"]]
        elif status == "UNTAGGED":
            rows = [r for r in rows if not r["imageTags"]]
        if request.get("imageIds"):
            wanted = {self.find_image(repo, i).digest for i in request["imageIds"]}
            rows = [r for r in rows if r["imageDigest"] in wanted]
        return [{"imageTags": r["imageTags"], "imageDigest": r["imageDigest"],
                 "imagePushedAt": to_datetime(r["imagePushedAt"]),
                 "action": {"type": "EXPIRE"}, "appliedRulePriority": r["appliedRulePriority"]}
                for r in rows]

    # -- the daily run -------------------------------------------------
    def daily_expiry(self, now: float | None = None) -> list[dict]:
        """Apply every repository's lifecycle policy at ``now``; one event per expired image.

        The region's clock calls this at each whole day (00:00 UTC). Expired
        images are deleted (their blobs once nothing else holds them).
        """
        now = self.now() if now is None else float(now)
        events = []
        for name in sorted(self.repositories):
            repo = self.repositories[name]
            if repo.lifecycle_policy is None:
                continue
            for row in self._expired(repo, repo.lifecycle_policy, now):
                record = repo.images.get(row["imageDigest"])
                if record is None or repo.parents_of(record.digest):
                    continue  # an index still refers to it: kept, as BatchDeleteImage would
                self.delete_image(repo, record)
                events.append({"type": "ImageExpired", "time": now, "repositoryName": name,
                               "imageDigest": row["imageDigest"], "imageTags": row["imageTags"],
                               "appliedRulePriority": row["appliedRulePriority"]})
            repo.lifecycle_updated = now
        self.lifecycle_events.extend(events)
        return events
