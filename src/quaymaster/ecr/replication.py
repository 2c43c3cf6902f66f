"""Replication configuration and pull-through cache rules (the seed's ECR features).

Replication: ``PutReplicationConfiguration`` / ``DescribeRegistry``; on every
push to a repository a rule's filters select, the image (blobs, manifest,
tag) is copied into the same-named repository of each destination region's
registry, found with the ``resolver``. Pull-through: a pull of
``<prefix>/<name>`` that the registry does not hold fetches the image from
the rule's upstream registry (``upstream.fetch_image``) and caches it.
"""

from __future__ import annotations

import re
from typing import Any

from quaymaster.ecr.api_model import ecr_model, invalid, paginate, to_datetime, validate_request
from quaymaster.ecr.names import is_digest
from quaymaster.ecr.repository import ImageRecord, Repository
from quaymaster.ecr.upstream import FetchedImage, UpstreamError, fetch_image
from quaymaster.ecr.writes import hold_blob, put_manifest
from quaymaster.errors import ServiceError

REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+")
PREFIX = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")


class ReplicationOperations:
    """Mixin of ECRRegistry: replication and pull-through cache."""

    def __init__(self):
        self.replication: dict = {"rules": []}
        self.pull_through_rules: dict[str, dict] = {}
        self.upstream_credentials: dict[str, tuple[str, str]] = {}  # upstream URL -> (user, pass)
        self.replication_skipped: list[dict] = []

    # -- replication -----------------------------------------------------
    def put_replication_configuration(self, request: dict) -> dict:
        request = validate_request("PutReplicationConfiguration", request)
        config = request["replicationConfiguration"]
        for i, rule in enumerate(config["rules"]):
            for j, dest in enumerate(rule["destinations"]):
                if not REGION.fullmatch(dest["region"]):
                    raise invalid(f"rules[{i}].destinations[{j}].region {dest['region']!r} is not "
                                  "a region name")
                if dest["region"] == self.region and dest["registryId"] == self.account:
                    raise invalid(f"rules[{i}].destinations[{j}]: a registry cannot replicate to "
                                  f"itself ({self.region}, {self.account})")
            for j, flt in enumerate(rule.get("repositoryFilters", [])):
                if not PREFIX.fullmatch(flt["filter"]):
                    raise invalid(f"rules[{i}].repositoryFilters[{j}].filter {flt['filter']!r} is "
                                  "not a repository name prefix")
        self.replication = {"rules": [_copy_rule(r) for r in config["rules"]]}
        return {"replicationConfiguration": self.replication}

    def describe_registry(self, request: dict | None = None) -> dict:
        validate_request("DescribeRegistry", request)
        return {"registryId": self.account, "replicationConfiguration": self.replication}

    def _replicate(self, repo: Repository, record: ImageRecord, tag: str | None) -> None:
        for rule in self.replication["rules"]:
            filters = rule.get("repositoryFilters", [])
            if filters and not any(repo.name.startswith(f["filter"]) for f in filters):
                continue
            for dest in rule["destinations"]:
                if dest["registryId"] != self.account or self.resolver is None:
                    self.replication_skipped.append({"repositoryName": repo.name,
                                                     "imageDigest": record.digest, **dest})
                    continue
                self._copy_to(self.resolver(dest["region"]), repo, record, tag)

    def _copy_to(self, target, repo: Repository, record: ImageRecord, tag: str | None) -> None:
        """Copy one image into ``target``'s repository of the same name (created if absent)."""
        dest_repo = target.repositories.get(repo.name)
        if dest_repo is None:
            target.create_repository({"repositoryName": repo.name,
                                      "imageTagMutability": repo.tag_mutability})
            dest_repo = target.repositories[repo.name]
        for child in record.manifest.children:
            if child not in dest_repo.images:
                self._copy_to(target, repo, repo.images[child], None)
        for blob in record.manifest.blobs:
            if not target.blobs.has(blob):
                target.blobs.put(self.blobs.get(blob), blob)
            target._hold_blob(dest_repo, blob)
        try:
            target.store_manifest(dest_repo, record.manifest.raw, record.manifest.media_type, tag,
                                  strict=False, replicate=False)
        except ServiceError as exc:  # e.g. an IMMUTABLE tag there: the destination keeps its own
            self.replication_skipped.append({"repositoryName": repo.name, "region": target.region,
                                             "imageDigest": record.digest, "reason": exc.code})

    # -- pull-through cache rules --------------------------------------
    def create_pull_through_cache_rule(self, request: dict) -> dict:
        request = validate_request("CreatePullThroughCacheRule", request)
        self._registry_id(request)
        prefix = request["ecrRepositoryPrefix"]
        if not PREFIX.fullmatch(prefix):
            raise invalid(f"Invalid parameter at 'ecrRepositoryPrefix': {prefix!r}")
        if prefix in self.pull_through_rules:
            raise ServiceError("PullThroughCacheRuleAlreadyExistsException",
                               f"A pull through cache rule with prefix '{prefix}' already exists")
        rule = {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": request["upstreamRegistryUrl"],
                "createdAt": self.now(), "registryId": self.account,
                **{k: request[k] for k in ("upstreamRegistry", "credentialArn", "customRoleArn",
                                           "upstreamRepositoryPrefix") if k in request}}
        self.pull_through_rules[prefix] = rule
        return _rule_shape(rule, "CreatePullThroughCacheRuleResponse")

    def describe_pull_through_cache_rules(self, request: dict | None = None) -> dict:
        request = validate_request("DescribePullThroughCacheRules", request)
        self._registry_id(request)
        prefixes = request.get("ecrRepositoryPrefixes")
        if prefixes:
            rules = [self._pull_rule(p) for p in prefixes]
        else:
            rules = [self.pull_through_rules[p] for p in sorted(self.pull_through_rules)]
        page, token = paginate(rules, request, what="pullThroughCacheRules",
                               exclusive=("ecrRepositoryPrefixes",))
        out: dict[str, Any] = {"pullThroughCacheRules": [_rule_shape(r) for r in page]}
        if token:
            out["nextToken"] = token
        return out

    def delete_pull_through_cache_rule(self, request: dict) -> dict:
        request = validate_request("DeletePullThroughCacheRule", request)
        self._registry_id(request)
        rule = self._pull_rule(request["ecrRepositoryPrefix"])
        del self.pull_through_rules[rule["ecrRepositoryPrefix"]]
        return _rule_shape(rule, "DeletePullThroughCacheRuleResponse")

    def _pull_rule(self, prefix: str) -> dict:
        if prefix not in self.pull_through_rules:
            raise ServiceError("PullThroughCacheRuleNotFoundException",
                               f"The pull through cache rule with prefix '{prefix}' does not exist "
                               f"in the registry with id '{self.account}'")
        return self.pull_through_rules[prefix]

    # -- pulling through -----------------------------------------------
    def pull_through_source(self, name: str) -> tuple[str, str] | None:
        """(upstream URL, upstream repository name) when ``name`` falls under a rule."""
        for prefix in sorted(self.pull_through_rules, key=len, reverse=True):
            if name.startswith(prefix + "/") and len(name) > len(prefix) + 1:
                rule = self.pull_through_rules[prefix]
                rest = name[len(prefix) + 1:]
                upstream_prefix = rule.get("upstreamRepositoryPrefix")
                if upstream_prefix and upstream_prefix != "ROOT":
                    rest = f"{upstream_prefix}/{rest}"
                return rule["upstreamRegistryUrl"], rest
        return None

    def fetch_upstream(self, name: str, reference: str) -> FetchedImage:
        """Fetch ``name:reference`` from its rule's upstream (network only, no state change)."""
        url, upstream_name = self.pull_through_source(name)
        return fetch_image(url, upstream_name, reference, self.upstream_credentials.get(url),
                           have=self.blobs.has)

    def cache_writes(self, name: str, reference: str, fetched: FetchedImage) -> list[tuple[str, dict]]:
        """Put a fetched image's blobs in the store (fsynced); the writes that cache it in
        ``name`` (created on first pull), tagged when pulled by tag (see ``writes``)."""
        writes = [("EnsureRepository", {"repositoryName": name})]
        self._fetched_writes(name, reference, fetched, writes)
        return writes

    def _fetched_writes(self, name: str, reference: str, fetched: FetchedImage, writes: list) -> None:
        for child in fetched.children:
            self._fetched_writes(name, "", child, writes)
        for digest in fetched.blob_digests or tuple(fetched.blobs):
            if digest in fetched.blobs:   # the others were in the store already
                self.blobs.put(fetched.blobs[digest], digest)
            writes.append(hold_blob(name, digest))
        tag = reference if reference and not is_digest(reference) else None
        writes.append(put_manifest(name, fetched.raw, fetched.media_type, tag))

    def cache_upstream(self, name: str, reference: str, fetched: FetchedImage) -> ImageRecord:
        """Store a fetched image in ``name``; its image record."""
        return self.apply_writes(self.cache_writes(name, reference, fetched))[-1]

    def _repository_for_pull(self, name: str, image_ids: list[dict]) -> Repository:
        """The repository to read ``image_ids`` from, pulling through what is missing."""
        repo = self.repositories.get(name)
        if self.pull_through_source(name) is None:
            return self.repository(name)
        for image_id in image_ids:
            if repo is not None and isinstance(self._resolve(repo, image_id), ImageRecord):
                continue
            reference = image_id.get("imageDigest") or image_id.get("imageTag")
            if not reference:
                continue
            try:
                fetched = self.fetch_upstream(name, reference)
            except UpstreamError as exc:
                raise ServiceError("UnableToGetUpstreamImageException", str(exc)) from None
            self.cache_upstream(name, image_id.get("imageTag") or reference, fetched)
            repo = self.repositories[name]
        return self.repository(name)


def _copy_rule(rule: dict) -> dict:
    out = {"destinations": [dict(d) for d in rule["destinations"]]}
    if rule.get("repositoryFilters"):
        out["repositoryFilters"] = [dict(f) for f in rule["repositoryFilters"]]
    return out


def _rule_shape(rule: dict, shape: str = "PullThroughCacheRule") -> dict:
    """The rule as the model's ``shape`` has it (the Delete response has fewer members)."""
    members = ecr_model().shape_for(shape).members
    out = {k: v for k, v in rule.items() if k in members}
    out["createdAt"] = to_datetime(rule["createdAt"])
    return out
