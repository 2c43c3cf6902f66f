"""``quaymaster bench --quick``: it runs, its correctness checks pass, and they can fail.

No timing is asserted: only that every scenario ran, was checked, and that the
checks, the NumPy baseline and the report behave.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import placement_ref

from quaymaster.bench import checks
from quaymaster.bench.baselines import numpy_calls
from quaymaster.bench.reference import reference_calls
from quaymaster.bench.scenarios import STACK, ZONE, Scenario
from quaymaster.cli.main import main


def _run_bench(tmp_path, capsys, scenarios: str) -> tuple[dict, str]:
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--scenarios", scenarios, "--json", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    return json.loads(out.read_text()), printed


def test_quick_placement_scenarios_run_and_pass_their_checks(tmp_path, capsys):
    report, printed = _run_bench(tmp_path, capsys, "B1,B2,B3,B4")
    assert [row["key"] for row in report["rows"]] == ["B1", "B2", "B3", "B4"]
    assert report["checks_passed"] and report["meta"]["reference"]
    for row in report["rows"]:
        names = [c["name"] for c in row["checks"]]
        assert any(n.startswith("placed count") for n in names), row["key"]
        assert any(n.startswith("capacity") for n in names), row["key"]
        assert any("= reference" in n for n in names), row["key"]  # exactness on the reduced case
        assert all(c["passed"] for c in row["checks"]), row["key"]
        assert row["measured"] is None or row["measured"] > 0
    for row in report["rows"][:3]:  # B1..B3 carry the three baselines, each checked
        assert {b["name"] for b in row["baselines"]} == {"numpy", "reference", "scan"}
        assert all(b["per_unit_s"] > 0 and b["checks"] and b["checks"][0]["passed"]
                   for b in row["baselines"] if b["name"] != "reference")
    assert "memberOf" in [c["name"] for c in report["rows"][0]["checks"]]
    assert len(report["growth"]) == 4 and all(c["seconds"] > 0 for c in report["growth"])
    for key in ("B1 bulk run_task", "B2 run_task latency", "B4 growth", "checks: all passed"):
        assert key in printed


def test_quick_cold_start_and_memory_run(tmp_path, capsys):
    report, printed = _run_bench(tmp_path, capsys, "COLD,MEM")
    cold, memory = report["rows"]
    assert cold["details"]["first_compile"]["placed"] == 10 and cold["measured"] > 0
    assert memory["details"]["placed"] == 3000 and memory["details"]["run_bytes"] > 0
    assert "COLD import + first run_task" in printed


def test_unknown_scenario_is_refused(capsys):
    assert main(["bench", "--scenarios", "B1,B9"]) == 2
    assert "B9" in capsys.readouterr().err


# -- the checks catch what they are for --------------------------------------------


def test_spread_prefix_flags_an_imbalance():
    buckets = np.array([0, 1, 2, 0, 1, 2])
    capacity = np.full(6, 10)
    assert checks.check_spread_prefix(np.array([0, 1, 2, 3, 4, 5]), buckets, capacity, "z").passed
    # tasks 0 and 1 both in bucket 0: after two tasks the counts are 2, 0, 0
    assert not checks.check_spread_prefix(np.array([0, 3, 1, 2]), buckets, capacity, "z").passed


def test_spread_prefix_stops_where_a_bucket_is_full():
    buckets = np.array([0, 1])
    capacity = np.array([1, 10])
    # bucket 0 is full after task 0; from then on only bucket 1 can be used
    assert checks.check_spread_prefix(np.array([0, 1, 1, 1]), buckets, capacity, "z").passed


def test_binpack_fill_flags_two_partly_filled_instances():
    groups = np.zeros(3, dtype=np.int64)
    capacity = np.array([4, 4, 4])
    assert checks.check_binpack_fill(np.array([0, 0, 0, 0, 1]), groups, capacity, "cpu").passed
    assert not checks.check_binpack_fill(np.array([0, 1]), groups, capacity, "cpu").passed


def test_spread_final_and_member_of_flag_violations():
    groups = np.array([0, 0, 1, 1])
    eligible = np.array([True, True, True, False])
    capacity = np.full(4, 10)
    assert checks.check_spread_final(np.array([0, 1, 2]), groups, eligible, capacity, "i").passed
    assert not checks.check_spread_final(np.array([0, 0, 2]), groups, eligible, capacity, "i").passed
    assert not checks.check_member_of(np.array([0, 3]), eligible).passed


def test_capacity_flags_overfilled_and_misbooked_instances():
    scenario = Scenario("t", "t", 6, 1, cpu=16384, memory=64, strategy=(("random", None),))
    cluster = scenario.cluster()
    positions = scenario.run_call(cluster).placements.column("position").to_numpy()
    table = scenario.fleet()
    assert checks.check_capacity(cluster, table, positions, 16384, 64).passed
    assert not checks.check_capacity(cluster, table, np.concatenate([positions, positions]),
                                     16384, 64).passed


def test_compare_placements_names_the_first_difference():
    got = [{"task_index": 0, "position": 1}, {"task_index": 1, "position": 2}]
    expected = [{"task_index": 0, "position": 1}, {"task_index": 1, "position": 3}]
    check = checks.compare_placements("x", got, expected, keys=("task_index", "position"))
    assert not check.passed and "row 1" in check.detail


# -- the NumPy baseline against the reference, on random small fleets ----------------

CHAINS = [
    (("spread", ZONE), ("binpack", "memory")),
    (("spread", ZONE), ("spread", "instanceId")),
    (("binpack", "cpu"), ("spread", STACK), ("random", None)),
    (("spread", STACK), ("binpack", "memory"), ("spread", "instanceId")),
    (("binpack", "memory"),),
    (),
]


@settings(max_examples=25, deadline=None)
@given(instances=st.integers(1, 16), azs=st.integers(1, 3), chain=st.sampled_from(CHAINS),
       excluded=st.sampled_from([None, "c5.9xlarge", "m5.4xlarge"]),
       shape=st.sampled_from([(4096, 8192), (8192, 4096), (16384, 60000)]),
       calls=st.integers(1, 4), count=st.integers(1, 12), seed=st.integers(0, 2**64 - 1),
       fleet_seed=st.integers(0, 50))
def test_numpy_baseline_places_as_the_reference(instances, azs, chain, excluded, shape, calls, count,
                                                seed, fleet_seed):
    case = Scenario("h", "h", instances, count, cpu=shape[0], memory=shape[1], strategy=chain,
                    calls=calls, azs=azs, excluded_type=excluded, stack_attribute=True, seed=seed,
                    fleet_seed=fleet_seed)
    expected = reference_calls(placement_ref, case, case.fleet(), calls, count)[0]
    got = numpy_calls(case, calls)
    assert got.tolist() == [p["position"] for p in expected]


@pytest.mark.parametrize("chain", CHAINS[:4])
def test_reduced_scenarios_fill_up_and_fail(chain):
    """The reduced instance used for exactness asks for more than fits, so failures are compared."""
    scenario = Scenario("r", "r", 500, 10, cpu=16, memory=64, strategy=chain, calls=3)
    small = scenario.reduced()
    assert small.tasks > small.expected_placed() > 0


def test_exactness_falls_back_to_the_numpy_scan_without_the_reference():
    from quaymaster.bench.baselines import exactness_checks
    from quaymaster.bench.scenarios import QUICK, b1

    found = exactness_checks(b1(QUICK), None)
    assert [c.name for c in found][-1] == "per-task path = NumPy (no reference found)"
    assert all(c.passed for c in found)
