"""The whole story through real clients against a real ``quaymaster serve`` of the
real Region: boto3's ecs and ecr clients, the AWS CLI as a subprocess, and the
``oras`` OCI client pushing through the served ``/v2/`` with the ECR token.

ECS answers are checked against a Python ``Region`` given the same calls in the
same order (same seed): placements, ARNs and deployments must be the same."""

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import oras.client
import pytest

from quaymaster.region import Region
from quaymaster.region.dispatch import snake_case
from server_support import ROOT, Server, client, env

AWS = str(Path(sys.executable).parent / "aws")
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
SPREAD_BINPACK = [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                  {"type": "binpack", "field": "memory"}]
FRONT_ONLY = [{"type": "memberOf", "expression": "attribute:tier == front"}]


class Twin:
    """Each ECS call to the server through boto3 and to a Python Region, in the same order."""

    def __init__(self, url: str):
        self.url = url
        self.ecs = client("ecs", url)
        self.region = Region()

    def call(self, operation: str, **request):
        served = getattr(self.ecs, snake_case(operation))(**request)
        local = self.region.handle("ecs", operation, request)
        return served, local

    def advance(self, server: Server, seconds: int) -> dict:
        status, clock = server.post("/_quaymaster/clock/advance", {"seconds": seconds})
        assert status == 200
        self.region.advance(seconds)
        return clock


def instance_document(i: int) -> str:
    """What the ECS agent sends: the EC2 instance identity document."""
    return json.dumps({"instanceId": f"i-{i:017x}", "availabilityZone": ZONES[i % 3],
                       "instanceType": "m5.large", "region": "us-east-1",
                       "accountId": "123456789012", "imageId": "ami-0123456789abcdef0"})


@pytest.fixture(scope="module")
def story():
    server = Server()
    twin = Twin(server.url)
    twin.call("CreateCluster", clusterName="story")
    for i in range(6):
        twin.call("RegisterContainerInstance", cluster="story",
                  instanceIdentityDocument=instance_document(i),
                  totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                                  {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
                  attributes=[{"name": "tier", "value": "front" if i % 2 == 0 else "back"}])
    for image in ("nginx:1", "nginx:2"):
        twin.call("RegisterTaskDefinition", family="web", containerDefinitions=[
            {"name": "app", "image": image, "cpu": 256, "memory": 512}])
    yield server, twin
    server.stop()


def _placements(answer: dict) -> list[tuple[str, str]]:
    return [(t["taskArn"], t["containerInstanceArn"]) for t in answer["tasks"]]


def test_run_task_places_as_the_python_region_does(story):
    server, twin = story
    served, local = twin.call("RunTask", cluster="story", taskDefinition="web:1", count=5,
                              placementStrategy=SPREAD_BINPACK, placementConstraints=FRONT_ONLY)
    assert _placements(served) == _placements(local) and served["failures"] == local["failures"] == []
    fronts = {f"arn:aws:ecs:us-east-1:123456789012:container-instance/story/i-{i:017x}" for i in (0, 2, 4)}
    assert {arn for _, arn in _placements(served)} == fronts  # memberOf kept them on the front tier
    impossible, local_impossible = twin.call(
        "RunTask", cluster="story", taskDefinition="web:1", count=1,
        placementConstraints=[{"type": "memberOf", "expression": "attribute:tier == nowhere"}])
    assert impossible["tasks"] == [] and impossible["failures"] == local_impossible["failures"]
    assert impossible["failures"][0]["reason"].startswith("MemberOf")  # ECS's failure reason


def _deployments(answer: dict) -> list[tuple]:
    service = answer["services"][0]
    return [(d["status"], d["taskDefinition"], d.get("rolloutState"), d["runningCount"])
            for d in service["deployments"]]


def test_service_deployment_progresses_with_the_clock_route(story):
    server, twin = story
    twin.call("CreateService", cluster="story", serviceName="svc", taskDefinition="web:1",
              desiredCount=2)
    twin.advance(server, 120)
    served, local = twin.call("DescribeServices", cluster="story", services=["svc"])
    assert _deployments(served) == _deployments(local)
    assert served["services"][0]["runningCount"] == 2
    twin.call("UpdateService", cluster="story", service="svc", taskDefinition="web:2")
    served, local = twin.call("DescribeServices", cluster="story", services=["svc"])
    assert [d[:3] for d in _deployments(served)] == [
        ("PRIMARY", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "IN_PROGRESS"),
        ("ACTIVE", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "COMPLETED")]
    twin.advance(server, 60)
    served, local = twin.call("DescribeServices", cluster="story", services=["svc"])
    assert _deployments(served) == _deployments(local)
    assert _deployments(served)[0][3] == 2          # the new tasks run, the old ones still too
    clock = twin.advance(server, 900)
    assert clock["time"] == "2026-01-01T00:18:00.000Z"
    served, local = twin.call("DescribeServices", cluster="story", services=["svc"])
    assert _deployments(served) == _deployments(local) == [
        ("PRIMARY", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", "COMPLETED", 2)]


def aws(url: str, *args: str) -> subprocess.CompletedProcess:
    environment = dict(env(), AWS_ACCESS_KEY_ID="AKIDTEST", AWS_SECRET_ACCESS_KEY="secret",
                       AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                       AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    return subprocess.run([AWS, "--endpoint-url", url, *args], capture_output=True, text=True,
                          env=environment, timeout=120, cwd=ROOT)


def test_aws_cli_story(story):
    server, twin = story
    done = aws(server.url, "ecs", "list-clusters")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clusterArns"] == \
        twin.region.handle("ecs", "ListClusters", {})["clusterArns"]
    made = aws(server.url, "ecs", "create-service", "--cluster", "story", "--service-name", "cli",
               "--task-definition", "web:2", "--desired-count", "1")
    assert made.returncode == 0, made.stderr
    twin.region.handle("ecs", "CreateService", {"cluster": "story", "serviceName": "cli",
                                                "taskDefinition": "web:2", "desiredCount": 1})
    assert json.loads(made.stdout)["service"]["serviceArn"] == \
        "arn:aws:ecs:us-east-1:123456789012:service/story/cli"
    described = aws(server.url, "ecs", "describe-services", "--cluster", "story", "--services", "cli")
    assert described.returncode == 0, described.stderr
    service = json.loads(described.stdout)["services"][0]
    assert (service["status"], service["desiredCount"]) == ("ACTIVE", 1)
    table = aws(server.url, "ecs", "describe-services", "--cluster", "story", "--services", "cli",
                "--output", "table")
    assert table.returncode == 0 and "DescribeServices" in table.stdout and "web:2" in table.stdout
    listed = aws(server.url, "ecs", "list-container-instances", "--cluster", "story",
                 "--filter", "attribute:tier == back")
    assert listed.returncode == 0, listed.stderr
    expected = twin.region.handle("ecs", "ListContainerInstances",
                                  {"cluster": "story", "filter": "attribute:tier == back"})
    assert json.loads(listed.stdout)["containerInstanceArns"] == expected["containerInstanceArns"]
    assert [a[-3:] for a in expected["containerInstanceArns"]] == ["001", "003", "005"]
    table = aws(server.url, "ecs", "list-container-instances", "--cluster", "story",
                "--filter", "attribute:tier == back", "--output", "table")
    assert table.returncode == 0 and table.stdout.count("container-instance/story/") == 3
    bad = aws(server.url, "ecs", "list-container-instances", "--cluster", "story",
              "--filter", "attribute:tier ==")
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _upload(ecr, repo: str, data: bytes) -> str:
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    return ecr.complete_layer_upload(repositoryName=repo, uploadId=upload,
                                     layerDigests=[_sha(data)])["layerDigest"]


def _manifest(config: bytes, layer: bytes) -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": _sha(config), "size": len(config)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": _sha(layer), "size": len(layer)}]})


