"""Replication across regions on push, and the pull-through cache against a second registry."""

import pytest
import requests

from ecr_helpers import allow_all, password_of, push, sha
from quaymaster.ecr import BlobStore, ECRRegistry, registry_app
from quaymaster.errors import ServiceError
from ecr_serve import serving


@pytest.fixture
def regions(clock):
    registries = {}

    def resolve(name):
        if name not in registries:
            registries[name] = ECRRegistry(region=name, clock=clock, resolver=resolve)
        return registries[name]
    resolve("us-east-1")
    return registries, resolve


def test_push_replicates_to_destination_regions(regions):
    registries, resolve = regions
    home = registries["us-east-1"]
    home.put_replication_configuration({"replicationConfiguration": {"rules": [{
        "destinations": [{"region": "eu-west-1", "registryId": home.account}],
        "repositoryFilters": [{"filter": "prod", "filterType": "PREFIX_MATCH"}]}]}})
    assert home.describe_registry({})["replicationConfiguration"]["rules"][0][
        "destinations"] == [{"region": "eu-west-1", "registryId": home.account}]
    for name in ("prod/api", "dev/api"):
        home.create_repository({"repositoryName": name})
    digest = push(home, "prod/api", [b"layer"], tag="v1")
    push(home, "dev/api", [b"other"], tag="v1")
    eu = resolve("eu-west-1")
    assert list(eu.repositories) == ["prod/api"]          # the filter left dev/api alone
    copied = eu.batch_get_image({"repositoryName": "prod/api", "imageIds": [{"imageTag": "v1"}]})
    assert copied["images"][0]["imageId"]["imageDigest"] == digest
    assert eu.blobs.get(sha(b"layer")) == b"layer"


def test_replication_configuration_validation(registry):
    for dest in ({"region": "us-east-1", "registryId": registry.account},
                 {"region": "not a region", "registryId": registry.account}):
        with pytest.raises(ServiceError) as info:
            registry.put_replication_configuration(
                {"replicationConfiguration": {"rules": [{"destinations": [dest]}]}})
        assert info.value.code == "InvalidParameterException"
    assert registry.describe_registry({})["replicationConfiguration"] == {"rules": []}


def test_pull_through_cache_rules(registry):
    rule = registry.create_pull_through_cache_rule(
        {"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": "registry-1.docker.io"})
    assert rule["ecrRepositoryPrefix"] == "hub"
    with pytest.raises(ServiceError) as info:
        registry.create_pull_through_cache_rule(
            {"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": "elsewhere.example"})
    assert info.value.code == "PullThroughCacheRuleAlreadyExistsException"
    described = registry.describe_pull_through_cache_rules({})["pullThroughCacheRules"]
    assert [r["upstreamRegistryUrl"] for r in described] == ["registry-1.docker.io"]
    registry.delete_pull_through_cache_rule({"ecrRepositoryPrefix": "hub"})
    with pytest.raises(ServiceError) as info:
        registry.describe_pull_through_cache_rules({"ecrRepositoryPrefixes": ["hub"]})
    assert info.value.code == "PullThroughCacheRuleNotFoundException"


def test_pull_through_fetches_from_an_upstream_registry_and_caches(registry, clock):
    upstream = ECRRegistry(account="210987654321", clock=clock)
    upstream.create_repository({"repositoryName": "library/nginx"})
    digest = push(upstream, "library/nginx", [b"nginx layer " * 100], tag="1.27")
    with serving(registry_app(upstream, allow_all, anonymous="anonymous")) as upstream_url:
        registry.create_pull_through_cache_rule(
            {"ecrRepositoryPrefix": "hub", "upstreamRegistryUrl": upstream_url})
        with serving(registry_app(registry, allow_all)) as url:
            session = requests.Session()
            session.auth = ("AWS", password_of(registry))
            got = session.get(f"{url}/v2/hub/library/nginx/manifests/1.27")
            assert got.status_code == 200 and got.headers["Docker-Content-Digest"] == digest
            blob = session.get(f"{url}/v2/hub/library/nginx/blobs/{sha(b'nginx layer ' * 100)}")
            assert blob.content == b"nginx layer " * 100
            missing = session.get(f"{url}/v2/hub/library/nginx/manifests/9.9")
            assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == \
                "MANIFEST_UNKNOWN"
        # the API pulls through as well, and the cached image needs no upstream any more
        api = registry.batch_get_image({"repositoryName": "hub/library/nginx",
                                        "imageIds": [{"imageTag": "1.27"}]})
        assert api["images"][0]["imageId"]["imageDigest"] == digest
    cached = registry.batch_get_image({"repositoryName": "hub/library/nginx",
                                       "imageIds": [{"imageTag": "1.27"}]})
    assert cached["images"][0]["imageId"]["imageDigest"] == digest
    with pytest.raises(ServiceError) as info:
        registry.batch_get_image({"repositoryName": "hub/library/nginx",
                                  "imageIds": [{"imageTag": "gone"}]})
    assert info.value.code == "UnableToGetUpstreamImageException"


