"""generate_fleet: schema, determinism, layout, and a naive per-row reference."""

from __future__ import annotations

import bisect
import io
import itertools
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.errors import InvalidInputError
from quaymaster.fleet import generate as generate_module
from quaymaster.fleet import generate_fleet, load_catalog, select_types
from quaymaster.fleet.generate import AGENT_VERSIONS, REGISTRATION_WINDOW_US, stream_key
from quaymaster.keys import splitmix64
from quaymaster.model.coerce import coerce_instances
from quaymaster.model.schema import BUILTIN_ATTRIBUTES, instance_arn, instance_schema

CATALOG = load_catalog()
MASK = (1 << 64) - 1


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _column(table, name):
    return table.column(name).to_pylist()


# --- a naive reference: one row at a time, Python integers --------------------------------

def _draw(seed, purpose, position):
    return splitmix64((stream_key(seed, purpose) + position) & MASK)


def _weighted_index(weights, bits):
    cumulative = list(itertools.accumulate(float(w) for w in weights))
    unit = (bits >> 11) * (1.0 / (1 << 53))
    return min(bisect.bisect_right(cumulative, unit * cumulative[-1]), len(weights) - 1)


def reference_row(seed, n, azs, region, position, types, weights):
    """What row ``position`` of the fleet must hold, computed the slow way."""
    item = types[_weighted_index(weights, _draw(seed, "type", position))]
    agent = AGENT_VERSIONS[_weighted_index([s for _, s in AGENT_VERSIONS], _draw(seed, "agent", position))][0]
    step = max(REGISTRATION_WINDOW_US // max(n, 1), 1)
    # the window ends within 2025 at an instant derived from the seed, and lasts 30 days
    window_end = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(
        seconds=stream_key(seed, "epoch") % (334 * 86_400))
    return {
        "ec2_instance_id": f"i-0{_draw(seed, 'ec2-instance-id', position):016x}",
        "zone": region + "abcdefghijklmnopqrstuvwxyz"[position % azs],
        "type": item.name, "cpu": item.cpu_units, "memory": item.ecs_memory_mib, "gpu": item.gpus,
        "eni_limit": item.eni_limit, "architecture": item.architecture, "agent_version": agent,
        "registered_at": window_end - timedelta(microseconds=REGISTRATION_WINDOW_US) + timedelta(
            microseconds=position * step + _draw(seed, "registered-at", position) % step),
    }


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 300), azs=st.integers(1, 26), seed=st.integers(0, MASK),
       families=st.sets(st.sampled_from(sorted({t.family for t in CATALOG.types.values()})), max_size=3))
def test_matches_the_naive_reference(n, azs, seed, families):
    selection = [f"{family}.*" for family in sorted(families)] or None
    table = generate_fleet(n, azs=azs, seed=seed, region="eu-west-2", instance_types=selection)
    types, weights = select_types(CATALOG, selection)
    rows = table.to_pylist()
    assert len(rows) == n
    for position, row in enumerate(rows):
        expected = reference_row(seed, n, azs, "eu-west-2", position, types, weights)
        assert row["ec2_instance_id"] == expected["ec2_instance_id"]
        assert row["attribute:ecs.availability-zone"] == expected["zone"]
        assert row["attribute:ecs.instance-type"] == expected["type"]
        assert (row["cpu_registered"], row["memory_registered"], row["gpu_registered"]) == (
            expected["cpu"], expected["memory"], expected["gpu"])
        assert (row["cpu_remaining"], row["memory_remaining"], row["gpu_remaining"]) == (
            expected["cpu"], expected["memory"], expected["gpu"])
        assert row["eni_limit"] == expected["eni_limit"]
        assert row["attribute:ecs.cpu-architecture"] == expected["architecture"]
        assert row["agent_version"] == expected["agent_version"]
        assert row["registered_at"] == expected["registered_at"]


# --- schema and determinism ----------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_schema_is_exactly_the_instance_schema(n):
    table = generate_fleet(n)
    assert table.schema.equals(instance_schema(BUILTIN_ATTRIBUTES), check_metadata=True)
    assert table.num_rows == n


