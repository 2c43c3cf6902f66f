"""Generate a realistic, empty fleet of container instances as an Arrow table.

Every random choice is a pure function of ``(seed, purpose, position)``:
``splitmix64(stream(seed, purpose) + position)``, where ``stream`` hashes the
seed and a purpose label with BLAKE2b. Nothing depends on numpy's generator
streams or the wall clock, so the same arguments give the same table (and the
same Parquet bytes) on every machine, and a fleet is built in slices of
positions without changing a single value.

Layout (the decisions a caller can rely on):

- zones are ``region + a, b, c, ...``; position ``p`` is in zone ``p % azs``
  (what an Auto Scaling group launching round-robin produces), so zone counts
  differ by at most one and the first ``instances % azs`` zones have the extra;
- one VPC, one subnet per zone; one ECS-optimized AMI per AMI variant
  (standard x86_64, arm64, GPU, Inferentia);
- ``ec2_instance_id`` is ``i-0`` plus 16 hex digits, unique within a fleet
  (splitmix64 is a bijection) and depending only on the seed and position;
- ``registered_at`` strictly increases with position (new instances are
  appended) over a 30-day window ending at an instant derived from the seed
  within 2025;
- resources registered = remaining (no tasks), status ACTIVE, agent connected.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from quaymaster.errors import InvalidInputError
from quaymaster.fleet.catalog import Catalog, InstanceType, load_catalog, select_types
from quaymaster.keys import splitmix64_array
from quaymaster.model.schema import (
    ACCOUNT_RE,
    BUILTIN_ATTRIBUTES,
    DEFAULT_RESERVED_PORTS,
    PORT_LIST,
    REGION_RE,
    TIMESTAMP,
    instance_arn,
    instance_schema,
)

MAX_AZS = 26
MAX_SEED = (1 << 64) - 1
# Recent ECS agent releases (aws/amazon-ecs-ami "Update ECS Agent version" PRs,
# 2025) and how common each is: most of a fleet runs the newest AMI.
AGENT_VERSIONS = (("1.99.0", 0.55), ("1.98.0", 0.25), ("1.97.1", 0.15), ("1.93.0", 0.05))
REGISTRATION_WINDOW_US = 30 * 86_400 * 1_000_000
_EPOCH_BASE_US = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000
_EPOCH_SPREAD_S = 334 * 86_400  # the window's end falls within 2025, after the window itself
_BATCH_ROWS = 1 << 20  # keeps every string column well inside int32 offsets

_CLUSTER_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % byte for byte in range(256)),
                           dtype=np.uint8).reshape(256, 2)


@dataclass(frozen=True)
class _Plan:
    """Everything the per-slice builder needs, computed once per fleet."""

    instances: int
    azs: int
    seed: int
    arn_prefix: bytes
    types: tuple[InstanceType, ...]
    cumulative_weights: np.ndarray     # float64, last element = total weight
    type_ami: np.ndarray               # per selected type: index into ami_ids
    ami_ids: tuple[str, ...]
    zones: tuple[str, ...]
    subnets: tuple[str, ...]
    vpc_id: str
    window_start_us: int


def stream_key(seed: int, purpose: str) -> int:
    """A 64-bit key for one purpose's stream: BLAKE2b of the seed and the label."""
    digest = hashlib.blake2b(f"quaymaster-fleet/{seed}/{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _draws(seed: int, purpose: str, positions: np.ndarray) -> np.ndarray:
    """splitmix64(stream(seed, purpose) + p) for each position: uint64."""
    with np.errstate(over="ignore"):
        return splitmix64_array(positions + np.uint64(stream_key(seed, purpose)))


def _unit_floats(bits: np.ndarray) -> np.ndarray:
    """Top 53 bits as a float in [0, 1)."""
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _resource_id(prefix: str, seed: int, purpose: str) -> str:
    """An AWS-style id (``vpc-0`` + 16 hex digits) for a fleet-wide resource."""
    return f"{prefix}-0{stream_key(seed, purpose):016x}"


def _hex16(values: np.ndarray) -> np.ndarray:
    """uint64 -> (n, 16) ASCII bytes of the zero-padded lower-case hex."""
    big_endian = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    return _HEX_PAIRS[big_endian].reshape(-1, 16)


def _fixed_width_strings(prefix: bytes, body: np.ndarray) -> pa.Array:
    """A string array whose rows are ``prefix`` + one row of ``body`` (ASCII bytes)."""
    rows, width = body.shape
    total = len(prefix) + width
    chars = np.empty((rows, total), dtype=np.uint8)
    chars[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    chars[:, len(prefix):] = body
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(total)
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets),
                                                     pa.py_buffer(chars.tobytes())])


