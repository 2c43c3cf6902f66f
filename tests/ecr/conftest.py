import base64
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from quaymaster.ecr import ECRRegistry, SettableClock, registry_app  # noqa: E402
from serve import serving  # noqa: E402

PUSH_ACTIONS = {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"}


def allow_all(principal, action, arn):
    return True


def deny_pushes(principal, action, arn):
    return action not in PUSH_ACTIONS


@pytest.fixture
def clock():
    return SettableClock()


@pytest.fixture
def registry(clock):
    return ECRRegistry(clock=clock)


def password_of(registry, principal=None):
    token = registry.get_authorization_token({}, principal=principal)
    token = token["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password


@pytest.fixture
def served(registry):
    """(url, registry) with the /v2/ app allowing everything, on a real uvicorn."""
    with serving(registry_app(registry, allow_all)) as url:
        yield url


@pytest.fixture
def regions_pair(clock):
    """Two regions' registries of one account, each resolving the other."""
    registries = {}

    def resolve(name):
        return registries[name]
    for name in ("us-east-1", "eu-central-1"):
        registries[name] = ECRRegistry(region=name, clock=clock, resolver=resolve)
    return registries["us-east-1"], registries["eu-central-1"]
