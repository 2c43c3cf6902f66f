"""/v2/ pushes survive ``kill -9``: a restarted ``quaymaster serve --state DIR`` has every
tag oras pushed, the bytes, the deletes, and accepts the token it issued before."""

import hashlib
import itertools
import os
import random
import sqlite3
import threading
import time

import pytest
import requests

from oras_support import oras_for, password, pull_after_restart, pull_into, write_files
from server_support import Server, client


# Every 3 calls: the restart loads a snapshot holding registry state, then replays the tail.
@pytest.mark.parametrize("snapshots", [[], ["--snapshot-every", "3"]], ids=["journal", "snapshots"])
def test_oras_pushes_survive_kill_9_with_the_same_token(tmp_path, monkeypatch, snapshots):
    state = tmp_path / "state"
    monkeypatch.chdir(tmp_path)
    first = Server("--state", str(state), *snapshots)
    ecr = client("ecr", first.url)
    ecr.create_repository(repositoryName="team/models")
    secret = password(first.url)
    oras_client, host = oras_for(first.url, secret)
    v1 = {"model.bin": os.urandom(300_000), "notes.txt": b"first\n"}
    v2 = {"model.bin": os.urandom(200_000), "notes.txt": b"second\n"}
    scratch = {"scratch.txt": b"to be deleted\n"}
    for tag, files in (("v1", v1), ("v2", v2), ("scratch", scratch)):
        assert oras_client.push(target=f"{host}/team/models:{tag}",
                                files=write_files(tmp_path, files)).status_code == 201
    assert oras_client.delete_tag(f"{host}/team/models", "scratch")
    digests = {d["imageDigest"]: d.get("imageTags") for d in
               ecr.describe_images(repositoryName="team/models")["imageDetails"]}
    first.kill()    # SIGKILL: nothing is flushed on the way out

    second = Server("--state", str(state), *snapshots)
    try:
        again, host = oras_for(second.url, secret)   # the token issued before the crash
        assert sorted(again.get_tags(f"{host}/team/models")) == ["v1", "v2"]
        assert pull_into(again, f"{host}/team/models:v1", tmp_path / "out1") == v1
        assert pull_into(again, f"{host}/team/models:v2", tmp_path / "out2") == v2
        ecr = client("ecr", second.url)
        assert {d["imageDigest"]: d.get("imageTags") for d in
                ecr.describe_images(repositoryName="team/models")["imageDetails"]} == digests
        forged = requests.get(f"{second.url}/v2/team/models/tags/list", auth=("AWS", secret + "x"))
        assert forged.status_code == 401
    finally:
        second.stop()
    rows = sqlite3.connect(state / "journal.sqlite3").execute(
        "SELECT service, operation FROM calls WHERE service = '_ecr_registry'").fetchall()
    if not snapshots:   # with snapshots, the calls before the latest one are folded into it
        # oras uploads in two steps (POST, then PUT with the bytes): each upload is journaled
        # from its start to its end, so that one in progress survives a restart too.
        assert {op for _, op in rows} == {"BeginUpload", "EndUpload", "HoldBlob", "PutManifest",
                                          "BatchDeleteImage"}


def test_a_blob_let_go_of_and_pushed_again_survives_the_replay(tmp_path, monkeypatch):
    # Replayed in order, DeleteRepository lets go of the blob that a later push holds
    # again: the store must not delete the file the final state needs.
    state = tmp_path / "state"
    monkeypatch.chdir(tmp_path)
    first = Server("--state", str(state))
    ecr = client("ecr", first.url)
    files = {"layer.bin": os.urandom(100_000)}
    oras_client, host = oras_for(first.url, password(first.url))
    for repo in ("team/a", "team/b"):
        ecr.create_repository(repositoryName=repo)
        assert oras_client.push(target=f"{host}/{repo}:v1",
                                files=write_files(tmp_path, files)).status_code == 201
        if repo == "team/a":
            ecr.delete_repository(repositoryName=repo, force=True)
    ecr.create_repository(repositoryName="team/gone")
    assert oras_client.push(target=f"{host}/team/gone:v1",
                            files=write_files(tmp_path, {"only.bin": b"only here"})).status_code == 201
    ecr.delete_repository(repositoryName="team/gone", force=True)
    first.kill()
    assert pull_after_restart(state, "team/b:v1", tmp_path / "out") == files
    # ... while what nothing holds any more was deleted.
    only = hashlib.sha256(b"only here").hexdigest()
    assert not (state / "blobs" / "sha256" / only).exists()


