"""Durable state: replay on restart, snapshots, and kill -9 at random moments
(every acknowledged call survives; the one in flight is wholly there or absent)."""

import random
import threading
import time

import pytest
# botocore wraps urllib3's errors in HTTPClientError (urllib3 is not ours to import)
from botocore.exceptions import (ClientError, ConnectionClosedError, EndpointConnectionError,
                                 HTTPClientError)

from server_support import Server, client


def state_of(url):
    ecs = client("ecs", url)
    arns = [a for p in ecs.get_paginator("list_clusters").paginate() for a in p["clusterArns"]]
    names = sorted(a.rsplit("/", 1)[1] for a in arns)
    described = ecs.describe_clusters(clusters=names, include=["TAGS"])["clusters"] if names else []
    clock = Server.get.__get__(type("S", (), {"url": url})())("/_quaymaster/clock")
    return {c["clusterName"]: (c["status"], tuple(sorted((t["key"], t["value"]) for t in c.get("tags", []))))
            for c in described}, clock


def test_restart_replays_the_journal(tmp_path):
    first = Server("--state", str(tmp_path))
    ecs = client("ecs", first.url)
    ecs.create_cluster(clusterName="a", tags=[{"key": "k", "value": "1"}])
    ecs.create_cluster(clusterName="b")
    ecs.tag_resource(resourceArn="arn:aws:ecs:us-east-1:123456789012:cluster/b",
                     tags=[{"key": "x", "value": "y"}])
    ecs.create_cluster(clusterName="c")
    ecs.delete_cluster(cluster="c")
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster="zz")  # refused: not journaled, changes nothing
    first.post("/_quaymaster/clock/advance", {"seconds": 90})
    before = state_of(first.url)
    assert first.stop() == 0  # SIGTERM is a clean stop
    second = Server("--state", str(tmp_path))
    try:
        assert state_of(second.url) == before
        assert before[1]["time"] == "2026-01-01T00:01:30.000Z"
    finally:
        second.stop()


def test_snapshots_bound_the_replay(tmp_path):
    # Every 4 journaled calls the region is snapshotted and the rows it covers dropped:
    # a restart loads the newest snapshot and replays only the rows after it.
    first = Server("--state", str(tmp_path), "--snapshot-every", "4")
    ecs = client("ecs", first.url)
    for i in range(10):
        ecs.create_cluster(clusterName=f"s{i}")
    first.post("/_quaymaster/clock/advance", {"seconds": 30})
    before = state_of(first.url)
    first.stop()
    assert sorted(p.name for p in tmp_path.glob("*snapshot-*")) == ["snapshot-000000000008"]
    files = sorted(p.name for p in (tmp_path / "snapshot-000000000008").iterdir())
    assert [f for f in files if f.endswith(".parquet")] == sorted(
        f"us-east-1.{kind}.s{i}.parquet" for i in range(8) for kind in ("instances", "tasks"))
    assert {"state.json", "us-east-1.clusters.json", "us-east-1.region.json"} <= set(files)
    assert all(f.endswith((".parquet", ".json")) for f in files)   # no pickle, no opaque bytes
    import sqlite3
    rows = sqlite3.connect(tmp_path / "journal.sqlite3").execute("SELECT seq FROM calls").fetchall()
    assert [r[0] for r in rows] == [9, 10, 11]
    second = Server("--state", str(tmp_path), "--snapshot-every", "4")
    try:
        assert state_of(second.url) == before
    finally:
        second.stop()


def test_a_corrupted_snapshot_stops_the_start_with_an_error_naming_it(tmp_path):
    # Its journal rows are gone (the snapshot holds them): the server refuses to start rather
    # than start without them, and says which file is wrong.
    first = Server("--state", str(tmp_path), "--snapshot-every", "2")
    ecs = client("ecs", first.url)
    for i in range(2):
        ecs.create_cluster(clusterName=f"k{i}")
    first.stop()
    (tmp_path / "snapshot-000000000002" / "us-east-1.clusters.json").write_text("{not json")
    with pytest.raises(RuntimeError, match="us-east-1.clusters.json cannot be read as JSON"):
        Server("--state", str(tmp_path))


def test_an_unfinished_snapshot_is_ignored(tmp_path):
    # kill -9 in the middle of a snapshot leaves a temporary directory: start-up drops it
    # and uses the previous snapshot and the journal.
    first = Server("--state", str(tmp_path), "--snapshot-every", "3")
    ecs = client("ecs", first.url)
    for i in range(4):
        ecs.create_cluster(clusterName=f"u{i}")
    before = state_of(first.url)
    first.kill()
    half = tmp_path / ".tmp-snapshot-000000000006"
    half.mkdir()
    (half / "state.json").write_text('{"us-east-1": {"version": 1, "objects": {"$bytes": "gone.bin"}}')
    second = Server("--state", str(tmp_path), "--snapshot-every", "3")
    try:
        assert state_of(second.url) == before
        assert not half.exists()
    finally:
        second.stop()


def test_the_implicit_default_cluster_survives_a_restart(tmp_path):
    # ECS makes "default" when a call names it, a read too (DescribeClusters with no
    # cluster, ListServices ...) and a refused call: the restarted server shows it exactly
    # as before, in the same place among the clusters.
    first = Server("--state", str(tmp_path))
    ecs = client("ecs", first.url)
    ecs.create_cluster(clusterName="first")
    assert [c["clusterName"] for c in ecs.describe_clusters()["clusters"]] == ["default"]
    ecs.create_cluster(clusterName="last")
    before = state_of(first.url), ecs.list_clusters()["clusterArns"], ecs.describe_clusters(
        clusters=["default", "first", "last"], include=["TAGS"])["clusters"]
    assert [a.rsplit("/", 1)[1] for a in before[1]] == ["first", "default", "last"]
    first.kill()
    second = Server("--state", str(tmp_path))
    try:
        ecs = client("ecs", second.url)
        assert (state_of(second.url), ecs.list_clusters()["clusterArns"], ecs.describe_clusters(
            clusters=["default", "first", "last"], include=["TAGS"])["clusters"]) == before
    finally:
        second.stop()


