"""A fast run registers a batch of Auto Scaling launches from coerced rows kept per launch shape
(region/launch_table.py); the table must equal what ``coerce_instances`` makes of the batch's
rows (the plain run's path), for random batches of types (GPU ones included), providers and
zones, and registering either table must leave the cluster in the same state."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.cluster import Cluster
from quaymaster.errors import SchemaError
from quaymaster.fleet.catalog import load_catalog
from quaymaster.model.coerce import coerce_instances
from quaymaster.model.schema import instance_rows_table
from quaymaster.region.launch_table import LaunchTables
from quaymaster.region.scaling_host import ScalingHost
from quaymaster.scaling.asg import AsgAction

CATALOG = load_catalog()
PLAIN = [t for t in CATALOG.types.values() if not t.gpus][:3]
GPU = [t for t in CATALOG.types.values() if t.gpus][:2]
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
START = datetime(2026, 1, 1, tzinfo=timezone.utc)

launch = st.tuples(st.integers(0, 1), st.integers(0, 2), st.sampled_from(["cp-a", "cp-b"]), st.sampled_from(ZONES))
batches = st.lists(st.tuples(st.booleans(), st.lists(launch, min_size=1, max_size=6)), min_size=1, max_size=5)


def rows_of(gpu: bool, launches: list, first_id: int) -> list[dict]:
    """Rows of one batch: one GPU-ness per batch (the scaling host splits batches by it)."""
    types = GPU if gpu else PLAIN
    return [ScalingHost._instance_row(AsgAction("register", "g", f"i-{first_id + k:017x}",
                                                types[pick % len(types)], zone, 0), provider)
            for k, (pick, _, provider, zone) in enumerate(launches)]


def assert_same_table(fast: pa.Table, plain: pa.Table) -> None:
    assert fast.schema.equals(plain.schema, check_metadata=True)
    assert fast.equals(plain)
    assert [column.num_chunks for column in fast.columns] == [column.num_chunks for column in plain.columns]


@settings(max_examples=60, deadline=None)
@given(batches)
def test_kept_shapes_equal_coercion(batches):
    tables = LaunchTables()            # kept across batches, as in a run
    fast_cluster, plain_cluster = Cluster("c"), Cluster("c")
    next_id = 1
    for minute, (gpu, launches) in enumerate(batches):
        rows = rows_of(gpu, launches, next_id)
        next_id += len(rows)
        when = START + timedelta(minutes=minute)
        fast = tables.table(rows, cluster="c", region=fast_cluster.region, account=fast_cluster.account,
                            registered_at=when)
        plain = coerce_instances(instance_rows_table(rows), cluster="c", region=plain_cluster.region,
                                 account=plain_cluster.account, registered_at=when)
        assert_same_table(fast, plain)
        assert fast_cluster.register_coerced(fast) == plain_cluster.register_instances(instance_rows_table(rows),
                                                                                       registered_at=when)
    assert fast_cluster.state.to_table().equals(plain_cluster.state.to_table())
    assert fast_cluster.describe_container_instances(fast_cluster.state.ids) == \
        plain_cluster.describe_container_instances(plain_cluster.state.ids)


def test_cluster_checks_still_apply():
    """Kept rows skip the column checks, not the cluster's: an id already registered is refused."""
    cluster = Cluster("c")
    tables = LaunchTables()
    rows = rows_of(False, [(0, 0, "cp-a", "us-east-1a")], 1)
    cluster.register_coerced(tables.table(rows, cluster="c", region=cluster.region, account=cluster.account,
                                          registered_at=START))
    before = cluster.state.to_table()
    with pytest.raises(SchemaError, match="already registered") as refused:
        cluster.register_coerced(tables.table(rows, cluster="c", region=cluster.region,
                                              account=cluster.account, registered_at=START))
    assert refused.value.column == "ec2_instance_id" and refused.value.value == rows[0]["ec2_instance_id"]
    assert cluster.state.to_table().equals(before)
