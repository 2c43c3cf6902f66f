"""The served /v2/ under --auth sigv4: the ECR token names the principal it was issued
to, and the IAM engine decides each registry request with that principal's identity
policies and the repository policy (a resource policy)."""

import base64
import json

import oras.client
import pytest
import requests

from server_support import ROOT_PRINCIPAL, client, signed_fixture

ACCOUNT = "123456789012"
REPO_ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
# ECR's documented push policy: push and pull, no delete.
PUSH_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Effect": "Allow", "Action": [
        "ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:InitiateLayerUpload",
        "ecr:BatchCheckLayerAvailability", "ecr:PutImage", "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer"], "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/*"}]}
TOKEN_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}
READER = f"arn:aws:iam::{ACCOUNT}:user/reader"
PRINCIPALS = {"principals": [
    {"arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "accessKeyId": "AKIDCI", "secretAccessKey": "ci-secret",
     "policies": [PUSH_POLICY]},
    {"arn": READER, "accessKeyId": "AKIDREADER", "secretAccessKey": "reader-secret",
     "policies": [TOKEN_ONLY]},
    ROOT_PRINCIPAL,
]}


signed = signed_fixture(PRINCIPALS)


def password(url: str, key: str, secret: str) -> str:
    token = client("ecr", url, key=key, secret=secret).get_authorization_token()
    return base64.b64decode(token["authorizationData"][0]["authorizationToken"]).decode().split(":", 1)[1]


def oras_as(url: str, secret_password: str):
    host = url.split("//")[1]
    registry = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    registry.auth.set_basic_auth("AWS", secret_password)
    return registry, host


def test_push_policy_pushes_but_does_not_delete(signed, tmp_path, monkeypatch):
    client("ecr", signed.url, key="AKIDROOT", secret="root-secret").create_repository(repositoryName="team/app")
    (tmp_path / "app.txt").write_bytes(b"release 1\n")
    monkeypatch.chdir(tmp_path)
    ci_password = password(signed.url, "AKIDCI", "ci-secret")
    registry, host = oras_as(signed.url, ci_password)
    assert registry.push(target=f"{host}/team/app:v1", files=["app.txt"]).status_code == 201
    head = requests.head(f"{signed.url}/v2/team/app/manifests/v1", auth=("AWS", ci_password),
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert head.status_code == 200
    digest = head.headers["Docker-Content-Digest"]
    deleted = requests.delete(f"{signed.url}/v2/team/app/manifests/{digest}", auth=("AWS", ci_password))
    assert deleted.status_code == 403 and deleted.json()["errors"][0]["code"] == "DENIED"
    assert "ecr:BatchDeleteImage" in deleted.json()["errors"][0]["message"]
    with pytest.raises(ValueError, match="Forbidden"):  # tag listing is ecr:ListImages: not granted
        registry.get_tags(f"{host}/team/app")
    root = client("ecr", signed.url, key="AKIDROOT", secret="root-secret")
    assert [i.get("imageTag") for i in root.list_images(repositoryName="team/app")["imageIds"]] == ["v1"]


def test_repository_policy_grants_another_principal_pull_only(signed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reader_password = password(signed.url, "AKIDREADER", "reader-secret")
    reader, host = oras_as(signed.url, reader_password)
    with pytest.raises(ValueError, match="Forbidden"):  # no identity nor repository policy
        reader.pull(target=f"{host}/team/app:v1", outdir=str(tmp_path / "denied"))
    denied = requests.get(f"{signed.url}/v2/team/app/manifests/v1", auth=("AWS", reader_password))
    assert denied.status_code == 403 and "ecr:BatchGetImage" in denied.json()["errors"][0]["message"]
    root = client("ecr", signed.url, key="AKIDROOT", secret="root-secret")
    root.set_repository_policy(repositoryName="team/app", policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow",
                                               "Principal": {"AWS": READER},
                                               "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                                          "ecr:BatchCheckLayerAvailability"]}]}))
    pulled = reader.pull(target=f"{host}/team/app:v1", outdir=str(tmp_path / "out"))
    assert [open(p, "rb").read() for p in pulled] == [b"release 1\n"]
    (tmp_path / "mine.txt").write_bytes(b"not allowed\n")
    with pytest.raises(ValueError, match="DENIED.*ecr:InitiateLayerUpload"):
        reader.push(target=f"{host}/team/app:v2", files=["mine.txt"])
    assert root.list_images(repositoryName="team/app")["imageIds"][0]["imageTag"] == "v1"
    assert len(root.list_images(repositoryName="team/app")["imageIds"]) == 1
