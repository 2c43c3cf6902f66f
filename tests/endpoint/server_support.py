"""Start a real ``quaymaster serve`` (uvicorn) on 127.0.0.1, port 0, as a subprocess."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
FACTORY = "quaymaster.region:Region"
ACCOUNT = "123456789012"


def env() -> dict:
    environment = dict(os.environ)
    # quaymaster itself comes from this interpreter's environment (installed, or the
    # caller's PYTHONPATH): the bare source tree has no compiled core.
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    environment["PYTHONPATH"] = os.pathsep.join([*inherited, str(HERE)])
    return environment


class Server:
    def __init__(self, *args: str):
        command = [sys.executable, "-m", "quaymaster.cli.main", "serve", "--host", "127.0.0.1",
                   "--port", "0", "--region-factory", FACTORY, *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env(), cwd=ROOT)
        line = self.process.stdout.readline()
        if not line.startswith("ready "):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.process.stderr.read()}")
        self.url = line.split()[1]

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=15)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up at all
        self.process.wait(timeout=15)
        self.process.stdout.close()
        self.process.stderr.close()


ROOT_PRINCIPAL = {"arn": f"arn:aws:iam::{ACCOUNT}:root", "accessKeyId": "AKIDROOT",
                  "secretAccessKey": "root-secret"}


def signed_fixture(principals: dict):
    """A module fixture: a server with --auth sigv4 and ``principals`` as its credentials file."""
    import pytest

    @pytest.fixture(scope="module")
    def signed(tmp_path_factory):
        path = tmp_path_factory.mktemp("creds") / "credentials.json"
        path.write_text(json.dumps(principals))
        running = Server("--auth", "sigv4", "--credentials", str(path))
        yield running
        running.stop()
    return signed


def wait_gone(process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def client(service: str, url: str, key: str = "AKIDTEST", secret: str = "secret", **kw):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=url, region_name=kw.pop("region", "us-east-1"),
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 0}, **kw))
