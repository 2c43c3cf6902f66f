"""The fast pack of PROVISIONING tasks (``instances_for_tasks(..., fast=True)``, plain Python
first fit) against the plain one (numpy), on random tasks: few distinct needs, so runs of
equal needs (where the fast search starts at the bin the last one went to) are common."""

import numpy as np
from hypothesis import given, settings, strategies as st

from quaymaster.fleet.catalog import load_catalog
from quaymaster.scaling.managed import ManagedScaling, instances_for_tasks, managed_scaling_step

CATALOG = load_catalog()
TYPES = [CATALOG[name] for name in ("m5.large", "m5.xlarge", "c5.2xlarge", "r5.large")]

need = st.tuples(st.sampled_from([128, 256, 512, 1024, 1500, 2048, 3000]),
                 st.sampled_from([256, 512, 1024, 2048, 4000, 7000, 9000]),
                 st.integers(0, 2), st.integers(0, 1))
type_sets = st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique_by=lambda t: t.name)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.lists(need, min_size=1, max_size=4), type_sets)
def test_fast_pack_is_the_plain_pack(data, pool, types):
    rows = data.draw(st.lists(st.sampled_from(pool), max_size=300))
    needs = np.array(rows, np.int64).reshape(-1, 4)
    assert instances_for_tasks(needs, types, fast=True) == instances_for_tasks(needs, types)


@settings(max_examples=100, deadline=None)
@given(st.lists(need, max_size=120), type_sets, st.integers(0, 40), st.integers(0, 40))
def test_fast_step_is_the_plain_step(rows, types, n, busy):
    needs = np.array(rows, np.int64).reshape(-1, 4)
    busy = min(busy, n)
    args = dict(n=n, busy=busy, provisioning=needs, types=types, settings=ManagedScaling(),
                asg_desired=n, asg_min=0, asg_max=100, warming=0)
    assert managed_scaling_step(60_000, **args, fast=True) == managed_scaling_step(60_000, **args)