def test_a_refused_call_that_made_the_default_cluster_keeps_it(tmp_path):
    first = Server("--state", str(tmp_path))
    ecs = client("ecs", first.url)
    with pytest.raises(ClientError):
        ecs.run_task(taskDefinition="missing:1")    # refused, but "default" now exists
    before = state_of(first.url)
    assert list(before[0]) == ["default"]
    first.kill()
    second = Server("--state", str(tmp_path))
    try:
        assert state_of(second.url) == before
    finally:
        second.stop()


def apply(model: dict, call: tuple) -> dict:
    """What the region does with a call (the acknowledged-history model)."""
    kind, name, tag = call
    model = dict(model)
    if kind == "create" and (name not in model or model[name][0] == "INACTIVE"):
        model[name] = ("ACTIVE", (("n", tag),))
    elif kind == "delete" and name in model and model[name][0] == "ACTIVE":
        model[name] = ("INACTIVE", model[name][1])
    return model


def visible(model: dict) -> dict:
    """What ListClusters + DescribeClusters show: the ACTIVE clusters."""
    return {k: v for k, v in model.items() if v[0] == "ACTIVE"}


class Driver(threading.Thread):
    """One client issuing mutating calls until the server dies."""

    def __init__(self, url, rng, start):
        super().__init__(daemon=True)
        self.ecs = client("ecs", url, connect_timeout=2, read_timeout=5)
        self.rng, self.counter = rng, start
        self.acked, self.in_flight = [], None

    def run(self):
        while True:
            self.counter += 1
            if self.acked and self.rng.random() < 0.3:
                call = ("delete", self.rng.choice(self.acked)[1], "")
            else:
                call = ("create", f"c{self.counter:05d}", str(self.counter))
            self.in_flight = call
            try:
                if call[0] == "create":
                    self.ecs.create_cluster(clusterName=call[1], tags=[{"key": "n", "value": call[2]}])
                else:
                    self.ecs.delete_cluster(cluster=call[1])
            except ClientError:
                pass  # a modeled refusal is acknowledged too: it changed nothing
            except (EndpointConnectionError, ConnectionClosedError, HTTPClientError, OSError):
                return
            except Exception:
                return
            self.acked.append(call)
            self.in_flight = None


def crash_rounds(tmp_path, rounds, seed):
    rng = random.Random(seed)
    model, counter = {}, 0
    for _ in range(rounds):
        server = Server("--state", str(tmp_path), "--snapshot-every", "7")
        assert state_of(server.url)[0] == visible(model), "a restart lost or invented state"
        driver = Driver(server.url, rng, counter)
        driver.start()
        time.sleep(rng.uniform(0.05, 0.5))
        server.kill()
        driver.join(timeout=20)
        counter = driver.counter
        for call in driver.acked:
            model = apply(model, call)
        if driver.in_flight is not None:
            # Wholly there or wholly absent: peek after the restart and keep what is there.
            probe = Server("--state", str(tmp_path), "--snapshot-every", "7")
            actual = state_of(probe.url)[0]
            probe.stop()
            model, with_call = visible(model), visible(apply(model, driver.in_flight))
            assert actual in (model, with_call), (
                "a half-applied call", driver.in_flight,
                {k: (actual.get(k), model.get(k), with_call.get(k)) for k in set(actual) | set(with_call)
                 if not actual.get(k) == model.get(k) == with_call.get(k)})
            model = actual
    return visible(model)


def test_kill_9_short(tmp_path):
    model = crash_rounds(tmp_path, rounds=3, seed=11)
    assert model  # calls were acknowledged and survived


@pytest.mark.slow
def test_kill_9_many_times(tmp_path):
    # ~70 s: in the slow suite (pytest -m slow, which .ci/run runs after the default one);
    # test_kill_9_short keeps three kills in the default run.
    model = crash_rounds(tmp_path, rounds=22, seed=2026)
    assert len(model) > 20


def test_ecr_api_push_survives_a_restart(tmp_path):
    # ECR's upload ids are drawn at random: the replay maps the journaled ones to new ones.
    import hashlib
    import json as _json
    first = Server("--state", str(tmp_path))
    ecr = client("ecr", first.url)
    ecr.create_repository(repositoryName="keep/me")
    blob = b'{"architecture":"amd64"}'
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    upload = ecr.initiate_layer_upload(repositoryName="keep/me")["uploadId"]
    ecr.upload_layer_part(repositoryName="keep/me", uploadId=upload, partFirstByte=0,
                          partLastByte=len(blob) - 1, layerPartBlob=blob)
    first.stop()
    second = Server("--state", str(tmp_path))   # the upload goes on across the restart
    try:
        ecr = client("ecr", second.url)
        ecr.complete_layer_upload(repositoryName="keep/me", uploadId=upload, layerDigests=[digest])
        manifest = _json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                           "digest": digest, "size": len(blob)}, "layers": []})
        ecr.put_image(repositoryName="keep/me", imageManifest=manifest, imageTag="v1")
        before = ecr.describe_images(repositoryName="keep/me")["imageDetails"]
    finally:
        second.stop()
    third = Server("--state", str(tmp_path))
    try:
        assert client("ecr", third.url).describe_images(repositoryName="keep/me")["imageDetails"] == before
        assert [d["imageTags"] for d in before] == [["v1"]]
    finally:
        third.stop()
