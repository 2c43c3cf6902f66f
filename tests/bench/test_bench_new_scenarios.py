"""B5 (churn), B6 (random), B1E (end to end), LOAD and COPY: they run, are checked, and the
checks can fail. No timing is asserted."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from quaymaster import Cluster
from quaymaster.bench import scenarios as sc
from quaymaster.bench.churn import ATTRIBUTE, DRAIN, RUN, STOP, Churn, Driver, exactness_checks
from quaymaster.cli.main import main

TINY = Churn(instances=40, groups=6, live=120, ops=300, check_ops=300)


def test_quick_new_scenarios_run_and_pass_their_checks(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--scenarios", "B5,B6,B1E,LOAD,COPY", "--json", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(out.read_text())
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == ["B5", "B6", "B1E", "LOAD", "COPY"] and report["checks_passed"]
    b5 = rows["B5"]
    names = [c["name"] for c in b5["checks"]]
    assert any(n.startswith("every answer fast = plain loop") for n in names)
    assert any(n.startswith("final task table") for n in names)
    assert b5["details"]["by_kind"]["run_port"]["n"] > 0 and b5["details"]["by_kind"]["stop"]["n"] > 0
    assert b5["baselines"][0]["name"] == "scan" and b5["baselines"][0]["per_unit_s"] > 0
    for key in ("B6", "B1E"):
        assert any("= reference" in c["name"] for c in rows[key]["checks"]), key
        assert {b["name"] for b in rows[key]["baselines"]} == {"numpy", "reference", "scan"}
    assert rows["LOAD"]["measured"] > 0 and rows["LOAD"]["baselines"][0]["name"] == "register"
    if hasattr(Cluster, "copy"):
        assert len(rows["COPY"]["checks"]) == 3 and rows["COPY"]["measured"] > 0
    else:
        assert rows["COPY"]["measured"] is None and "copy()" in rows["COPY"]["details"]["unavailable"]
    assert "B5 churn" in printed and "dynamic port" in printed


def test_stream_is_seeded_and_has_every_kind():
    ops = sc.b5(sc.QUICK).stream(2000)
    assert np.array_equal(ops, sc.b5(sc.QUICK).stream(2000))
    assert not np.array_equal(ops, dataclasses.replace(sc.b5(sc.QUICK), seed=6).stream(2000))
    kinds = ops[:, 0]
    assert set(kinds.tolist()) == {RUN, STOP, DRAIN, ATTRIBUTE}
    runs = ops[kinds == RUN]
    assert runs[:, 2].min() >= 1 and runs[:, 2].max() <= 10 and runs[:, 1].max() < sc.b5(sc.QUICK).groups


def test_twins_agree_and_live_count_stays_near_the_start():
    ops = TINY.stream(TINY.check_ops)
    fast, plain = Driver(TINY, True, record=True), Driver(TINY, False, record=True)
    fast.drive(ops, enabled=False)
    plain.drive(ops, enabled=False)
    checks = exactness_checks(fast, plain, TINY.check_ops)
    assert all(c.passed for c in checks), checks
    assert 0.5 * TINY.live <= len(fast.live) <= 1.5 * TINY.live
    live_table = fast.cluster.task_table().column("task_arn").to_pylist()
    assert sorted(live_table) == sorted(fast.live)  # the driver's live list is the cluster's


def test_exactness_check_flags_a_different_stream():
    ops = TINY.stream(TINY.check_ops)
    other = dataclasses.replace(TINY, seed=TINY.seed + 1)
    fast, plain = Driver(TINY, True, record=True), Driver(other, False, record=True)
    fast.drive(ops, enabled=False)
    plain.drive(other.stream(other.check_ops), enabled=False)
    checks = exactness_checks(fast, plain, TINY.check_ops)
    assert not checks[0].passed and "first difference at operation" in checks[0].detail