def _categorical(values: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings by code: few distinct values, so Parquet dictionary-encodes them."""
    return pa.array(list(values), type=pa.string()).take(pa.array(codes.astype(np.int32)))


def _constant_lists(values: Sequence[int], rows: int) -> pa.Array:
    per_row = len(values)
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(per_row)
    flat = np.tile(np.asarray(values, dtype=np.int32), rows)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.int32()), type=PORT_LIST)


def _checked_int(value, field: str, low: int, high: int | None) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise InvalidInputError(f"{field} must be an integer (got {value!r})", field=field,
                                value=value) from None
    if number < low or (high is not None and number > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise InvalidInputError(f"{field} must be {bounds} (got {number})", field=field, value=value)
    return number


def _checked_text(value, field: str, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInputError(f"{field} must be {what} (got {value!r})", field=field, value=value)
    return value


def _plan(instances, azs, seed, region, cluster, account, selection, catalog) -> _Plan:
    instances = _checked_int(instances, "instances", 0, None)
    azs = _checked_int(azs, "azs", 1, MAX_AZS)
    seed = _checked_int(seed, "seed", 0, MAX_SEED)
    region = _checked_text(region, "region", REGION_RE, "an AWS region name such as us-east-1")
    cluster = _checked_text(cluster, "cluster", _CLUSTER_RE,
                            "1 to 255 letters, digits, hyphens and underscores")
    account = _checked_text(account, "account", ACCOUNT_RE, "a 12-digit AWS account id")
    if catalog is not None and not isinstance(catalog, Catalog):
        raise InvalidInputError(f"catalog must be a Catalog (see load_catalog), got {catalog!r}",
                                field="catalog", value=catalog)
    types, weights = select_types(catalog if catalog is not None else load_catalog(), selection)
    variants = sorted({t.ami_variant for t in types})
    zones = tuple(region + chr(ord("a") + z) for z in range(azs))
    end_us = _EPOCH_BASE_US + (stream_key(seed, "epoch") % _EPOCH_SPREAD_S) * 1_000_000
    return _Plan(
        instances=instances, azs=azs, seed=seed,
        arn_prefix=instance_arn(region, account, cluster, "").encode(),
        types=tuple(types), cumulative_weights=np.cumsum(np.asarray(weights, dtype=np.float64)),
        type_ami=np.array([variants.index(t.ami_variant) for t in types], dtype=np.int32),
        ami_ids=tuple(_resource_id("ami", seed, f"ami/{region}/{v}") for v in variants),
        zones=zones,
        subnets=tuple(_resource_id("subnet", seed, f"subnet/{zone}") for zone in zones),
        vpc_id=_resource_id("vpc", seed, f"vpc/{region}"),
        window_start_us=end_us - REGISTRATION_WINDOW_US,
    )


def _choose(cumulative: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Weighted choice: index i with probability weight[i] / total."""
    picks = np.searchsorted(cumulative, unit * cumulative[-1], side="right")
    return np.minimum(picks, len(cumulative) - 1)


def _registered_at(plan: _Plan, positions: np.ndarray) -> np.ndarray:
    """Strictly increasing microsecond timestamps: p * step + jitter below step."""
    step = max(REGISTRATION_WINDOW_US // max(plan.instances, 1), 1)
    jitter = _draws(plan.seed, "registered-at", positions) % np.uint64(step)
    return plan.window_start_us + (positions * np.uint64(step) + jitter).astype(np.int64)


def _batch(plan: _Plan, start: int, stop: int, schema: pa.Schema) -> pa.RecordBatch:
    """The rows of positions ``start .. stop-1``."""
    positions = np.arange(start, stop, dtype=np.uint64)
    rows = stop - start
    type_code = _choose(plan.cumulative_weights, _unit_floats(_draws(plan.seed, "type", positions)))
    agent_cumulative = np.cumsum([share for _, share in AGENT_VERSIONS])
    agent_code = _choose(agent_cumulative, _unit_floats(_draws(plan.seed, "agent", positions)))
    zone_code = (positions % np.uint64(plan.azs)).astype(np.int32)

    id_body = np.concatenate([np.full((rows, 1), ord("0"), dtype=np.uint8),
                              _hex16(_draws(plan.seed, "ec2-instance-id", positions))], axis=1)
    instance_ids = _fixed_width_strings(b"i-", id_body)
    arns = _fixed_width_strings(plan.arn_prefix + b"i-", id_body)

    def per_type(attribute: str) -> np.ndarray:
        return np.array([getattr(t, attribute) for t in plan.types], dtype=np.int64)[type_code]

    cpu, memory, gpu = per_type("cpu_units"), per_type("ecs_memory_mib"), per_type("gpus")
    columns = {
        "ec2_instance_id": instance_ids,
        "container_instance_arn": arns,
        "status": _categorical(["ACTIVE"], np.zeros(rows, dtype=np.int32)),
        "agent_connected": pa.array(np.ones(rows, dtype=bool)),
        "agent_version": _categorical([v for v, _ in AGENT_VERSIONS], agent_code),
        "registered_at": pa.array(_registered_at(plan, positions), type=TIMESTAMP),
        "cpu_registered": pa.array(cpu), "memory_registered": pa.array(memory),
        "gpu_registered": pa.array(gpu), "eni_limit": pa.array(per_type("eni_limit")),
        "cpu_remaining": pa.array(cpu), "memory_remaining": pa.array(memory),
        "gpu_remaining": pa.array(gpu),
        "reserved_ports": _constant_lists(DEFAULT_RESERVED_PORTS, rows),
        "reserved_ports_udp": _constant_lists((), rows),
        "capacity_provider": pa.nulls(rows, pa.string()),
        "attribute:ecs.availability-zone": _categorical(plan.zones, zone_code),
        "attribute:ecs.instance-type": _categorical([t.name for t in plan.types], type_code),
        "attribute:ecs.os-type": _categorical(["linux"], np.zeros(rows, dtype=np.int32)),
        "attribute:ecs.os-family": _categorical(["LINUX"], np.zeros(rows, dtype=np.int32)),
        "attribute:ecs.cpu-architecture": _categorical(
            [t.architecture for t in plan.types], type_code),
        "attribute:ecs.ami-id": _categorical(plan.ami_ids, plan.type_ami[type_code]),
        "attribute:ecs.vpc-id": _categorical([plan.vpc_id], np.zeros(rows, dtype=np.int32)),
        "attribute:ecs.subnet-id": _categorical(plan.subnets, zone_code),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def generate_fleet(instances: int, azs: int = 3, seed: int = 0, region: str = "us-east-1",
                   cluster: str = "default", account: str = "000000000000",
                   instance_types: Sequence[str] | Mapping[str, float] | None = None,
                   *, catalog: Catalog | None = None) -> pa.Table:
    """A fleet of ``instances`` empty, ACTIVE container instances over ``azs`` zones.

    The table has exactly ``instance_schema(BUILTIN_ATTRIBUTES)``. Instance
    types are drawn by weight from the catalog (:mod:`quaymaster.fleet.catalog`);
    ``instance_types`` restricts them: a list of names or family patterns
    (``["t3.large", "m7g.*"]``, keeping the catalog's mix between them) or a
    mapping of name/pattern to share (``{"m5.*": 3, "c6g.*": 1}``). The same
    arguments always give the same table; see the module docstring for the
    layout. Bad arguments raise :class:`InvalidInputError` naming the field.
    """
    plan = _plan(instances, azs, seed, region, cluster, account, instance_types, catalog)
    schema = instance_schema(BUILTIN_ATTRIBUTES)
    batches = [_batch(plan, start, min(start + _BATCH_ROWS, plan.instances), schema)
               for start in range(0, plan.instances, _BATCH_ROWS)]
    return pa.Table.from_batches(batches, schema=schema)
