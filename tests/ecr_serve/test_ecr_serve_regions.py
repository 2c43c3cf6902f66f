"""Two real servers: a pull-through cache whose upstream is another ``quaymaster serve``;
and one server's every region under /v2/, chosen by the Host header."""

import os

import pytest
import requests

from oras_support import ACCOUNT, oras_for, password, pull_after_restart, pull_into, write_files
from server_support import Server, client


@pytest.fixture
def two_servers():
    upstream, downstream = Server(), None
    try:
        downstream = Server()
        yield upstream, downstream
    finally:
        upstream.stop()
        if downstream is not None:
            downstream.stop()


def test_pull_through_from_a_second_server(two_servers, tmp_path, monkeypatch):
    upstream, downstream = two_servers
    monkeypatch.chdir(tmp_path)
    client("ecr", upstream.url).create_repository(repositoryName="team/app")
    pusher, up_host = oras_for(upstream.url, password(upstream.url))
    files = {"app.bin": os.urandom(250_000), "readme.txt": b"upstream artifact\n"}
    assert pusher.push(target=f"{up_host}/team/app:v1",
                       files=write_files(tmp_path, files)).status_code == 201

    ecr = client("ecr", downstream.url)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", upstreamRegistryUrl=upstream.url)
    puller, host = oras_for(downstream.url, password(downstream.url))
    assert pull_into(puller, f"{host}/hub/team/app:v1", tmp_path / "out") == files
    cached = ecr.describe_images(repositoryName="hub/team/app")["imageDetails"]
    upstream_image = client("ecr", upstream.url).describe_images(repositoryName="team/app")
    assert [(d["imageDigest"], d["imageTags"]) for d in cached] == \
        [(d["imageDigest"], d["imageTags"]) for d in upstream_image["imageDetails"]]
    upstream.stop()                       # served from the cache from now on
    assert pull_into(puller, f"{host}/hub/team/app:v1", tmp_path / "again") == files
    missing = requests.get(f"{downstream.url}/v2/hub/team/app/manifests/v9",
                           auth=("AWS", password(downstream.url)))
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_pulled_through_images_survive_a_restart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    upstream = Server()
    state = tmp_path / "state"
    downstream = Server("--state", str(state))
    try:
        client("ecr", upstream.url).create_repository(repositoryName="lib/base")
        pusher, up_host = oras_for(upstream.url, password(upstream.url))
        files = {"base.tar": os.urandom(120_000)}
        pusher.push(target=f"{up_host}/lib/base:1", files=write_files(tmp_path, files))
        ecr = client("ecr", downstream.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="mirror",
                                           upstreamRegistryUrl=upstream.url)
        # BatchGetImage pulls through as well (a read that writes: journaled all the same)
        got = ecr.batch_get_image(repositoryName="mirror/lib/base", imageIds=[{"imageTag": "1"}])
        assert got["failures"] == [] and len(got["images"]) == 1
    finally:
        upstream.stop()
    downstream.kill()
    assert pull_after_restart(state, "mirror/lib/base:1", tmp_path / "out") == files