def test_registry_writes_refused_change_nothing_and_are_not_journaled(tmp_path):
    state = tmp_path / "state"
    server = Server("--state", str(state))
    try:
        client("ecr", server.url).create_repository(repositoryName="team/x")
        auth = ("AWS", password(server.url))
        missing = "sha256:" + "0" * 64
        manifest = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                    f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json",'
                    f'"digest":"{missing}","size":2}},"layers":[]}}')
        put = requests.put(f"{server.url}/v2/team/x/manifests/v1", data=manifest, auth=auth,
                           headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert put.status_code == 400 and put.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
        mount = requests.post(f"{server.url}/v2/team/x/blobs/uploads/?mount={missing}&from=team/y",
                              auth=auth)
        assert mount.status_code == 202      # nothing to mount: an ordinary upload starts
    finally:
        server.stop()
    rows = sqlite3.connect(state / "journal.sqlite3").execute(
        "SELECT operation FROM calls WHERE service = '_ecr_registry'").fetchall()
    assert rows == [("BeginUpload",)]    # only the upload the refused mount fell back to


def test_without_auth_anonymous_requests_may_pull_but_not_push():
    server = Server()
    try:
        client("ecr", server.url).create_repository(repositoryName="open/x")
        assert requests.get(f"{server.url}/v2/open/x/tags/list").json() == {"name": "open/x", "tags": []}
        ping = requests.get(f"{server.url}/v2/")
        assert ping.status_code == 401 and "Basic" in ping.headers["WWW-Authenticate"]
        push = requests.post(f"{server.url}/v2/open/x/blobs/uploads/")
        assert push.status_code == 401 and push.json()["errors"][0]["code"] == "UNAUTHORIZED"
    finally:
        server.stop()


def _push_small(session, url: str, repo: str, tag: str, data: bytes) -> None:
    """A one-layer OCI image by the registry protocol: monolithic blob upload, manifest PUT."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blob = session.post(f"{url}/v2/{repo}/blobs/uploads/?digest={digest}", data=data, timeout=10)
    assert blob.status_code == 201, blob.text
    manifest = ('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
                '"config":{"mediaType":"application/vnd.oci.image.config.v1+json",'
                f'"digest":"{digest}","size":{len(data)}}},"layers":[]}}')
    put = session.put(f"{url}/v2/{repo}/manifests/{tag}", data=manifest, timeout=10,
                      headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status_code == 201, put.text


@pytest.mark.slow
def test_kill_9_during_v2_pushes_loses_no_acknowledged_tag(tmp_path):
    # ~15 s: each round pushes from a thread and is killed at a random moment; every tag
    # acknowledged before the kill is there after the restart, with its bytes.
    state, rng, acknowledged = tmp_path / "state", random.Random(12), {}
    for round_ in range(6):   # five killed rounds, then one that only checks
        server = Server("--state", str(state))
        ecr = client("ecr", server.url)
        if round_ == 0:
            ecr.create_repository(repositoryName="crash/app")
        session = requests.Session()
        session.auth = ("AWS", password(server.url))
        for tag, data in acknowledged.items():    # what the previous rounds acknowledged
            got = session.get(f"{server.url}/v2/crash/app/manifests/{tag}", timeout=10)
            assert got.status_code == 200, (round_, tag)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            assert session.get(f"{server.url}/v2/crash/app/blobs/{digest}", timeout=10).content == data
        if round_ == 5:
            server.stop()
            break
        stop = threading.Event()

        def pusher(url=server.url, session=session, round_=round_):
            for i in itertools.count():
                tag, data = f"r{round_}-{i}", f"round {round_} image {i}".encode() * 50
                try:
                    _push_small(session, url, "crash/app", tag, data)
                except (requests.RequestException, AssertionError):
                    return                             # the server is gone: this one is in flight
                acknowledged[tag] = data
                if stop.is_set():
                    return
        thread = threading.Thread(target=pusher)
        thread.start()
        time.sleep(rng.uniform(0.3, 1.5))
        server.kill()
        stop.set()
        thread.join(15)
    assert len(acknowledged) > 5
