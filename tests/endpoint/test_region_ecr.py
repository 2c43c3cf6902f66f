"""The Region's ECR registry: reached by ``Region.handle("ecr", ...)``, on the region's
clock, with lifecycle policies applied at the first tick of each UTC day."""

import hashlib
import json

import pytest

from quaymaster.errors import ServiceError
from quaymaster.region import Region

KEEP_TWO = json.dumps({"rules": [{"rulePriority": 1, "description": "keep two",
                                  "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                "countNumber": 2},
                                  "action": {"type": "expire"}}]})


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push(region: Region, repo: str, n: int) -> str:
    blob = f'{{"build": {n}}}'.encode()
    upload = region.handle("ecr", "InitiateLayerUpload", {"repositoryName": repo})["uploadId"]
    region.handle("ecr", "UploadLayerPart", {"repositoryName": repo, "uploadId": upload,
                                             "partFirstByte": 0, "partLastByte": len(blob) - 1,
                                             "layerPartBlob": blob})
    region.handle("ecr", "CompleteLayerUpload", {"repositoryName": repo, "uploadId": upload,
                                                 "layerDigests": [_sha(blob)]})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": _sha(blob), "size": len(blob)}, "layers": []})
    answer = region.handle("ecr", "PutImage", {"repositoryName": repo, "imageManifest": manifest,
                                               "imageTag": f"b{n}"})
    return answer["image"]["imageId"]["imageDigest"]


def tags(region: Region, repo: str) -> list[str]:
    details = region.handle("ecr", "DescribeImages", {"repositoryName": repo})["imageDetails"]
    return sorted(t for d in details for t in d.get("imageTags", []))


def test_ecr_calls_reach_the_regions_registry_on_its_clock():
    region = Region("eu-west-1", "111122223333")
    made = region.handle("ecr", "CreateRepository", {"repositoryName": "team/app"})["repository"]
    assert made["repositoryArn"] == "arn:aws:ecr:eu-west-1:111122223333:repository/team/app"
    region.advance(3600)
    push(region, "team/app", 1)
    pushed_at = region.handle("ecr", "DescribeImages", {"repositoryName": "team/app"})["imageDetails"][0]
    assert pushed_at["imagePushedAt"].isoformat() == "2026-01-01T01:00:00+00:00"
    with pytest.raises(ServiceError) as caught:
        region.handle("ecr", "DescribeImages", {"repositoryName": "team/none"})
    assert caught.value.code == "RepositoryNotFoundException"


def test_lifecycle_policy_expires_at_the_first_tick_of_the_day():
    region = Region()
    region.handle("ecr", "CreateRepository", {"repositoryName": "builds"})
    for n in range(5):
        push(region, "builds", n)
        region.advance(60)
    region.handle("ecr", "PutLifecyclePolicy", {"repositoryName": "builds", "lifecyclePolicyText": KEEP_TWO})
    region.advance(23 * 3600)                       # 23:05 of the first day: nothing yet
    assert tags(region, "builds") == ["b0", "b1", "b2", "b3", "b4"]
    region.advance(3600)                            # past midnight: the two newest stay
    assert tags(region, "builds") == ["b3", "b4"]
    events = region.ecr.lifecycle_events
    assert [e["imageTags"] for e in events] == [["b0"], ["b1"], ["b2"]]
    assert {e["time"] for e in events} == {1767312000.0}   # 2026-01-02T00:00:00Z


def test_expiry_runs_every_day_and_a_region_without_policies_jumps():
    region = Region()
    region.handle("ecr", "CreateRepository", {"repositoryName": "idle"})
    region.advance(4 * 366 * 86400)                 # no policy: no day is due, one jump
    assert region.clock.datetime().isoformat() == "2030-01-04T00:00:00+00:00"
    region.handle("ecr", "CreateRepository", {"repositoryName": "daily"})
    region.handle("ecr", "PutLifecyclePolicy", {"repositoryName": "daily", "lifecyclePolicyText": KEEP_TWO})
    for day in range(3):                            # one push a day, from 12:00
        region.advance(12 * 3600)
        push(region, "daily", 10 + day)
        region.advance(12 * 3600)
    region.advance(1)
    assert tags(region, "daily") == ["b11", "b12"]
    assert [e["imageTags"] for e in region.ecr.lifecycle_events] == [["b10"]]