def test_disk_blob_store(tmp_path):
    store = BlobStore(tmp_path)
    digest = store.put(b"persisted")
    assert (tmp_path / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == b"persisted"
    assert list((tmp_path / "uploads").iterdir()) == []     # the temporary file was renamed
    abandoned = store.start_upload()
    abandoned.append(b"half an upload")
    again = BlobStore(tmp_path)          # a restart: the abandoned upload's file is removed
    assert again.has(digest) and again.get(digest) == b"persisted"
    assert list((tmp_path / "uploads").iterdir()) == []
    assert b"".join(again.iter_bytes(digest, 2, 5)) == b"rsi"
    with pytest.raises(ValueError):
        store.put(b"data", sha(b"other"))
    assert list((tmp_path / "uploads").iterdir()) == []
    assert not store.has("sha256:../../etc/passwd")
    registry = ECRRegistry(state_dir=str(tmp_path / "state"))
    registry.create_repository({"repositoryName": "disk"})
    push(registry, "disk", [b"on disk"], tag="v1")
    assert (tmp_path / "state" / "blobs" / "sha256" / sha(b"on disk").split(":")[1]).exists()


def test_state_snapshot_round_trip(tmp_path, clock):
    import json
    first = ECRRegistry(state_dir=str(tmp_path), clock=clock)
    first.create_repository({"repositoryName": "keep/me", "imageTagMutability": "IMMUTABLE"})
    digest = push(first, "keep/me", [b"durable layer"], tag="v1")
    first.put_lifecycle_policy({"repositoryName": "keep/me", "lifecyclePolicyText": json.dumps(
        {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType":
                    "imageCountMoreThan", "countNumber": 5}, "action": {"type": "expire"}}]})})
    first.create_pull_through_cache_rule({"ecrRepositoryPrefix": "hub",
                                          "upstreamRegistryUrl": "registry-1.docker.io"})
    snapshot = json.loads(json.dumps(first.to_state()))
    second = ECRRegistry(state_dir=str(tmp_path), clock=clock)
    second.load_state(snapshot)
    for call in ("describe_repositories", "describe_pull_through_cache_rules"):
        assert getattr(second, call)({}) == getattr(first, call)({})
    request = {"repositoryName": "keep/me"}
    assert second.describe_images(request) == first.describe_images(request)
    assert second.get_lifecycle_policy(request) == first.get_lifecycle_policy(request)
    got = second.batch_get_image({**request, "imageIds": [{"imageTag": "v1"}]})
    assert got["images"][0]["imageId"]["imageDigest"] == digest
    assert second.blobs.get(sha(b"durable layer")) == b"durable layer"
    with pytest.raises(ServiceError) as info:
        push(second, "keep/me", [b"other"], tag="v1")
    assert info.value.code == "ImageTagAlreadyExistsException"
    first.load_state(snapshot)      # onto a registry that already holds the same blobs
    assert first.blobs.get(sha(b"durable layer")) == b"durable layer"
    first.batch_delete_image({"repositoryName": "keep/me", "imageIds": [{"imageTag": "v1"}]})
    assert not first.blobs.has(sha(b"durable layer"))   # holders counted once, not twice
