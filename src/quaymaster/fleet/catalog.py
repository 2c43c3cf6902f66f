"""The EC2 instance-type catalog: what each type registers with ECS.

The data lives in ``instance_types.json`` next to this module (its ``about``,
``memory_model`` and ``sources`` keys say where every figure comes from). This
module loads it once, checks that it is self-consistent, and resolves the
names and family patterns (``m7g.*``) a fleet is restricted to.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from quaymaster.errors import InvalidInputError

ARCHITECTURES = ("x86_64", "arm64")
AMI_VARIANTS = ("standard", "arm64", "gpu", "inferentia")
CPU_UNITS_PER_VCPU = 1024


@dataclass(frozen=True)
class InstanceType:
    """One EC2 instance type as an ECS container instance registers it."""

    name: str
    family: str
    architecture: str          # the ecs.cpu-architecture attribute: x86_64 or arm64
    ami_variant: str           # which ECS-optimized AMI it runs: standard, arm64, gpu, inferentia
    vcpus: int
    cpu_units: int             # registered CPU: vcpus * 1024
    memory_mib: int            # nominal EC2 memory
    ecs_memory_mib: int        # registered MEMORY (the usable MemTotal)
    ecs_memory_source: str     # a key of the catalog's sources, or "model"
    gpus: int
    max_network_interfaces: int
    eni_limit: int             # awsvpc tasks: max_network_interfaces - 1
    weight: float              # relative frequency in the default fleet mix


@dataclass(frozen=True)
class MemoryModel:
    """``ecs = nominal - (base + per_vcpu * vcpus + ceil(nominal * permille / 1000))``."""

    base_mib: int
    per_vcpu_mib: int
    overhead_permille: int

    def registered_memory(self, memory_mib: int, vcpus: int) -> int:
        overhead = (self.base_mib + self.per_vcpu_mib * vcpus
                    + -(-memory_mib * self.overhead_permille // 1000))  # exact integer ceil
        return memory_mib - overhead


@dataclass(frozen=True)
class Catalog:
    """The instance types by name (in file order), the memory model and the sources."""

    types: Mapping[str, InstanceType]
    memory_model: MemoryModel
    sources: Mapping[str, str]

    def __getitem__(self, name: str) -> InstanceType:
        try:
            return self.types[name]
        except KeyError:
            families = ", ".join(sorted({t.family for t in self.types.values()}))
            raise InvalidInputError(f"unknown instance type {name!r} (the catalog's families: "
                                    f"{families})", field="instance_types", value=name) from None

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __len__(self) -> int:
        return len(self.types)

    def resolve(self, pattern: str) -> list[InstanceType]:
        """The types a name (``m5.large``) or a wildcard (``m7g.*``) selects, in catalog order."""
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidInputError(f"instance type must be a non-empty string, got {pattern!r}",
                                    field="instance_types", value=pattern)
        pattern = pattern.strip()
        if not any(ch in pattern for ch in "*?["):
            return [self[pattern]]
        matched = [t for name, t in self.types.items() if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise InvalidInputError(f"instance type pattern {pattern!r} matches no known type",
                                    field="instance_types", value=pattern)
        return matched


def _require(condition: bool, index: int, key: str, value, why: str) -> None:
    if not condition:
        raise InvalidInputError(f"instance_types[{index}].{key}: {why} (got {value!r})",
                                field=f"instance_types[{index}].{key}", value=value)


def _parse_type(index: int, entry: dict, sources: Mapping[str, str],
                model: MemoryModel) -> InstanceType:
    """One catalog entry, checked against the rules the ``about`` text states."""
    if not isinstance(entry, Mapping):
        raise InvalidInputError(f"instance_types[{index}] must be an object, got {entry!r}",
                                field=f"instance_types[{index}]", value=entry)
    try:
        item = InstanceType(**entry)
    except TypeError as exc:
        raise InvalidInputError(f"instance_types[{index}]: {exc}", field=f"instance_types[{index}]",
                                value=entry) from exc
    for key in ("name", "family", "architecture", "ami_variant", "ecs_memory_source"):
        value = getattr(item, key)
        _require(isinstance(value, str), index, key, value, "must be a string")
    for key in ("vcpus", "cpu_units", "memory_mib", "ecs_memory_mib", "gpus", "max_network_interfaces",
                "eni_limit"):
        value = getattr(item, key)
        _require(isinstance(value, int) and not isinstance(value, bool) and value >= 0, index, key,
                 value, "must be a non-negative integer")
    _require(item.name.startswith(item.family + "."), index, "family", item.family,
             f"must be the prefix of the name {item.name!r}")
    _require(item.cpu_units == item.vcpus * CPU_UNITS_PER_VCPU, index, "cpu_units", item.cpu_units,
             f"must be vcpus * {CPU_UNITS_PER_VCPU}")
    _require(0 < item.ecs_memory_mib < item.memory_mib, index, "ecs_memory_mib", item.ecs_memory_mib,
             "must be positive and below memory_mib")
    _require(item.eni_limit == item.max_network_interfaces - 1, index, "eni_limit", item.eni_limit,
             "must be max_network_interfaces - 1")
    _require(item.architecture in ARCHITECTURES, index, "architecture", item.architecture,
             f"must be one of {ARCHITECTURES}")
    _require(item.ami_variant in AMI_VARIANTS, index, "ami_variant", item.ami_variant,
             f"must be one of {AMI_VARIANTS}")
    _require(isinstance(item.weight, (int, float)) and not isinstance(item.weight, bool)
             and math.isfinite(item.weight) and item.weight > 0, index, "weight", item.weight,
             "must be a positive number")
    source = item.ecs_memory_source
    _require(source == "model" or source in sources, index, "ecs_memory_source", source,
             "must be 'model' or a key of sources")
    if source == "model":
        expected = model.registered_memory(item.memory_mib, item.vcpus)
        _require(item.ecs_memory_mib == expected, index, "ecs_memory_mib", item.ecs_memory_mib,
                 f"memory_model gives {expected}")
    return item


def parse_catalog(document: Mapping) -> Catalog:
    """Check a catalog document (the JSON's shape) and build a :class:`Catalog`."""
    try:
        raw_model = document["memory_model"]
        model = MemoryModel(int(raw_model["base_mib"]), int(raw_model["per_vcpu_mib"]),
                            int(raw_model["overhead_permille"]))
        sources = dict(document["sources"])
        entries = list(document["instance_types"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"instance-type catalog is malformed: {exc!r}", field="catalog",
                                value=None) from exc
    types: dict[str, InstanceType] = {}
    for index, entry in enumerate(entries):
        item = _parse_type(index, entry, sources, model)
        _require(item.name not in types, index, "name", item.name, "is listed twice")
        types[item.name] = item
    if not types:
        raise InvalidInputError("instance-type catalog lists no instance types",
                                field="instance_types", value=[])
    return Catalog(types=MappingProxyType(types), memory_model=model,
                   sources=MappingProxyType(sources))


@functools.lru_cache(maxsize=1)
def _packaged_catalog() -> Catalog:
    text = resources.files("quaymaster.fleet").joinpath("instance_types.json").read_text("utf-8")
    return parse_catalog(json.loads(text))


def load_catalog(path: str | os.PathLike | None = None) -> Catalog:
    """The packaged catalog (cached), or one read from a JSON file of the same shape."""
    if path is None:
        return _packaged_catalog()
    if not isinstance(path, (str, bytes, os.PathLike)):  # open() would take an int as a descriptor
        raise InvalidInputError(f"catalog path must be a str or PathLike, got {path!r}", field="catalog",
                                value=path)
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"catalog {os.fspath(path)!r} is not JSON: {exc}", field="catalog",
                                value=os.fspath(path)) from exc
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        raise InvalidInputError(f"cannot read the catalog {os.fspath(path)!r}: {exc}", field="catalog",
                                value=os.fspath(path)) from exc
    return parse_catalog(document)


def select_types(catalog: Catalog, selection: Sequence[str] | Mapping[str, float] | None
                 ) -> tuple[list[InstanceType], list[float]]:
    """The types a fleet draws from and their relative weights.

    ``None``: every type, with the catalog's weights. A list of names or
    patterns: those types (duplicates and overlaps collapse), keeping the
    catalog's weights between them. A mapping ``{name or pattern: share}``:
    each key's share is split among the types it matches in proportion to
    their catalog weights, so ``{"m5.*": 3, "c6g.*": 1}`` is 75 % m5; a type
    matched by two keys is refused as ambiguous.
    """
    if selection is None:
        types = list(catalog.types.values())
        return types, [t.weight for t in types]
    if isinstance(selection, str):
        raise InvalidInputError("instance_types must be a list of names, not one string "
                                f"(got {selection!r})", field="instance_types", value=selection)
    if isinstance(selection, Mapping):
        return _select_weighted(catalog, selection)
    if not isinstance(selection, Iterable):
        raise InvalidInputError(f"instance_types must be a list of names or a mapping of shares "
                                f"(got {selection!r})", field="instance_types", value=selection)
    chosen: dict[str, InstanceType] = {}
    for pattern in selection:
        for item in catalog.resolve(pattern):
            chosen.setdefault(item.name, item)
    if not chosen:
        raise InvalidInputError("instance_types must name at least one type", field="instance_types",
                                value=list(selection))
    types = list(chosen.values())
    return types, [t.weight for t in types]


def _select_weighted(catalog: Catalog, shares: Mapping[str, float]
                     ) -> tuple[list[InstanceType], list[float]]:
    owner: dict[str, str] = {}
    types: list[InstanceType] = []
    weights: list[float] = []
    for pattern, share in shares.items():
        if (not isinstance(share, (int, float)) or isinstance(share, bool)
                or not math.isfinite(share) or share <= 0):
            raise InvalidInputError(f"weight of {pattern!r} must be a positive number (got {share!r})",
                                    field=f"instance_types[{pattern!r}]", value=share)
        matched = catalog.resolve(pattern)
        total = sum(t.weight for t in matched)
        for item in matched:
            if item.name in owner:
                raise InvalidInputError(f"instance type {item.name!r} is matched by both "
                                        f"{owner[item.name]!r} and {pattern!r}",
                                        field="instance_types", value=pattern)
            owner[item.name] = pattern
            types.append(item)
            weights.append(share * item.weight / total)
    if not types:
        raise InvalidInputError("instance_types must name at least one type", field="instance_types",
                                value=dict(shares))
    return types, weights
