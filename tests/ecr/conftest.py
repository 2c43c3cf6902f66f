"""Fixtures of the ECR tests: a standing clock, a registry, two regions that replicate."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from quaymaster.ecr import ECRRegistry, SettableClock  # noqa: E402


@pytest.fixture
def clock():
    return SettableClock()


@pytest.fixture
def registry(clock):
    return ECRRegistry(clock=clock)


@pytest.fixture
def regions_pair(clock):
    """Two regions' registries of one account, each resolving the other."""
    registries = {}

    def resolve(name):
        return registries[name]
    for name in ("us-east-1", "eu-central-1"):
        registries[name] = ECRRegistry(region=name, clock=clock, resolver=resolve)
    return registries["us-east-1"], registries["eu-central-1"]
