"""A real LocalCluster of 2 worker processes shared by the sweep tests, and a c5.large fleet."""

import pyarrow.parquet as pq
import pytest

from quaymaster.fleet import generate_fleet


@pytest.fixture(scope="session")
def fleet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet") / "fleet.parquet"
    pq.write_table(generate_fleet(12, azs=3, seed=1, cluster="prod", instance_types=["c5.large"]), path)
    return path


@pytest.fixture(scope="session")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c
