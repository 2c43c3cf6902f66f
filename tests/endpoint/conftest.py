import pytest

from server_support import Server


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()