def test_same_seed_same_table_and_same_parquet_bytes():
    first, second = generate_fleet(3000, azs=4, seed=11), generate_fleet(3000, azs=4, seed=11)
    assert first.equals(second)
    assert _parquet_bytes(first) == _parquet_bytes(second)


def test_other_seed_other_fleet():
    first, second = generate_fleet(500, seed=1), generate_fleet(500, seed=2)
    assert not set(_column(first, "ec2_instance_id")) & set(_column(second, "ec2_instance_id"))
    assert _column(first, "attribute:ecs.instance-type") != _column(second, "attribute:ecs.instance-type")
    assert _column(first, "attribute:ecs.vpc-id")[0] != _column(second, "attribute:ecs.vpc-id")[0]


def test_slicing_into_batches_changes_no_value(monkeypatch):
    whole = generate_fleet(1000, azs=5, seed=5)
    monkeypatch.setattr(generate_module, "_BATCH_ROWS", 97)
    sliced = generate_fleet(1000, azs=5, seed=5)
    assert sliced.column("ec2_instance_id").num_chunks == 11
    assert sliced.combine_chunks().equals(whole.combine_chunks())


# --- layout --------------------------------------------------------------------------------

@pytest.mark.parametrize("n, azs", [(10, 3), (1000, 3), (1001, 4), (5, 7), (26, 26), (0, 2)])
def test_zones_are_round_robin_and_balanced(n, azs):
    table = generate_fleet(n, azs=azs, region="ap-southeast-2")
    zones = _column(table, "attribute:ecs.availability-zone")
    names = [f"ap-southeast-2{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"[:azs]]
    assert zones == [names[p % azs] for p in range(n)]
    counts = Counter(zones)
    # the first n % azs zones hold one more instance than the others
    assert [counts.get(z, 0) for z in names] == [n // azs + (i < n % azs) for i in range(azs)]


def test_one_subnet_per_zone_one_vpc_one_ami_per_variant():
    table = generate_fleet(2000, azs=4, seed=3)
    zones = _column(table, "attribute:ecs.availability-zone")
    subnets = _column(table, "attribute:ecs.subnet-id")
    pairs = set(zip(zones, subnets))
    assert len(pairs) == 4 and len({s for _, s in pairs}) == 4
    assert len(set(_column(table, "attribute:ecs.vpc-id"))) == 1
    ami_by_type = {}
    for instance_type, ami in zip(_column(table, "attribute:ecs.instance-type"),
                                  _column(table, "attribute:ecs.ami-id")):
        ami_by_type.setdefault(CATALOG[instance_type].ami_variant, set()).add(ami)
    assert all(len(amis) == 1 for amis in ami_by_type.values())
    assert len({next(iter(a)) for a in ami_by_type.values()}) == len(ami_by_type)
    for column, pattern in [("attribute:ecs.subnet-id", r"subnet-0[0-9a-f]{16}"),
                            ("attribute:ecs.vpc-id", r"vpc-0[0-9a-f]{16}"),
                            ("attribute:ecs.ami-id", r"ami-0[0-9a-f]{16}")]:
        assert all(re.fullmatch(pattern, v) for v in set(_column(table, column)))


def test_ids_arns_and_constant_columns():
    table = generate_fleet(5000, seed=9, region="us-west-2", cluster="prod_1", account="123456789012")
    ids = _column(table, "ec2_instance_id")
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"i-[0-9a-f]{17}", i) for i in ids)
    assert _column(table, "container_instance_arn") == [
        instance_arn("us-west-2", "123456789012", "prod_1", i) for i in ids]
    assert set(_column(table, "status")) == {"ACTIVE"}
    assert set(_column(table, "agent_connected")) == {True}
    assert set(_column(table, "agent_version")) <= {v for v, _ in AGENT_VERSIONS}
    assert set(_column(table, "attribute:ecs.os-type")) == {"linux"}
    assert set(_column(table, "attribute:ecs.os-family")) == {"LINUX"}
    assert table.column("capacity_provider").null_count == 5000
    assert _column(table, "reserved_ports")[:3] == [[22, 2375, 2376, 51678, 51679]] * 3
    assert pc.all(pc.equal(pc.list_value_length(table.column("reserved_ports")), 5)).as_py()
    assert pc.sum(pc.list_value_length(table.column("reserved_ports_udp"))).as_py() == 0


