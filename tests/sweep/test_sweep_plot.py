"""The sweep's cost column and its comparison picture DIR/summary.png."""

import json
import sys

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.sweep import sweep
from quaymaster.sweep.plot import render_png, variation_labels

from sweep_scenarios import provider_scenario

PNG = b"\x89PNG\r\n\x1a\n"
VARY = {"calls[1].request.DesiredCapacity": [3, 4, 5], "seed": [1, 2]}


def test_the_summary_has_cost_and_the_plot_is_a_real_image(client, tmp_path):
    pytest.importorskip("matplotlib")
    table = sweep(provider_scenario(), VARY, client, out=tmp_path / "out", plot=True)
    # Without managed scaling the group runs DesiredCapacity c5.large for 30 minutes at $0.085 an hour.
    assert table.column("cost").to_pylist() == pytest.approx([n * 0.5 * 0.085 for n in (3, 3, 4, 4, 5, 5)])
    assert table.column("instanceHours.c5.large").to_pylist() == [1.5, 1.5, 2.0, 2.0, 2.5, 2.5]
    unserved = table.column("unservedDemandTotal").to_pylist()
    assert unserved[4] == unserved[5] == 0 and unserved[0] > unserved[2] > 0
    png = (tmp_path / "out" / "summary.png").read_bytes()
    assert png.startswith(PNG) and len(png) > 20_000
    assert render_png(pq.read_table(tmp_path / "out" / "summary.parquet"), list(VARY)) == png  # same bytes


def test_variations_are_labelled_by_their_values(client, tmp_path):
    table = sweep(provider_scenario(duration="11m"), {"calls[1].request.DesiredCapacity": [3, 4],
                                                      "workloads[0].steps": [[{"at": "0s", "cpu": 5}]]},
                  client)
    assert variation_labels(table, ["calls[1].request.DesiredCapacity", "workloads[0].steps"]) == [
        'DesiredCapacity=3, steps=[{"at": "0s", "cpu": 5}]', 'DesiredCapacity=4, steps=[{"at": "0s", "cpu": 5}]']


def test_plot_without_matplotlib_fails_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(provider_scenario()))
    status = main(["sweep", str(scenario), "--vary", "seed=1,2", "--out", str(tmp_path / "out"), "--plot"])
    assert status == 2 and "pip install 'quaymaster[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
