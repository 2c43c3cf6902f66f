"""Small builders for task definition dicts used by the taskdef tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"


def load_case(name: str) -> dict:
    """A JSON fixture from tests/taskdef/cases/."""
    return json.loads((CASES_DIR / name).read_text())


def container(name: str = "app", **fields) -> dict:
    """A container definition; ``memory`` defaults to 128, a field set to None is dropped."""
    base = {"name": name, "image": "nginx:1.25", "memory": 128}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def definition(*containers: dict, **fields) -> dict:
    """A task definition of family ``web`` holding ``containers`` (one default container)."""
    base = {"family": "web", "containerDefinitions": list(containers) or [container()]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def mapping(container_port=None, host_port=None, protocol=None, **extra) -> dict:
    """A port mapping; None fields are left out."""
    fields = {"containerPort": container_port, "hostPort": host_port, "protocol": protocol, **extra}
    return {k: v for k, v in fields.items() if v is not None}


def gpu(count: str) -> dict:
    return {"type": "GPU", "value": count}


def with_family(document: dict, family: str = "wordpress") -> dict:
    result = copy.deepcopy(document)
    result["family"] = family
    return result
