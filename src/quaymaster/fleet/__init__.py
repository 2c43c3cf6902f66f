"""Realistic fleets of ECS container instances: the instance-type catalog, a
deterministic generator producing the instance schema, and a text summary."""

from quaymaster.fleet.catalog import Catalog, InstanceType, MemoryModel, load_catalog, select_types
from quaymaster.fleet.generate import generate_fleet
from quaymaster.fleet.summary import summarize_fleet

__all__ = ["Catalog", "InstanceType", "MemoryModel", "generate_fleet", "load_catalog",
           "select_types", "summarize_fleet"]
