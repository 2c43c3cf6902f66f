"""Sweeps on a real 2-process LocalCluster: equal to separate simulate runs, exactly once under a
worker killed mid-sweep, and the errors of bad paths and values."""

import json
import sys

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation
from quaymaster.sweep import SweepError, parse_values, set_path, sweep, variations
from quaymaster.sweep.engine import flatten

from sweep_scenarios import KillFirstAttempt, small_scenario

TABLES = ("metrics", "events", "tasks", "activities")
VARY = {"calls[2].request.desiredCount": [2, 3], "workloads[0].steps[1].cpu": [1000, 3000],
        "seed": [1, 2]}


def test_sweep_equals_separate_simulate_runs_byte_for_byte(client, fleet_path, tmp_path):
    document = small_scenario(fleet_path)
    table = sweep(document, VARY, client, out=tmp_path / "sweep")
    combos = variations(VARY)
    assert len(combos) == 8 and table.column("variation").to_pylist() == list(range(8))
    assert combos[1] == {"calls[2].request.desiredCount": 2, "workloads[0].steps[1].cpu": 1000, "seed": 2}
    rows = table.to_pylist()
    for i, combo in enumerate(combos):
        alone = tmp_path / f"alone{i}"
        variant = document
        for path, value in combo.items():
            variant = set_path(variant, path, value)
        simulation = Simulation(load_scenario(variant)).run()
        simulation.recorder.write(alone)
        for name in TABLES:
            swept = tmp_path / "sweep" / name / f"variation={i}" / "part-0.parquet"
            assert swept.read_bytes() == (alone / f"{name}.parquet").read_bytes(), (i, name)
        expected = flatten(json.loads((alone / "summary.json").read_text()))
        row = rows[i]
        assert {k: row[k] for k in expected} == expected
        assert all(row[k] is None for k in row if k not in expected and k not in ("variation", *combo))
        assert [row[p] for p in combo] == [json.dumps(v) for v in combo.values()]
    assert pq.read_table(tmp_path / "sweep" / "summary.parquet").equals(table)
    dataset = pq.read_table(tmp_path / "sweep" / "metrics")
    assert sorted(set(dataset.column("variation").to_pylist())) == list(range(8))


def test_a_worker_killed_mid_sweep_still_gives_every_variation_once(client, fleet_path, tmp_path):
    marker = tmp_path / "killed"
    client.register_plugin(KillFirstAttempt(str(marker), 5), name="kill-first-attempt")
    try:
        vary = {"calls[2].request.desiredCount": [1, 2, 3, 4, 5, 6, 7, 8]}
        table = sweep(small_scenario(fleet_path), vary, client, out=tmp_path / "out")
    finally:
        client.unregister_worker_plugin("kill-first-attempt")
    assert marker.exists()                      # the worker really died running variation 5
    assert table.column("variation").to_pylist() == list(range(8))
    assert table.column("services.prod/web.desiredCount").to_pylist() == list(range(1, 9))
    for name in TABLES:
        parts = sorted(p.relative_to(tmp_path / "out" / name).as_posix()
                       for p in (tmp_path / "out" / name).rglob("*") if p.is_file())
        assert parts == [f"variation={i}/part-0.parquet" for i in range(8)]
    tasks = pq.read_table(tmp_path / "out" / "tasks").to_pylist()
    per_variation = [sum(1 for t in tasks if t["variation"] == i) for i in range(8)]
    assert per_variation == [min(d, 24) for d in range(1, 9)]  # each task once: nothing duplicated
    assert len({(t["variation"], t["task_arn"]) for t in tasks}) == len(tasks)


def test_cli_sweep_on_a_running_scheduler(client, fleet_path, tmp_path, capsys):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(small_scenario(fleet_path, duration="12m")))
    status = main(["sweep", str(scenario), "--vary", "calls[2].request.desiredCount=1,2", "--vary",
                   "fleets[0].count=[1, 3]", "--out", str(tmp_path / "out"), "--no-progress",
                   "--scheduler", client.scheduler.address])
    assert status == 0 and "4 variations" in capsys.readouterr().out
    summary = pq.read_table(tmp_path / "out" / "summary.parquet")
    assert summary.column("fleets[0].count").to_pylist() == ["1", "3", "1", "3"]
    assert summary.column("peakInstances").to_pylist() == [1, 3, 1, 3]
    status = main(["sweep", str(scenario), "--vary", "seed=1", "--out", str(tmp_path / "out"),
                   "--scheduler", client.scheduler.address])
    assert status == 2 and "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("path, message", [
    ("calls[9].request.desiredCount", "$.calls has 3 items, no [9]"),
    ("calls[2].requests.desiredCount", "$.calls[2] has no key 'requests'"),
    ("seed[0]", "$.seed is not a list"),
    ("calls..x", "not a JSON path"),
])
def test_bad_paths_are_errors_naming_the_path(fleet_path, path, message):
    with pytest.raises(SweepError) as caught:
        sweep(small_scenario(fleet_path), {path: [1]}, client=object())
    assert message in str(caught.value) and path in str(caught.value)


def test_an_invalid_variation_is_refused_before_anything_runs(fleet_path):
    with pytest.raises(SweepError) as caught:
        sweep(small_scenario(fleet_path), {"seed": [1, -1]}, client=object())
    assert "variation 1 (seed=-1)" in str(caught.value) and caught.value.field == "$.seed"
    with pytest.raises(SweepError, match=r"fleets\[0\]\.count: an integer from 0 to the 12"):
        sweep(small_scenario(fleet_path), {"fleets[0].count": [13]}, client=object())


def test_values_parse_as_json_or_text():
    assert parse_values("a.b=1,true,x,\"y\"") == ("a.b", [1, True, "x", "y"])
    assert parse_values("a[0]=[{\"k\": 1}, 2]") == ("a[0]", [{"k": 1}, 2])
    with pytest.raises(SweepError, match="PATH=V1,V2"):
        parse_values("novalues")


def test_without_distributed_the_command_says_how_to_install(fleet_path, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(small_scenario(fleet_path)))
    assert main(["sweep", str(scenario), "--vary", "seed=1,2", "--out", str(tmp_path / "o")]) == 2
    assert "pip install 'quaymaster[sweep]'" in capsys.readouterr().err
