"""The S3 scaling scenario: it scales out and back in, and the fast ways of running it (placement
fast paths, the clock jumping over ticks, the vectorised minute) give exactly the plain outputs."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from quaymaster.bench.scaling import PLAIN, differences, instance_minutes
from quaymaster.bench.scaling_scenarios import s3_scenario
from quaymaster.cli.main import main
from quaymaster.errors import InvalidParameterError
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation
from quaymaster.workloads import parse_workload

START = 1_767_571_200_000   # 2026-01-05T00:00:00Z, the scenario's start


def run(document, **options):
    return Simulation(load_scenario(document), **options).run()


@pytest.fixture(scope="module")
def day():
    """Six services through a whole day (a tenth of the load: a few dozen instances at the peak)."""
    return run(s3_scenario(6, scale=0.1, instances=3))


def cluster_instances(simulation) -> list[float]:
    metrics = simulation.tables()["metrics"].to_pylist()
    return [r["value"] for r in metrics if r["scope"] == "cluster" and r["metric"] == "instances"]


def test_the_day_scales_out_to_the_peak_and_back_in(day):
    counts = cluster_instances(day)
    assert len(counts) == 24 * 60 + 1                      # 1-minute samples, both ends
    peak = max(counts)
    assert day.summary()["peakInstances"] == peak
    noon = counts[12 * 60]
    assert peak >= 3 * counts[60] and noon >= 0.8 * peak    # grows into the 12:00 peak
    assert counts[-1] <= peak / 3                            # and falls back by midnight
    assert instance_minutes(day) == sum(counts)


def test_unserved_demand_is_reported_per_service_and_in_total(day):
    metrics = day.tables()["metrics"].to_pylist()
    unserved = [r["value"] for r in metrics if r["metric"] == "UnservedDemand"]
    assert len(unserved) == 6 * 24 * 60
    assert all(v >= 0 for v in unserved)
    assert day.summary()["unservedDemandTotal"] == pytest.approx(sum(unserved))
    assert day.summary()["unservedDemandTotal"] > 0          # the first minutes start short


def test_target_tracking_and_managed_scaling_acted(day):
    kinds = {row["kind"] for row in day.tables()["activities"].to_pylist()}
    assert kinds == {"service", "asg"}


@pytest.mark.parametrize("options", [{"fast_paths": False}, {"jump_ticks": False}, PLAIN])
def test_fast_and_plain_runs_are_identical(options):
    document = s3_scenario(4, scale=0.1, duration="5h", instances=2, seed=3)
    assert differences(run(document), run(document, **options)) == []


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.integers(1, 4), scale=st.sampled_from([0.03, 0.08, 0.15]), seed=st.integers(0, 2**32),
       noise=st.sampled_from([0.0, 0.05, 0.3]), hours=st.integers(1, 4), instances=st.integers(0, 4))
def test_fast_and_plain_runs_agree_on_random_scenarios(services, scale, seed, noise, hours, instances):
    document = s3_scenario(services, scale=scale, seed=seed, noise=noise, duration=f"{hours}h",
                           instances=instances)
    assert differences(run(document), run(document, **PLAIN)) == []


@settings(max_examples=25, deadline=None)
@given(low=st.floats(0, 1e4), spread=st.floats(0, 1e5), peak=st.integers(0, 1439), noise=st.floats(0, 0.5),
       seed=st.integers(0, 2**63), first=st.integers(0, 5000))
def test_a_days_demand_at_once_equals_each_minute_alone(low, spread, peak, noise, seed, first):
    """What the scaling minute's day-at-a-time demand relies on: a minute's demand is the same
    whatever other minutes are computed with it."""
    workload = parse_workload({"service": "c/s", "model": "diurnal", "low": low, "high": low + spread,
                               "peak": f"{peak // 60:02d}:{peak % 60:02d}", "noise": noise,
                               "requests_per_cpu": 0.5}, "$", start_ms=START)
    times = START + 60_000 * (first + np.arange(1440, dtype=np.int64))
    day = workload.demand(times, start_ms=START, seed=seed)
    for k in (0, 1, 719, 1439):
        alone = workload.demand(times[k:k + 1], start_ms=START, seed=seed)
        assert (alone.cpu[0], alone.memory[0], alone.requests[0]) == (day.cpu[k], day.memory[k], day.requests[k])


def test_simulate_without_fast_paths_writes_the_same_files(tmp_path):
    path = tmp_path / "s3.json"
    path.write_text(json.dumps(s3_scenario(2, scale=0.05, duration="2h", instances=1)))
    for name, extra in (("fast", []), ("plain", ["--no-fast-paths"])):
        assert main(["simulate", str(path), "--out", str(tmp_path / name), "--no-progress", *extra]) == 0
    for name in ("metrics.parquet", "events.parquet", "tasks.parquet", "activities.parquet", "summary.json"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


@pytest.mark.parametrize("field, value", [("services", 0), ("services", 2.5), ("instances", -1), ("scale", 0),
                                          ("peak_ratio", -2.0), ("noise", 1.5), ("services", True)])
def test_bad_sizes_are_refused_naming_the_field(field, value):
    with pytest.raises(InvalidParameterError) as caught:
        s3_scenario(**{"services": 2, field: value})
    assert caught.value.field == field and repr(value) in str(caught.value)
