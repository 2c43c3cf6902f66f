"""The ECR registry of one account in one region (ECR, sections 1 and 2).

``ECRRegistry`` answers ECR's API operations: each method takes the request
of botocore's ``ecr`` model (camelCase members) and returns its response
shape, raising ``ServiceError`` with the model's exception names. The region
holds one registry per account and region and dispatches with ``handle``.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Callable

from quaymaster.ecr.api_model import (SettableClock, invalid, paginate, to_datetime,
                                      validate_request)
from quaymaster.ecr.blobs import BlobStore
from quaymaster.ecr.images import ImageOperations
from quaymaster.ecr.layers import LayerOperations
from quaymaster.ecr.lifecycle_ops import LifecycleOperations
from quaymaster.ecr.names import (check_repository_name, name_from_arn, repository_arn,
                                  repository_uri)
from quaymaster.ecr.replication import ReplicationOperations
from quaymaster.ecr.repository import Repository
from quaymaster.ecr.writes import RegistryWrites
from quaymaster.errors import ServiceError

MAX_TAGS = 50


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class ECRRegistry(ImageOperations, LayerOperations, LifecycleOperations, ReplicationOperations,
                  RegistryWrites):
    """One account's private registry in one region.

    ``clock`` returns the current time in epoch seconds (the region's virtual
    clock; a standing ``SettableClock`` by default). ``blobs`` is the
    content-addressed store (share one between regions to share storage);
    ``state_dir`` makes a disk store there instead of memory. ``resolver``
    maps a region name to that region's registry for replication.
    """

    OPERATIONS = (
        "CreateRepository", "DeleteRepository", "DescribeRepositories", "PutImageTagMutability",
        "PutImageScanningConfiguration", "TagResource", "UntagResource", "ListTagsForResource",
        "SetRepositoryPolicy", "GetRepositoryPolicy", "DeleteRepositoryPolicy",
        "PutImage", "BatchGetImage", "BatchDeleteImage", "DescribeImages", "ListImages",
        "GetAuthorizationToken", "InitiateLayerUpload", "UploadLayerPart",
        "CompleteLayerUpload", "BatchCheckLayerAvailability", "GetDownloadUrlForLayer",
        "PutLifecyclePolicy", "GetLifecyclePolicy", "DeleteLifecyclePolicy",
        "StartLifecyclePolicyPreview", "GetLifecyclePolicyPreview",
        "PutReplicationConfiguration", "DescribeRegistry", "CreatePullThroughCacheRule",
        "DescribePullThroughCacheRules", "DeletePullThroughCacheRule",
    )

    def __init__(self, account: str = "123456789012", region: str = "us-east-1", *,
                 clock: Callable[[], float] | None = None, blobs: BlobStore | None = None,
                 state_dir: str | None = None,
                 resolver: Callable[[str], "ECRRegistry"] | None = None,
                 endpoint: str | None = None):
        self.account = account
        self.region = region
        self.clock = clock if clock is not None else SettableClock()
        self.blobs = blobs if blobs is not None else BlobStore(state_dir)
        self.resolver = resolver
        # The other regions' registries that exist, by region name (None: unknown), for the
        # pull check of tasks; unlike ``resolver`` it never creates one (it runs mid-tick).
        self.peer: Callable[[str], "ECRRegistry | None"] | None = None
        self.endpoint = endpoint or f"https://{account}.dkr.ecr.{region}.amazonaws.com"
        self.repositories: dict[str, Repository] = {}
        # Changes are applied one at a time: handle() and the /v2/ app's writes take this lock.
        self.lock = threading.RLock()
        LayerOperations.__init__(self)
        LifecycleOperations.__init__(self)
        ReplicationOperations.__init__(self)
        RegistryWrites.__init__(self)

    # -- dispatch ------------------------------------------------------
    def handle(self, operation: str, request: dict | None = None, *,
               principal: str | None = None) -> dict:
        """Run ``operation`` (its model name, e.g. ``"CreateRepository"``) on ``request``.

        ``principal`` (the caller's ARN) is used by GetAuthorizationToken: the
        token it issues authenticates that principal on /v2/.
        """
        if operation not in self.OPERATIONS:
            raise ServiceError("InvalidParameterException", f"Unknown ECR operation {operation!r}")
        method = getattr(self, _snake(operation))
        with self.lock:
            if operation == "GetAuthorizationToken":
                return method(request, principal=principal)
            return method(request)

    def to_state(self) -> dict:
        """Everything but blob bytes and tokens, as JSON-serializable data (see ``state``)."""
        from quaymaster.ecr.state import to_state
        return to_state(self)

    def load_state(self, state: dict) -> None:
        """Replace this registry's state with a ``to_state`` snapshot."""
        from quaymaster.ecr.state import load_state
        load_state(self, state)

    def now(self) -> float:
        return float(self.clock())

    def _registry_id(self, request: dict) -> str:
        registry_id = request.get("registryId", self.account)
        if registry_id != self.account:
            raise invalid(f"Invalid parameter at 'registryId': {registry_id!r} is not the "
                          f"registry of account {self.account}")
        return registry_id

    def repository(self, name: str) -> Repository:
        repo = self.repositories.get(name)
        if repo is None:
            raise ServiceError("RepositoryNotFoundException",
                               f"The repository with name '{name}' does not exist in the registry "
                               f"with id '{self.account}'")
        return repo

    def _repo_of(self, request: dict) -> Repository:
        self._registry_id(request)
        return self.repository(request["repositoryName"])

    # -- repositories --------------------------------------------------
    def create_repository(self, request: dict) -> dict:
        request = validate_request("CreateRepository", request)
        self._registry_id(request)
        name = check_repository_name(request["repositoryName"])
        if name in self.repositories:
            raise ServiceError("RepositoryAlreadyExistsException",
                               f"The repository with name '{name}' already exists in the registry "
                               f"with id '{self.account}'")
        tags = _tag_dict(request.get("tags", []))
        repo = self._new_repository(name, request)
        repo.tags = tags
        self.repositories[name] = repo
        return {"repository": repo.describe(to_datetime)}

    def _new_repository(self, name: str, request: dict) -> Repository:
        mutability = request.get("imageTagMutability", "MUTABLE")
        exclusions = request.get("imageTagMutabilityExclusionFilters", [])
        if exclusions and not mutability.endswith("_WITH_EXCLUSION"):
            raise invalid("imageTagMutabilityExclusionFilters need imageTagMutability "
                          f"MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION, not {mutability}")
        encryption = dict(request.get("encryptionConfiguration", {"encryptionType": "AES256"}))
        if encryption.get("encryptionType") == "AES256" and "kmsKey" in encryption:
            raise invalid("encryptionConfiguration: kmsKey is only valid with encryptionType KMS")
        return Repository(
            name=name, arn=repository_arn(self.region, self.account, name),
            uri=repository_uri(self.region, self.account, name), registry_id=self.account,
            created_at=self.now(), tag_mutability=mutability,
            mutability_exclusions=[dict(f) for f in exclusions],
            scanning=dict(request.get("imageScanningConfiguration", {"scanOnPush": False})),
            encryption=encryption)

    def delete_repository(self, request: dict) -> dict:
        request = validate_request("DeleteRepository", request)
        repo = self._repo_of(request)
        if repo.images and not request.get("force", False):
            raise ServiceError("RepositoryNotEmptyException",
                               f"The repository with name '{repo.name}' in registry with id "
                               f"'{self.account}' cannot be deleted because it still contains images")
        described = repo.describe(to_datetime)
        released = set(repo.layers)  # every blob the repository holds, referenced or not
        for upload_id in [u for u, n in self._layer_uploads.items() if n == repo.name]:
            self.cancel_upload(upload_id)
        del self.repositories[repo.name]
        self._collect_garbage(released)
        return {"repository": described}

    def describe_repositories(self, request: dict | None = None) -> dict:
        request = validate_request("DescribeRepositories", request)
        self._registry_id(request)
        names = request.get("repositoryNames")
        if names:
            repos = [self.repository(n) for n in names]
        else:
            repos = [self.repositories[n] for n in sorted(self.repositories)]
        page, token = paginate(repos, request, what="repositories", exclusive=("repositoryNames",))
        out: dict[str, Any] = {"repositories": [r.describe(to_datetime) for r in page]}
        if token:
            out["nextToken"] = token
        return out

    def put_image_tag_mutability(self, request: dict) -> dict:
        request = validate_request("PutImageTagMutability", request)
        repo = self._repo_of(request)
        exclusions = request.get("imageTagMutabilityExclusionFilters", [])
        if exclusions and not request["imageTagMutability"].endswith("_WITH_EXCLUSION"):
            raise invalid("imageTagMutabilityExclusionFilters need a *_WITH_EXCLUSION mutability")
        repo.tag_mutability = request["imageTagMutability"]
        repo.mutability_exclusions = [dict(f) for f in exclusions]
        out: dict[str, Any] = {"registryId": self.account, "repositoryName": repo.name,
                               "imageTagMutability": repo.tag_mutability}
        if exclusions:
            out["imageTagMutabilityExclusionFilters"] = [dict(f) for f in exclusions]
        return out

    def put_image_scanning_configuration(self, request: dict) -> dict:
        """Store the scanning configuration; no scan is ever performed (no vulnerability data)."""
        request = validate_request("PutImageScanningConfiguration", request)
        repo = self._repo_of(request)
        repo.scanning = dict(request["imageScanningConfiguration"])
        return {"registryId": self.account, "repositoryName": repo.name,
                "imageScanningConfiguration": dict(repo.scanning)}

    # -- resource tags -------------------------------------------------
    def _repo_by_arn(self, arn: str) -> Repository:
        return self.repository(name_from_arn(arn, self.region, self.account))

    def tag_resource(self, request: dict) -> dict:
        request = validate_request("TagResource", request)
        repo = self._repo_by_arn(request["resourceArn"])
        merged = {**repo.tags, **_tag_dict(request["tags"])}
        if len(merged) > MAX_TAGS:
            raise ServiceError("TooManyTagsException",
                               f"A repository may have at most {MAX_TAGS} tags; this would make "
                               f"{len(merged)}")
        repo.tags = merged
        return {}

    def untag_resource(self, request: dict) -> dict:
        request = validate_request("UntagResource", request)
        repo = self._repo_by_arn(request["resourceArn"])
        for key in request["tagKeys"]:
            repo.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, request: dict) -> dict:
        request = validate_request("ListTagsForResource", request)
        repo = self._repo_by_arn(request["resourceArn"])
        return {"tags": [{"Key": k, "Value": v} for k, v in repo.tags.items()]}

    # -- repository policies -------------------------------------------
    def set_repository_policy(self, request: dict) -> dict:
        request = validate_request("SetRepositoryPolicy", request)
        repo = self._repo_of(request)
        _check_policy_document(request["policyText"])
        repo.policy = request["policyText"]
        return {"registryId": self.account, "repositoryName": repo.name,
                "policyText": repo.policy}

    def get_repository_policy(self, request: dict) -> dict:
        request = validate_request("GetRepositoryPolicy", request)
        repo = self._repo_of(request)
        if repo.policy is None:
            raise ServiceError("RepositoryPolicyNotFoundException",
                               f"Repository policy does not exist for the repository with name "
                               f"'{repo.name}' in the registry with id '{self.account}'")
        return {"registryId": self.account, "repositoryName": repo.name,
                "policyText": repo.policy}

    def delete_repository_policy(self, request: dict) -> dict:
        out = self.get_repository_policy(request)
        self.repositories[request["repositoryName"]].policy = None
        return out

    def repository_policy(self, name: str) -> dict | None:
        """The repository's policy document (for the IAM engine), or None."""
        repo = self.repositories.get(name)
        return json.loads(repo.policy) if repo is not None and repo.policy else None