def registry_host(region: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com"


def test_every_region_answers_under_v2_by_host(server_in_tmp, tmp_path):
    server = server_in_tmp
    for region in ("us-east-1", "us-west-2"):
        client("ecr", server.url, region=region).create_repository(repositoryName="team/app")
    west, host = oras_for(server.url, password(server.url, "us-west-2"), registry_host("us-west-2"))
    files = {"west.bin": os.urandom(50_000)}
    assert west.push(target=f"{host}/team/app:w1", files=write_files(tmp_path, files)).status_code == 201
    assert west.get_tags(f"{host}/team/app") == ["w1"]
    tags = {region: [t for d in client("ecr", server.url, region=region).describe_images(
        repositoryName="team/app")["imageDetails"] for t in d.get("imageTags", [])]
        for region in ("us-east-1", "us-west-2")}
    assert tags == {"us-east-1": [], "us-west-2": ["w1"]}
    # a token is its region's: us-east-1's does not open us-west-2
    east_token = password(server.url, "us-east-1")
    refused = requests.get(f"{server.url}/v2/team/app/tags/list", auth=("AWS", east_token),
                           headers={"Host": registry_host("us-west-2")})
    assert refused.status_code == 401
    foreign = requests.get(f"{server.url}/v2/team/app/tags/list", auth=("AWS", east_token),
                           headers={"Host": "210987654321.dkr.ecr.us-east-1.amazonaws.com"})
    assert foreign.status_code == 404 and foreign.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_an_image_replicated_to_another_region_is_pullable_there(server_in_tmp, tmp_path):
    server = server_in_tmp
    east = client("ecr", server.url, region="us-east-1")
    east.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}],
        "repositoryFilters": [{"filter": "shared", "filterType": "PREFIX_MATCH"}]}]})
    east.create_repository(repositoryName="shared/app")
    pusher, host = oras_for(server.url, password(server.url))      # the default region
    files = {"shared.bin": os.urandom(80_000)}
    assert pusher.push(target=f"{host}/shared/app:v1", files=write_files(tmp_path, files)).status_code == 201
    for host_header in (registry_host("eu-west-1"), "eu-west-1.localhost"):
        puller, host = oras_for(server.url, password(server.url, "eu-west-1"), host_header)
        assert pull_into(puller, f"{host}/shared/app:v1", tmp_path / host_header) == files
    replica = client("ecr", server.url, region="eu-west-1").describe_images(repositoryName="shared/app")
    assert replica["imageDetails"][0]["imageTags"] == ["v1"]


@pytest.fixture
def server_in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    running = Server()
    yield running
    running.stop()


def test_served_tasks_check_images_of_every_region(server_in_tmp, tmp_path):
    import json
    server = server_in_tmp
    client("ecr", server.url, region="us-west-2").create_repository(repositoryName="team/app")
    west, host = oras_for(server.url, password(server.url, "us-west-2"), registry_host("us-west-2"))
    assert west.push(target=f"{host}/team/app:v1",
                     files=write_files(tmp_path, {"a.bin": b"west"})).status_code == 201
    ecs = client("ecs", server.url)
    ecs.create_cluster(clusterName="prod")
    ecs.register_container_instance(
        cluster="prod", instanceIdentityDocument=json.dumps({
            "instanceId": "i-00000000000000001", "availabilityZone": "us-east-1a",
            "instanceType": "m5.large"}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}])
    images = {"west": f"{registry_host('us-west-2')}/team/app:v1",
              "west-missing": f"{registry_host('us-west-2')}/team/app:v2",
              "nowhere": f"{registry_host('ap-south-2')}/team/app:v1",   # a region never used
              "east-missing": f"{registry_host('us-east-1')}/team/app:v1"}
    arns = {}
    for family, image in images.items():
        ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": "app", "image": image, "cpu": 128, "memory": 128}])
        arns[family] = ecs.run_task(cluster="prod", taskDefinition=family)["tasks"][0]["taskArn"]
    status, _ = server.post("/_quaymaster/clock/advance", {"seconds": 120})
    assert status == 200
    tasks = {t["taskArn"]: t for t in ecs.describe_tasks(cluster="prod", tasks=list(arns.values()))["tasks"]}
    outcome = {family: (tasks[arn]["lastStatus"], tasks[arn].get("stopCode")) for family, arn in arns.items()}
    assert outcome == {"west": ("RUNNING", None), "west-missing": ("STOPPED", "TaskFailedToStart"),
                       "nowhere": ("STOPPED", "TaskFailedToStart"),
                       "east-missing": ("STOPPED", "TaskFailedToStart")}
    assert tasks[arns["nowhere"]]["stoppedReason"].startswith("CannotPullContainerError: ")
