"""Realistic fleets of ECS container instances: the instance-type catalog, a
deterministic generator producing the instance schema, and a text summary.

The catalog is plain Python; the generator and the summary need numpy and
pyarrow, so they are imported on first use (``quaymaster fleet --list-types``
reads only the catalog).
"""

from __future__ import annotations

import importlib
from typing import Any

from quaymaster.fleet.catalog import Catalog, InstanceType, MemoryModel, load_catalog, select_types

_LAZY = {"generate_fleet": "quaymaster.fleet.generate", "summarize_fleet": "quaymaster.fleet.summary"}

__all__ = ["Catalog", "InstanceType", "MemoryModel", "generate_fleet", "load_catalog",
           "select_types", "summarize_fleet"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'quaymaster.fleet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