def _tag_dict(tags: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value")
        if not key:
            raise ServiceError("InvalidTagParameterException", f"A tag needs a Key: {tag!r}")
        if value is None:
            raise ServiceError("InvalidTagParameterException", f"Tag {key!r} needs a Value")
        if key.lower().startswith("aws:"):
            raise ServiceError("InvalidTagParameterException",
                               f"Tag keys starting with 'aws:' are reserved: {key!r}")
        out[key] = value
    if len(out) > MAX_TAGS:
        raise ServiceError("TooManyTagsException", f"At most {MAX_TAGS} tags, not {len(out)}")
    return out


def _check_policy_document(text: str) -> None:
    """The policy text must be a JSON policy with a Statement (the IAM engine evaluates it)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise invalid(f"Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                      f"'Invalid repository policy provided' (not JSON: {exc})") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise invalid("Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                      "'Invalid repository policy provided' (a policy needs a Statement)")
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for i, st in enumerate(statements):
        if not isinstance(st, dict) or st.get("Effect") not in ("Allow", "Deny"):
            raise invalid(f"Invalid repository policy provided: Statement[{i}] needs Effect "
                          "Allow or Deny")
        if ("Action" in st) == ("NotAction" in st):
            raise invalid(f"Invalid repository policy provided: Statement[{i}] needs exactly one "
                          "of Action or NotAction")
        if "Principal" not in st and "NotPrincipal" not in st:
            raise invalid(f"Invalid repository policy provided: Statement[{i}] needs a Principal")
