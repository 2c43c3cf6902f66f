"""Workload models, seeded noise and the per-minute metric formulas."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, strategies as st

from quaymaster.errors import InvalidInputError
from quaymaster.workloads import (cpu_utilization, memory_utilization, noise_factors, parse_workload,
                                  request_count_per_target, unserved_demand)
from quaymaster.workloads.noise import stream_seed

MIN = 60_000
DAY = np.arange(1440, dtype=np.int64) * MIN


def test_constant_and_diurnal_formula():
    assert (parse_workload({"service": "c/s", "model": "constant", "cpu": 300})
            .demand(DAY, start_ms=0, seed=1).cpu == 300).all()
    w = parse_workload({"service": "c/s", "model": "diurnal", "low": 100, "high": 1000, "peak": "14:00",
                        "requests_per_cpu": 2, "memory": 512})
    d = w.demand(DAY, start_ms=0, seed=1)
    m = np.arange(1440)
    expected = 100 + 900 * (1 + np.cos(2 * np.pi * (m - 840) / 1440)) / 2
    np.testing.assert_allclose(d.cpu, expected)
    assert d.cpu.argmax() == 840 and d.cpu.argmin() == 120
    assert math.isclose(d.cpu[840], 1000) and math.isclose(d.cpu[120], 100)
    np.testing.assert_allclose(d.requests, 2 * expected)
    assert (d.memory == 512).all()


def test_steps_take_the_last_step_at_or_before():
    w = parse_workload({"service": "c/s", "model": "steps", "steps": [
        {"at": "0s", "cpu": 10}, {"at": "1h", "cpu": 50}, {"at": "90m", "cpu": 20}]}, start_ms=5 * MIN)
    t = np.array([0, 5, 64, 65, 94, 95, 500]) * MIN
    assert list(w.demand(t, start_ms=5 * MIN, seed=0).cpu) == [0, 10, 10, 50, 50, 20, 20]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_series_from_parquet_and_csv(tmp_path, kind):
    table = pa.table({"time": pa.array([0, 10 * MIN, 20 * MIN], pa.timestamp("ms", tz="UTC")),
                      "cpu": [1.0, 2.0, 3.0], "requests": [10.0, 20.0, 30.0]})
    path = tmp_path / f"load.{kind}"
    (pq.write_table if kind == "parquet" else pacsv.write_csv)(table, path)
    w = parse_workload({"service": "c/s", "model": "series", "path": str(path)})
    d = w.demand(np.array([0, 9, 10, 25]) * MIN, start_ms=0, seed=0)
    assert list(d.cpu) == [1, 1, 2, 3] and list(d.requests) == [10, 10, 20, 30]
    assert list(d.memory) == [0, 0, 0, 0]


def test_noise_is_seeded_keyed_and_independent_of_the_range():
    a = noise_factors(0.05, 7, "prod/web", np.arange(1000))
    assert (a == noise_factors(0.05, 7, "prod/web", np.arange(1000))).all()
    assert (a[500:] == noise_factors(0.05, 7, "prod/web", np.arange(500, 1000))).all()
    assert not (a == noise_factors(0.05, 7, "prod/api", np.arange(1000))).all()
    assert not (a == noise_factors(0.05, 8, "prod/web", np.arange(1000))).all()
    assert stream_seed(7, "prod/web") != stream_seed(7, "prod/api")
    big = noise_factors(0.5, 1, "x", np.arange(200_000))
    normal = (big[big > 0] - 1) / 0.5
    assert abs(np.mean((noise_factors(0.1, 1, "x", np.arange(200_000)) - 1) / 0.1)) < 0.02
    assert abs(np.std((noise_factors(0.1, 1, "x", np.arange(200_000)) - 1) / 0.1) - 1) < 0.02
    assert (big >= 0).all() and (big == 0).any() and len(normal) < len(big)
    assert (noise_factors(0, 1, "x", np.arange(5)) == 1).all()


def test_noise_applies_to_the_demand():
    plain = parse_workload({"service": "c/s", "model": "constant", "cpu": 100})
    noisy = parse_workload({"service": "c/s", "model": "constant", "cpu": 100, "noise": 0.05})
    t = np.arange(60) * MIN
    factors = noise_factors(0.05, 3, "c/s", np.arange(60))
    np.testing.assert_allclose(noisy.demand(t, start_ms=0, seed=3).cpu,
                               plain.demand(t, start_ms=0, seed=3).cpu * factors)


@pytest.mark.parametrize("spec, field", [
    ({"service": "c/s", "model": "sine"}, "w.model"),
    ({"service": "c/s", "model": "constant"}, "w.cpu"),
    ({"service": "c/s", "model": "constant", "cpu": -1}, "w.cpu"),
    ({"service": "c/s", "model": "constant", "cpu": 1, "low": 2}, "w.low"),
    ({"service": "c/s", "model": "constant", "cpu": float("nan")}, "w.cpu"),
    ({"model": "constant", "cpu": 1}, "w.service"),
    ({"service": "c/s", "model": "diurnal", "low": 1, "high": 2, "peak": "25:00"}, "w.peak"),
    ({"service": "c/s", "model": "steps", "steps": []}, "w.steps"),
    ({"service": "c/s", "model": "steps", "steps": [{"at": "soon", "cpu": 1}]}, "w.steps[0].at"),
    ({"service": "c/s", "model": "steps", "steps": [{"at": "1h", "cpu": 1}, {"at": "1h", "cpu": 2}]},
     "w.steps"),
    ({"service": "c/s", "model": "constant", "cpu": 1, "noise": "x"}, "w.noise"),
    ({"service": "c/s", "model": "series", "path": "/no/such/file.parquet"}, "w.path"),
])
def test_bad_workloads_name_the_json_path(spec, field):
    with pytest.raises(InvalidInputError) as info:
        parse_workload(spec, "w")
    assert info.value.field.startswith(field)


def test_bad_series_refused(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"time": pa.array([10 * MIN, 0], pa.timestamp("ms")), "cpu": [1.0, 2.0]}),
                   path)
    with pytest.raises(InvalidInputError, match="increasing"):
        parse_workload({"service": "c/s", "model": "series", "path": str(path)}, "w")
    pq.write_table(pa.table({"time": pa.array([0], pa.timestamp("ms")), "cpu": [-1.0]}), path)
    with pytest.raises(InvalidInputError, match="non-negative"):
        parse_workload({"service": "c/s", "model": "series", "path": str(path)}, "w")
    pq.write_table(pa.table({"time": pa.array([0], pa.timestamp("ms")), "gpu": [1.0]}), path)
    with pytest.raises(InvalidInputError, match="time and cpu"):
        parse_workload({"service": "c/s", "model": "series", "path": str(path)}, "w")


def test_metric_formulas():
    demand = np.array([0.0, 100.0, 512.0, 2000.0, 10.0, 0.0])
    running = np.array([2, 2, 2, 2, 0, 0])
    cpu = cpu_utilization(demand, running, 512)
    np.testing.assert_allclose(cpu[:5], [0.0, 100 * 100 / 1024, 50.0, 100.0, 100.0])
    assert math.isnan(cpu[5])                          # nothing runs, no demand: no data point
    np.testing.assert_allclose(unserved_demand(demand, running, 512), [0, 0, 0, 976, 10, 0])
    np.testing.assert_allclose(memory_utilization([1024.0], [4], [512]), [50.0])
    rpt = request_count_per_target([100.0, 100.0, 0.0], [4, 0, 0])
    assert rpt[0] == 25.0 and rpt[1] == 100.0 and math.isnan(rpt[2])


@given(st.lists(st.tuples(st.floats(0, 1e6), st.integers(0, 500), st.sampled_from([256, 512, 1024])),
                min_size=1, max_size=50))
def test_metric_formulas_match_the_scalar_rules(rows):
    demand = np.array([r[0] for r in rows])
    running = np.array([r[1] for r in rows])
    per_task = np.array([r[2] for r in rows])
    cpu = cpu_utilization(demand, running, per_task)
    unserved = unserved_demand(demand, running, per_task)
    for i, (d, n, c) in enumerate(rows):
        if n > 0:
            assert math.isclose(cpu[i], min(100.0, 100.0 * d / (n * c)), rel_tol=1e-12)
        elif d > 0:
            assert cpu[i] == 100.0
        else:
            assert math.isnan(cpu[i])
        assert math.isclose(unserved[i], max(0.0, d - n * c), rel_tol=1e-12, abs_tol=1e-9)


def test_minute_metrics_by_name():
    from quaymaster.workloads import minute_metrics
    got = minute_metrics([1024.0, 0.0], [256.0, 0.0], [90.0, 0.0], [2, 0], [3, 0], [1024, 512],
                         [512, 512])
    assert list(got) == ["CPUUtilization", "MemoryUtilization", "RequestCountPerTarget", "UnservedDemand"]
    assert got["CPUUtilization"][0] == 50.0 and math.isnan(got["CPUUtilization"][1])
    assert got["MemoryUtilization"][0] == 25.0 and got["RequestCountPerTarget"][0] == 30.0
    assert list(got["UnservedDemand"]) == [0.0, 0.0]
