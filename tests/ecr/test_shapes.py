"""Every response of a full scenario conforms to botocore's output shape of its operation."""

import datetime as dt
import json

from ecr_helpers import manifest_for, sha, upload_layer
from quaymaster.ecr import ECRRegistry
from quaymaster.ecr.api_model import ecr_model

TYPES = {"string": str, "integer": int, "long": int, "boolean": bool, "timestamp": dt.datetime,
         "blob": bytes, "double": float, "float": float}


def conform(shape, value, path):
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: {sorted(unknown)} not in {shape.name}"
        for key, item in value.items():
            conform(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), path
        for i, item in enumerate(value):
            conform(shape.member, item, f"{path}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), path
    else:
        assert isinstance(value, TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool)), \
            f"{path}: {value!r} is not {kind}"
        if kind == "string" and getattr(shape, "enum", None):
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
        if kind == "timestamp":
            assert value.tzinfo is not None, path


class Checked:
    """Runs operations through ``handle`` and checks each response against the model."""

    def __init__(self, registry):
        self.registry, self.seen = registry, set()

    def __call__(self, operation, request=None):
        response = self.registry.handle(operation, request or {})
        conform(ecr_model().operation_model(operation).output_shape, response, operation)
        self.seen.add(operation)
        return response


def test_all_operations_answer_their_output_shapes():
    registry = ECRRegistry()
    call = Checked(registry)
    repo = {"repositoryName": "shape/check"}
    call("CreateRepository", {**repo, "tags": [{"Key": "a", "Value": "b"}]})
    call("DescribeRepositories")
    call("PutImageTagMutability", {**repo, "imageTagMutability": "MUTABLE"})
    call("PutImageScanningConfiguration", {**repo, "imageScanningConfiguration": {"scanOnPush": True}})
    arn = registry.repositories["shape/check"].arn
    call("TagResource", {"resourceArn": arn, "tags": [{"Key": "c", "Value": "d"}]})
    call("ListTagsForResource", {"resourceArn": arn})
    call("UntagResource", {"resourceArn": arn, "tagKeys": ["c"]})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})
    call("SetRepositoryPolicy", {**repo, "policyText": policy})
    call("GetRepositoryPolicy", repo)
    call("DeleteRepositoryPolicy", repo)
    config, layer = b"{}", b"layer bytes"
    upload = call("InitiateLayerUpload", repo)
    call("UploadLayerPart", {**repo, "uploadId": upload["uploadId"], "partFirstByte": 0,
                             "partLastByte": len(layer) - 1, "layerPartBlob": layer})
    call("CompleteLayerUpload", {**repo, "uploadId": upload["uploadId"], "layerDigests": [sha(layer)]})
    upload_layer(registry, "shape/check", config)
    call("BatchCheckLayerAvailability", {**repo, "layerDigests": [sha(layer), sha(b"no")]})
    call("GetDownloadUrlForLayer", {**repo, "layerDigest": sha(layer)})
    call("PutImage", {**repo, "imageManifest": manifest_for(config, [layer]), "imageTag": "v1"})
    call("BatchGetImage", {**repo, "imageIds": [{"imageTag": "v1"}, {"imageTag": "nope"}]})
    call("DescribeImages", repo)
    call("ListImages", repo)
    call("GetAuthorizationToken")
    lifecycle = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]})
    call("PutLifecyclePolicy", {**repo, "lifecyclePolicyText": lifecycle})
    call("GetLifecyclePolicy", repo)
    call("StartLifecyclePolicyPreview", repo)
    call("GetLifecyclePolicyPreview", repo)
    call("DeleteLifecyclePolicy", repo)
    call("PutReplicationConfiguration", {"replicationConfiguration": {"rules": [
        {"destinations": [{"region": "eu-west-1", "registryId": registry.account}],
         "repositoryFilters": [{"filter": "shape", "filterType": "PREFIX_MATCH"}]}]}})
    call("DescribeRegistry")
    call("CreatePullThroughCacheRule", {"ecrRepositoryPrefix": "hub", "upstreamRegistry": "docker-hub",
                                        "upstreamRegistryUrl": "registry-1.docker.io"})
    call("DescribePullThroughCacheRules")
    call("DeletePullThroughCacheRule", {"ecrRepositoryPrefix": "hub"})
    call("BatchDeleteImage", {**repo, "imageIds": [{"imageTag": "v1"}, {"imageTag": "gone"}]})
    call("DeleteRepository", {**repo, "force": True})
    assert call.seen == set(ECRRegistry.OPERATIONS)