def test_registration_times_increase_within_a_window_in_2025():
    table = generate_fleet(4000, seed=21)
    times = table.column("registered_at").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(times) > 0)
    assert times[-1] - times[0] < REGISTRATION_WINDOW_US
    start, end = (datetime.fromtimestamp(t / 1e6, tz=timezone.utc) for t in (times[0], times[-1]))
    assert start.year == 2025 and end.year == 2025


def test_type_mix_follows_weights():
    table = generate_fleet(40_000, seed=4, instance_types={"m5.*": 3, "c6g.*": 1})
    families = Counter(t.split(".")[0] for t in _column(table, "attribute:ecs.instance-type"))
    assert set(families) == {"m5", "c6g"}
    assert families["m5"] / 40_000 == pytest.approx(0.75, abs=0.015)  # ~7 standard deviations
    gpu_types = {t.name for t in CATALOG.types.values() if t.gpus}
    default = Counter(_column(generate_fleet(40_000, seed=4), "attribute:ecs.instance-type"))
    gpu_share = sum(c for t, c in default.items() if t in gpu_types) / 40_000
    expected = sum(t.weight for t in CATALOG.types.values() if t.gpus) / sum(
        t.weight for t in CATALOG.types.values())
    assert gpu_share == pytest.approx(expected, abs=0.005)


def test_restricted_types_only():
    table = generate_fleet(300, instance_types=["t3.large", "m7g.*"])
    assert set(_column(table, "attribute:ecs.instance-type")) <= {"t3.large"} | {
        t.name for t in CATALOG.resolve("m7g.*")}
    assert set(_column(table, "attribute:ecs.cpu-architecture")) == {"x86_64", "arm64"}


def test_the_data_model_accepts_the_fleet():
    table = generate_fleet(200, seed=8)
    coerced = coerce_instances(table)
    assert coerced.num_rows == 200
    assert _column(coerced, "ec2_instance_id") == _column(table, "ec2_instance_id")
    assert _column(coerced, "memory_registered") == _column(table, "memory_registered")


# --- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, field", [
    ({"instances": -1}, "instances"),
    ({"instances": True}, "instances"),
    ({"instances": 2.5}, "instances"),
    ({"instances": "10"}, "instances"),
    ({"azs": 0}, "azs"),
    ({"azs": 27}, "azs"),
    ({"seed": -1}, "seed"),
    ({"seed": 1 << 64}, "seed"),
    ({"region": "US-EAST-1"}, "region"),
    ({"region": ""}, "region"),
    ({"cluster": "bad name!"}, "cluster"),
    ({"cluster": "x" * 256}, "cluster"),
    ({"account": "1234"}, "account"),
    ({"account": "\u0661" * 12}, "account"),  # twelve Arabic-Indic digits
    ({"instance_types": ["m5.large", "m5.huge"]}, "instance_types"),
    ({"instance_types": "m5.large"}, "instance_types"),
    ({"catalog": {"m5.large": 1}}, "catalog"),
])
def test_bad_arguments_raise_naming_field_and_value(kwargs, field):
    arguments = {"instances": 10, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        generate_fleet(**arguments)
    assert info.value.field == field
    bad = kwargs.get(field, kwargs.get("instance_types"))
    if field != "instance_types":
        assert info.value.value == bad and repr(bad)[:20] in str(info.value)
    else:
        assert "m5" in str(info.value)


def test_a_selection_that_is_neither_names_nor_shares_is_refused():
    with pytest.raises(InvalidInputError) as info:
        generate_fleet(10, instance_types=5)
    assert info.value.field == "instance_types" and info.value.value == 5


def test_numpy_integers_are_accepted():
    assert generate_fleet(np.int64(5), azs=np.int32(2), seed=np.uint64(7)).equals(generate_fleet(5, 2, 7))
