import pytest

from server_support import Server


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    import json
    path = tmp_path_factory.mktemp("fuzzcreds") / "credentials.json"
    path.write_text(json.dumps({"principals": [
        {"arn": "arn:aws:iam::123456789012:root", "accessKeyId": "AKIDFUZZ", "secretAccessKey": "secret"}]}))
    running = Server("--auth", "sigv4", "--credentials", str(path))
    yield running
    running.stop()
