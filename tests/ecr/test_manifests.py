"""Manifest parsing refuses anything malformed with ManifestError, never another exception."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_helpers import push, sha
from quaymaster.ecr.manifests import OCI_INDEX, OCI_MANIFEST, ManifestError, parse_manifest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.sampled_from(
        ["", "x", OCI_MANIFEST, OCI_INDEX, sha(b"a"), "sha256:zz"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["schemaVersion", "mediaType", "config", "layers", "manifests", "digest",
                         "size", "artifactType", "subject"]), inner, max_size=5),
    max_leaves=12)


@settings(max_examples=300)
@given(json_values, st.sampled_from([None, OCI_MANIFEST, OCI_INDEX, "text/plain"]))
def test_any_json_parses_or_is_refused_cleanly(doc, declared):
    raw = json.dumps(doc).encode()
    try:
        manifest = parse_manifest(raw, declared)
    except ManifestError:
        return
    assert manifest.digest == sha(raw)
    assert all(isinstance(b, str) for b in manifest.blobs + manifest.children)
    assert isinstance(manifest.layer_size, int) and manifest.layer_size >= 0


def test_index_replicates_with_its_images(regions_pair):
    home, away = regions_pair
    home.create_repository({"repositoryName": "multi"})
    child = push(home, "multi", [b"arm64 layer"])
    raw = json.loads(home.batch_get_image({"repositoryName": "multi", "imageIds": [
        {"imageDigest": child}]})["images"][0]["imageManifest"])
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(json.dumps(raw))}]})
    home.put_replication_configuration({"replicationConfiguration": {"rules": [{
        "destinations": [{"region": away.region, "registryId": home.account}]}]}})
    home.put_image({"repositoryName": "multi", "imageManifest": index, "imageTag": "all"})
    copied = away.describe_images({"repositoryName": "multi"})["imageDetails"]
    assert {d["imageDigest"] for d in copied} == {child, sha(index.encode())}
    assert away.blobs.get(sha(b"arm64 layer")) == b"arm64 layer"
