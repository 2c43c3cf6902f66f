"""ECR API operations of ECRRegistry, with their modeled errors."""

import base64
import json

import pytest

from ecr_helpers import OCI, manifest_for, push, sha, upload_layer
from quaymaster.ecr import ECRRegistry
from quaymaster.errors import ServiceError


def code_of(call, *args):
    with pytest.raises(ServiceError) as info:
        call(*args)
    return info.value.code


@pytest.fixture
def repo(registry):
    registry.create_repository({"repositoryName": "team/web", "tags": [{"Key": "env", "Value": "p"}]})
    return "team/web"


def test_create_and_describe_repositories(registry, repo):
    out = registry.describe_repositories({"repositoryNames": [repo]})["repositories"][0]
    assert out["repositoryArn"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/web"
    assert out["repositoryUri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web"
    assert out["imageTagMutability"] == "MUTABLE"
    assert code_of(registry.create_repository, {"repositoryName": repo}) == \
        "RepositoryAlreadyExistsException"
    for bad in ["Upper", "a//b", "-lead", "trail/"]:   # ECR's own name rule
        assert code_of(registry.create_repository, {"repositoryName": bad}) == \
            "InvalidParameterException"
    # What breaks the model (a name under its 2 or over its 256 characters, an unknown
    # member) is the model's ValidationException, as through the endpoint.
    for bad in ["x", "a" * 257]:
        assert code_of(registry.create_repository, {"repositoryName": bad}) == "ValidationException"
    assert code_of(registry.create_repository, {"repositoryName": "ok", "bogus": 1}) == \
        "ValidationException"
    assert code_of(registry.describe_repositories, {"repositoryNames": ["nope"]}) == \
        "RepositoryNotFoundException"
    assert len(registry.repositories) == 1


def test_describe_repositories_paginates(registry):
    for i in range(7):
        registry.create_repository({"repositoryName": f"r{i}"})
    names, token = [], None
    while True:
        request = {"maxResults": 3, **({"nextToken": token} if token else {})}
        page = registry.describe_repositories(request)
        names += [r["repositoryName"] for r in page["repositories"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == [f"r{i}" for i in range(7)]
    assert code_of(registry.describe_repositories, {"nextToken": "garbage"}) == \
        "InvalidParameterException"


def test_settings_and_resource_tags(registry, repo):
    arn = registry.repositories[repo].arn
    registry.put_image_scanning_configuration({"repositoryName": repo,
                                               "imageScanningConfiguration": {"scanOnPush": True}})
    registry.put_image_tag_mutability({"repositoryName": repo, "imageTagMutability": "IMMUTABLE"})
    described = registry.describe_repositories({})["repositories"][0]
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}
    assert described["imageTagMutability"] == "IMMUTABLE"
    registry.tag_resource({"resourceArn": arn, "tags": [{"Key": "team", "Value": "web"}]})
    registry.untag_resource({"resourceArn": arn, "tagKeys": ["env"]})
    assert registry.list_tags_for_resource({"resourceArn": arn})["tags"] == [
        {"Key": "team", "Value": "web"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert code_of(registry.tag_resource, {"resourceArn": arn, "tags": too_many}) == \
        "TooManyTagsException"
    assert code_of(registry.tag_resource, {"resourceArn": arn + "x", "tags": []}) == \
        "RepositoryNotFoundException"
    assert code_of(registry.list_tags_for_resource, {"resourceArn": "arn:aws:s3:::b"}) == \
        "InvalidParameterException"


def test_repository_policy(registry, repo):
    assert code_of(registry.get_repository_policy, {"repositoryName": repo}) == \
        "RepositoryPolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/bob"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
    registry.set_repository_policy({"repositoryName": repo, "policyText": policy})
    assert registry.get_repository_policy({"repositoryName": repo})["policyText"] == policy
    assert registry.repository_policy(repo)["Statement"][0]["Sid"] == "pull"
    for bad in ["{", json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*", "Principal": "*"}]})]:
        assert code_of(registry.set_repository_policy,
                       {"repositoryName": repo, "policyText": bad}) == "InvalidParameterException"
    registry.delete_repository_policy({"repositoryName": repo})
    assert code_of(registry.delete_repository_policy, {"repositoryName": repo}) == \
        "RepositoryPolicyNotFoundException"


def test_put_image_tags_moves_and_immutability(registry, repo, clock):
    first = push(registry, repo, [b"one"], tag="latest")
    clock.advance(60)
    second = push(registry, repo, [b"two"], tag="latest")
    details = {d["imageDigest"]: d for d in
               registry.describe_images({"repositoryName": repo})["imageDetails"]}
    assert details[second]["imageTags"] == ["latest"] and "imageTags" not in details[first]
    assert details[second]["imagePushedAt"].timestamp() - details[first]["imagePushedAt"].timestamp() == 60
    manifest = manifest_for(b'{"architecture":"amd64"}', [b"two"])
    assert code_of(registry.put_image, {"repositoryName": repo, "imageManifest": manifest,
                                        "imageTag": "latest"}) == "ImageAlreadyExistsException"
    assert code_of(registry.put_image, {"repositoryName": repo, "imageManifest": manifest,
                                        "imageDigest": sha(b"other")}) == \
        "ImageDigestDoesNotMatchException"
    registry.put_image_tag_mutability({"repositoryName": repo, "imageTagMutability": "IMMUTABLE"})
    with pytest.raises(ServiceError) as info:
        push(registry, repo, [b"three"], tag="latest")
    assert info.value.code == "ImageTagAlreadyExistsException"
    assert registry.repositories[repo].image_tags["latest"] == second
    assert code_of(registry.put_image, {"repositoryName": repo, "imageManifest":
                                        manifest_for(b"{}", [b"never"])}) == "LayersNotFoundException"
    assert code_of(registry.put_image, {"repositoryName": repo, "imageManifest": "[]"}) == \
        "InvalidParameterException"


def test_batch_get_and_delete(registry, repo):
    digest = push(registry, repo, [b"l1"], tag="a")
    registry.put_image({"repositoryName": repo, "imageTag": "b",
                        "imageManifest": manifest_for(b'{"architecture":"amd64"}', [b"l1"])})
    got = registry.batch_get_image({"repositoryName": repo, "imageIds": [
        {"imageTag": "a"}, {"imageDigest": digest}, {"imageTag": "zzz"},
        {"imageTag": "a", "imageDigest": sha(b"x")}, {}]})
    assert [i["imageId"]["imageDigest"] for i in got["images"]] == [digest, digest]
    assert json.loads(got["images"][0]["imageManifest"])["layers"][0]["digest"] == sha(b"l1")
    assert [f["failureCode"] for f in got["failures"]] == [
        "ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag"]
    # by tag: the tag goes; the image goes with its last tag
    out = registry.batch_delete_image({"repositoryName": repo, "imageIds": [{"imageTag": "a"}]})
    assert out["imageIds"] == [{"imageDigest": digest, "imageTag": "a"}]
    assert digest in registry.repositories[repo].images
    out = registry.batch_delete_image({"repositoryName": repo, "imageIds": [{"imageTag": "b"}]})
    assert digest not in registry.repositories[repo].images
    assert not registry.blobs.has(sha(b"l1"))          # the last holder let go: blob deleted
    assert code_of(registry.batch_get_image, {"repositoryName": "nope", "imageIds": [{"imageTag": "a"}]}) == \
        "RepositoryNotFoundException"


def test_describe_and_list_images_filters_and_pages(registry, repo, clock):
    digests = []
    for i in range(5):
        clock.advance(1)
        digests.append(push(registry, repo, [bytes([i])], tag=f"t{i}" if i % 2 == 0 else None))
    listed = registry.list_images({"repositoryName": repo, "filter": {"tagStatus": "UNTAGGED"}})
    assert [i["imageDigest"] for i in listed["imageIds"]] == [digests[1], digests[3]]
    page = registry.describe_images({"repositoryName": repo, "maxResults": 2})
    assert [d["imageDigest"] for d in page["imageDetails"]] == digests[:2]
    rest = registry.describe_images({"repositoryName": repo, "nextToken": page["nextToken"]})
    assert [d["imageDigest"] for d in rest["imageDetails"]] == digests[2:]
    assert code_of(registry.describe_images, {"repositoryName": repo,
                                              "imageIds": [{"imageTag": "none"}]}) == \
        "ImageNotFoundException"


def test_layer_operations(registry, repo):
    data = b"x" * 100
    upload = registry.initiate_layer_upload({"repositoryName": repo})
    part = {"repositoryName": repo, "uploadId": upload["uploadId"]}
    registry.upload_layer_part({**part, "partFirstByte": 0, "partLastByte": 49,
                                "layerPartBlob": data[:50]})
    assert code_of(registry.upload_layer_part, {**part, "partFirstByte": 10, "partLastByte": 59,
                                                "layerPartBlob": data[50:]}) == \
        "InvalidLayerPartException"
    registry.upload_layer_part({**part, "partFirstByte": 50, "partLastByte": 99,
                                "layerPartBlob": data[50:]})
    assert code_of(registry.complete_layer_upload, {**part, "layerDigests": [sha(b"y")]}) == \
        "InvalidLayerException"
    assert code_of(registry.complete_layer_upload, {**part, "layerDigests": [sha(data)]}) == \
        "UploadNotFoundException"   # a failed completion discards the upload
    upload_layer(registry, repo, data)
    checked = registry.batch_check_layer_availability(
        {"repositoryName": repo, "layerDigests": [sha(data), sha(b"no"), "bad"]})
    assert checked["layers"] == [{"layerDigest": sha(data), "layerAvailability": "AVAILABLE",
                                  "layerSize": 100}]
    assert [f["failureCode"] for f in checked["failures"]] == ["MissingLayerDigest",
                                                               "InvalidLayerDigest"]
    url = registry.get_download_url_for_layer({"repositoryName": repo, "layerDigest": sha(data)})
    assert url["downloadUrl"].endswith(f"/v2/{repo}/blobs/{sha(data)}")
    assert code_of(registry.get_download_url_for_layer,
                   {"repositoryName": repo, "layerDigest": sha(b"no")}) == "LayersNotFoundException"
    with pytest.raises(ServiceError) as info:
        upload_layer(registry, repo, data)
    assert info.value.code == "LayerAlreadyExistsException"


def test_authorization_token(registry, clock):
    data = registry.get_authorization_token({})["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    assert data["expiresAt"].timestamp() == clock() + 12 * 3600
    header = "Basic " + data["authorizationToken"]
    assert registry.authenticate(header) == "arn:aws:iam::123456789012:root"
    clock.advance(12 * 3600 - 1)
    assert registry.authenticate(header) is not None
    clock.advance(1)
    assert registry.authenticate(header) is None
    assert registry.authenticate("Basic !!!") is None


def test_delete_repository_force(registry, repo):
    push(registry, repo, [b"keep"], tag="v1")
    assert code_of(registry.delete_repository, {"repositoryName": repo}) == \
        "RepositoryNotEmptyException"
    registry.delete_repository({"repositoryName": repo, "force": True})
    assert repo not in registry.repositories and registry.blobs.digests() == []
    assert code_of(registry.delete_repository, {"repositoryName": repo}) == \
        "RepositoryNotFoundException"


def test_blobs_are_shared_between_repositories(registry):
    for name in ("a1", "a2"):
        registry.create_repository({"repositoryName": name})
        push(registry, name, [b"common layer"], tag="v1")
    assert registry.blobs.blobs_written == 2        # config and layer, once each
    registry.delete_repository({"repositoryName": "a1", "force": True})
    assert registry.blobs.has(sha(b"common layer"))  # a2 still holds it
    registry.batch_delete_image({"repositoryName": "a2", "imageIds": [{"imageTag": "v1"}]})
    assert not registry.blobs.has(sha(b"common layer"))


def test_lifecycle_preview_and_daily_expiry(registry, repo, clock):
    digests = []
    for i in range(4):
        digests.append(push(registry, repo, [bytes([i])], tag=None if i < 3 else "v1"))
        clock.advance(86400)
    policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]})
    assert code_of(registry.start_lifecycle_policy_preview, {"repositoryName": repo}) == \
        "LifecyclePolicyNotFoundException"
    assert code_of(registry.get_lifecycle_policy_preview, {"repositoryName": repo}) == \
        "LifecyclePolicyPreviewNotFoundException"
    started = registry.start_lifecycle_policy_preview({"repositoryName": repo,
                                                       "lifecyclePolicyText": policy})
    assert started["status"] == "COMPLETE"
    preview = registry.get_lifecycle_policy_preview({"repositoryName": repo})
    assert [r["imageDigest"] for r in preview["previewResults"]] == digests[:2]
    assert preview["summary"] == {"expiringImageTotalCount": 2}
    assert all(r["appliedRulePriority"] == 1 and r["action"] == {"type": "EXPIRE"}
               for r in preview["previewResults"])
    assert len(registry.repositories[repo].images) == 4   # a preview deletes nothing
    registry.put_lifecycle_policy({"repositoryName": repo, "lifecyclePolicyText": policy})
    events = registry.daily_expiry()
    assert [e["imageDigest"] for e in events] == digests[:2]
    assert set(registry.repositories[repo].images) == set(digests[2:])
    assert registry.daily_expiry() == []
    registry.delete_lifecycle_policy({"repositoryName": repo})
    assert code_of(registry.get_lifecycle_policy, {"repositoryName": repo}) == \
        "LifecyclePolicyNotFoundException"


def test_handle_dispatches_by_operation_name(registry):
    registry.handle("CreateRepository", {"repositoryName": "via-handle"})
    assert registry.handle("DescribeRepositories", {})["repositories"][0]["repositoryName"] == \
        "via-handle"
    assert code_of(registry.handle, "Nope", {}) == "InvalidParameterException"
    token = registry.handle("GetAuthorizationToken", {}, principal="arn:aws:iam::123456789012:user/a")
    header = "Basic " + token["authorizationData"][0]["authorizationToken"]
    assert registry.authenticate(header) == "arn:aws:iam::123456789012:user/a"


def test_every_listed_operation_exists():
    registry = ECRRegistry()
    from quaymaster.ecr.api_model import ecr_model
    names = set(ecr_model().operation_names)
    for operation in ECRRegistry.OPERATIONS:
        assert operation in names
        assert callable(getattr(registry, __import__("re").sub(r"(?<!^)(?=[A-Z])", "_",
                                                               operation).lower()))


def test_docker_schema2_media_type(registry, repo):
    manifest = manifest_for(b'{"architecture":"amd64"}', [b"d"],
                            media_type="application/vnd.docker.distribution.manifest.v2+json")
    push(registry, repo, [b"d"])
    registry.put_image({"repositoryName": repo, "imageManifest": manifest, "imageTag": "docker"})
    detail = registry.describe_images({"repositoryName": repo,
                                       "imageIds": [{"imageTag": "docker"}]})["imageDetails"][0]
    assert detail["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert code_of(registry.put_image, {"repositoryName": repo, "imageManifest": manifest,
                                        "imageManifestMediaType": OCI}) == "InvalidParameterException"


def test_pull_error_for_task_images(registry, repo):
    digest = push(registry, repo, [b"app"], tag="v1")
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert registry.pull_error(f"{host}/{repo}:v1") is None
    assert registry.pull_error(f"{host}/{repo}@{digest}") is None
    for missing in (f"{host}/{repo}:v2", f"{host}/{repo}", f"{host}/other:v1",
                    f"{host}/{repo}@{sha(b'x')}"):
        reason = registry.pull_error(missing)
        assert reason.startswith("CannotPullContainerError") and missing in reason
    assert registry.pull_error("nginx:latest") is None          # not this registry
    assert registry.pull_error("210987654321.dkr.ecr.us-east-1.amazonaws.com/x:v1") is None
