"""The scaling host's demand of a minute read from its roster of blocks (the fast run) equals
asking each workload's block (the plain run), as the measured services come and go, change
order, get a new workload object, and the minutes run past the blocks' day."""

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings, strategies as st

from quaymaster.region.scaling_host import MINUTE_MS, ScalingHost
from quaymaster.workloads import parse_workload

START = 1_700_000_040_000          # a whole minute, not a whole day
SPECS = [{"model": "diurnal", "low": 100, "high": 900, "noise": 0.1, "requests_per_cpu": 2, "memory": 256},
         {"model": "constant", "cpu": 300, "noise": 0.05},
         {"model": "steps", "steps": [{"at": "0s", "cpu": 10}, {"at": "3h", "cpu": 50}], "memory": 64},
         {"model": "diurnal", "low": 10, "high": 20, "peak": "03:30"}]


def _workload(k: int):
    return parse_workload({"service": f"c/s{k}", **SPECS[k % len(SPECS)]}, start_ms=START)


def _host(fast: bool) -> ScalingHost:
    host = ScalingHost.__new__(ScalingHost)
    host.region = SimpleNamespace(clock=SimpleNamespace(start=START), seed=7, fast_paths=fast)
    host._demand_blocks, host._demand_roster = {}, None
    return host


STEP = st.tuples(st.sampled_from([1, 1, 1, 2, 15, 1439, 1440, 1441, 2000]),     # minutes later
                 st.permutations(range(6)), st.integers(0, 6),                   # who is measured
                 st.one_of(st.none(), st.integers(0, 5)))                        # a workload made again


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=25))
def test_roster_rows_equal_each_workloads_block(steps):
    workloads = [_workload(k) for k in range(6)]
    fast, plain = _host(True), _host(False)
    minute = START
    for later, order, count, renewed in steps:
        minute += later * MINUTE_MS
        if renewed is not None:        # the same service, a new (equal) workload object
            workloads[renewed] = _workload(renewed)
        asked = [workloads[k] for k in order[:count]]
        got, want = fast._demand_rows(asked, minute), plain._demand_rows(asked, minute)
        assert got.shape == want.shape == (len(asked), 3)
        assert got.tobytes() == want.tobytes()
