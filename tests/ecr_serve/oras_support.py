"""oras clients against a served /v2/, with the ECR token of a region."""

from __future__ import annotations

import base64
import os
import pathlib

import oras.client

from server_support import client

ACCOUNT = "123456789012"


def password(url: str, region: str = "us-east-1") -> str:
    """GetAuthorizationToken's password, asked of ``region`` (the signature's scope routes it)."""
    token = client("ecr", url, region=region).get_authorization_token()
    user, _, secret = base64.b64decode(
        token["authorizationData"][0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return secret


def oras_for(url: str, secret: str, host_header: str | None = None) -> tuple[oras.client.OrasClient, str]:
    """(an oras client logged in with ``secret``, the ``host:port`` its targets start with);
    ``host_header`` sends another Host, as a client resolving ECR's registry name would."""
    host = url.split("//")[1]
    oras_client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    oras_client.auth.set_basic_auth("AWS", secret)
    if host_header is not None:
        oras_client.session.headers["Host"] = host_header
    return oras_client, host


def write_files(folder: pathlib.Path, files: dict[str, bytes]) -> list[str]:
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return list(files)


def pull_into(oras_client, target: str, outdir: pathlib.Path) -> dict[str, bytes]:
    """Pull ``target``; every file pulled, by name."""
    paths = oras_client.pull(target=target, outdir=str(outdir))
    return {os.path.basename(p): pathlib.Path(p).read_bytes() for p in paths}


def pull_after_restart(state, repository_and_tag: str, outdir: pathlib.Path) -> dict[str, bytes]:
    """Start ``quaymaster serve --state state`` anew, pull with a fresh token, stop it."""
    from server_support import Server

    server = Server("--state", str(state))
    try:
        puller, host = oras_for(server.url, password(server.url))
        return pull_into(puller, f"{host}/{repository_and_tag}", outdir)
    finally:
        server.stop()
