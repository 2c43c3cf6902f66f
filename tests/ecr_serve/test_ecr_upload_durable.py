"""An upload in progress survives ``kill -9``: every part acknowledged (202) before the crash is
still there after the restart, with or without a snapshot in between, by the registry protocol
(/v2/ chunked PATCH) and by the ECR API (UploadLayerPart); the client goes on with the same
upload id and the blob it completes has the digest of every byte it sent."""

import hashlib
import os

import pytest
import requests

from oras_support import password
from server_support import Server, client

REPO = "team/uploads"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def patch(url: str, auth, location: str, data: bytes, start: int) -> requests.Response:
    return requests.patch(f"{url}{location}", data=data, auth=auth, timeout=10, headers={
        "Content-Range": f"{start}-{start + len(data) - 1}", "Content-Type": "application/octet-stream"})


def serving(state, *args):
    """A server over ``state`` with the repository, and the Basic auth of its token."""
    server = Server("--state", str(state), *args)
    client("ecr", server.url).create_repository(repositoryName=REPO)
    return server, ("AWS", password(server.url))


def start(server, auth) -> requests.Response:
    started = requests.post(f"{server.url}/v2/{REPO}/blobs/uploads/", auth=auth, timeout=10)
    assert started.status_code == 202
    return started


@pytest.mark.parametrize("snapshots", [[], ["--snapshot-every", "3"]], ids=["journal", "snapshots"])
def test_a_chunked_upload_goes_on_after_kill_9(tmp_path, snapshots):
    state = tmp_path / "state"
    parts = [os.urandom(70_000), os.urandom(50_000), b"the last part"]
    first, auth = serving(state, *snapshots)
    ecr = client("ecr", first.url)
    started = start(first, auth)
    location = started.headers["Location"]
    upload_id = started.headers["Docker-Upload-UUID"]
    assert patch(first.url, auth, location, parts[0], 0).status_code == 202
    assert patch(first.url, auth, location, parts[1], len(parts[0])).status_code == 202
    api_upload = ecr.initiate_layer_upload(repositoryName=REPO)["uploadId"]    # and one by the API
    ecr.upload_layer_part(repositoryName=REPO, uploadId=api_upload, partFirstByte=0,
                          partLastByte=len(parts[0]) - 1, layerPartBlob=parts[0])
    first.kill()
    if snapshots:
        assert list(state.glob("snapshot-*")), "the test meant a snapshot to be taken"
    # Bytes written but never acknowledged (a part cut off by the crash) are not the upload's.
    with open(state / "uploads" / upload_id, "ab") as spool:
        spool.write(b"never acknowledged")

    second = Server("--state", str(state), *snapshots)
    try:
        status = requests.get(f"{second.url}{location}", auth=auth, timeout=10)
        assert status.status_code == 204
        assert status.headers["Range"] == f"0-{len(parts[0]) + len(parts[1]) - 1}"
        assert patch(second.url, auth, location, parts[2], len(parts[0]) + len(parts[1])).status_code == 202
        whole = b"".join(parts)
        done = requests.put(f"{second.url}{location}", params={"digest": sha(whole)}, auth=auth, timeout=10)
        assert done.status_code == 201, done.text
        blob = requests.get(f"{second.url}/v2/{REPO}/blobs/{sha(whole)}", auth=auth, timeout=10)
        assert blob.status_code == 200 and blob.content == whole

        ecr = client("ecr", second.url)
        ecr.upload_layer_part(repositoryName=REPO, uploadId=api_upload, partFirstByte=len(parts[0]),
                              partLastByte=len(parts[0]) + len(parts[2]) - 1, layerPartBlob=parts[2])
        both = parts[0] + parts[2]
        completed = ecr.complete_layer_upload(repositoryName=REPO, uploadId=api_upload,
                                              layerDigests=[sha(both)])
        assert completed["layerDigest"] == sha(both)
        layer = requests.get(f"{second.url}/v2/{REPO}/blobs/{sha(both)}", auth=auth, timeout=10)
        assert layer.content == both
        assert sorted(p.name for p in (state / "uploads").iterdir()) == []   # nothing left behind
    finally:
        second.stop()


def test_an_upload_ended_before_the_crash_stays_ended(tmp_path):
    # Cancelled (DELETE) and failed (wrong digest) uploads are journaled as ended: the restarted
    # server does not bring them back.
    state = tmp_path / "state"
    first, auth = serving(state)
    locations = []
    for _ in range(2):
        locations.append(start(first, auth).headers["Location"])
        assert patch(first.url, auth, locations[-1], b"some bytes", 0).status_code == 202
    assert requests.delete(f"{first.url}{locations[0]}", auth=auth, timeout=10).status_code == 204
    wrong = requests.put(f"{first.url}{locations[1]}", params={"digest": sha(b"other")}, auth=auth, timeout=10)
    assert wrong.status_code == 400
    first.kill()
    second = Server("--state", str(state))
    try:
        for location in locations:
            gone = requests.get(f"{second.url}{location}", auth=auth, timeout=10)
            assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
        assert list((state / "uploads").iterdir()) == []
    finally:
        second.stop()


def test_a_journaled_part_whose_bytes_are_gone_ends_the_upload(tmp_path):
    # The machine lost the upload's file (not a kill -9: a disk replaced): the upload is not
    # resumed half, the client hears BLOB_UPLOAD_UNKNOWN and starts again.
    state = tmp_path / "state"
    first, auth = serving(state)
    started = start(first, auth)
    assert patch(first.url, auth, started.headers["Location"], b"x" * 1000, 0).status_code == 202
    first.kill()
    (state / "uploads" / started.headers["Docker-Upload-UUID"]).write_bytes(b"x" * 10)
    second = Server("--state", str(state))
    try:
        gone = requests.get(f"{second.url}{started.headers['Location']}", auth=auth, timeout=10)
        assert gone.status_code == 404
        again = requests.post(f"{second.url}/v2/{REPO}/blobs/uploads/", params={"digest": sha(b"ok")},
                              data=b"ok", auth=auth, timeout=10)
        assert again.status_code == 201
    finally:
        second.stop()