def test_ecr_api_through_boto3(story):
    server, _ = story
    ecr = client("ecr", server.url)
    made = ecr.create_repository(repositoryName="team/web", imageTagMutability="IMMUTABLE")
    assert made["repository"]["repositoryUri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web"
    config, layer = b'{"architecture":"amd64"}', os.urandom(5000)
    assert [_upload(ecr, "team/web", blob) for blob in (config, layer)] == [_sha(config), _sha(layer)]
    pushed = ecr.put_image(repositoryName="team/web", imageManifest=_manifest(config, layer),
                           imageTag="v1")["image"]["imageId"]
    images = ecr.describe_images(repositoryName="team/web")["imageDetails"]
    assert [(i["imageDigest"], i["imageTags"]) for i in images] == [(pushed["imageDigest"], ["v1"])]
    assert images[0]["imageSizeInBytes"] == len(layer)  # ECR counts the layers
    assert images[0]["imagePushedAt"].isoformat().startswith("2026-01-01T00:18")  # the region clock
    other = b'{"architecture":"arm64"}'
    _upload(ecr, "team/web", other)
    with pytest.raises(ecr.exceptions.ImageTagAlreadyExistsException):
        ecr.put_image(repositoryName="team/web", imageManifest=_manifest(other, layer), imageTag="v1")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_images(repositoryName="team/nothing")
    assert len(ecr.describe_images(repositoryName="team/web")["imageDetails"]) == 1


def test_oras_pushes_and_pulls_through_the_served_registry(story, tmp_path, monkeypatch):
    server, _ = story
    ecr = client("ecr", server.url)
    ecr.create_repository(repositoryName="team/artifacts")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    host = server.url.split("//")[1]
    files = {"model.bin": os.urandom(200_000), "notes.txt": b"hello registry\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    oras_client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    oras_client.auth.set_basic_auth("AWS", password)
    assert oras_client.push(target=f"{host}/team/artifacts:v1", files=list(files)).status_code == 201
    assert oras_client.get_tags(f"{host}/team/artifacts") == ["v1"]
    pulled = oras_client.pull(target=f"{host}/team/artifacts:v1", outdir=str(tmp_path / "out"))
    assert sorted(os.path.basename(p) for p in pulled) == sorted(files)
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    # The push went into the region's registry: the ECR API sees it.
    images = ecr.describe_images(repositoryName="team/artifacts")["imageDetails"]
    assert [i["imageTags"] for i in images] == [["v1"]]
    stranger = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    stranger.auth.set_basic_auth("AWS", "not-a-token")
    with pytest.raises(Exception):
        stranger.push(target=f"{host}/team/artifacts:v2", files=["notes.txt"])
    assert [i["imageTags"] for i in ecr.describe_images(repositoryName="team/artifacts")["imageDetails"]] \
        == [["v1"]]
