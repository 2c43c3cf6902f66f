"""quaymaster fleet / quaymaster demo through the real entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.demo import STEPS, run_demo
from quaymaster.cli.fleet import parse_types
from quaymaster.cli.main import main
from quaymaster.errors import InvalidInputError
from quaymaster.fleet import generate_fleet, load_catalog


def test_fleet_writes_parquet_that_round_trips(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["fleet", "--instances", "700", "--azs", "4", "--seed", "5", "--region", "eu-central-1",
                 "--cluster", "batch", "--types", "m5.*:3,c6g.large:1", "-o", "out/fleet.parquet"])
    assert code == 0
    written = pq.read_table(tmp_path / "out" / "fleet.parquet")
    expected = generate_fleet(700, azs=4, seed=5, region="eu-central-1", cluster="batch",
                              instance_types={"m5.*": 3, "c6g.large": 1})
    assert written.schema.equals(expected.schema)
    assert written.equals(expected)
    out = capsys.readouterr().out
    assert "Wrote 700 instances to out/fleet.parquet" in out
    assert "Fleet: 700 instances, 4 zones" in out and "eu-central-1d" in out
    assert not list((tmp_path / "out").glob("*.partial"))


def test_same_arguments_same_file_bytes(tmp_path):
    for name in ("a.parquet", "b.parquet"):
        assert main(["fleet", "-n", "300", "--seed", "3", "-q", "-o", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


@pytest.mark.parametrize("argv, message", [
    (["fleet", "-n", "-5", "-o", "f.parquet"], "instances must be >= 0 (got -5)"),
    (["fleet", "-n", "5", "--azs", "30", "-o", "f.parquet"], "azs must be between 1 and 26 (got 30)"),
    (["fleet", "-n", "5", "--types", "m5.huge", "-o", "f.parquet"], "unknown instance type 'm5.huge'"),
    (["fleet", "-n", "5", "--types", "m5.large:2,c5.large", "-o", "f.parquet"], "for every type or for none"),
    (["fleet", "-n", "5", "--region", "Mars", "-o", "f.parquet"], "region must be"),
    (["fleet", "-o", "f.parquet"], "--instances is required"),
    (["fleet", "-n", "5"], "-o/--output is required"),
])
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_list_types_prints_the_catalog(capsys):
    assert main(["fleet", "--list-types"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["Type", "Arch", "vCPU"]
    assert [line.split()[0] for line in lines[1:]] == list(load_catalog().types)


def test_help_mentions_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fleet", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--instances", "--azs", "--seed", "--region", "--cluster", "--types", "--output"):
        assert option in text


@pytest.mark.parametrize("text, expected", [
    ("t3.large,m5.xlarge", ["t3.large", "m5.xlarge"]),
    (" m7g.* , c6g.large ,", ["m7g.*", "c6g.large"]),
    ("m5.*:3,c6g.*:0.5", {"m5.*": 3.0, "c6g.*": 0.5}),
])
def test_parse_types(text, expected):
    assert parse_types(text) == expected


@pytest.mark.parametrize("text", ["", " , ", "m5.large:0", "m5.large:x", ":3", "m5.large:1,m5.large:2",
                                  "m5.large:inf"])
def test_parse_types_refuses(text):
    with pytest.raises(InvalidInputError) as info:
        parse_types(text)
    assert info.value.field == "--types"


def test_demo_writes_the_fleet_and_prints_its_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    fleet = pq.read_table(tmp_path / "quaymaster-demo" / "fleet.parquet")
    assert fleet.equals(generate_fleet(1000, azs=3, seed=0))
    out = capsys.readouterr().out
    assert "Fleet: 1,000 instances, 3 zones" in out
    assert "us-east-1a        334" in out
    # the last step: a simulated day of three services scaling on a capacity provider, with its report
    simulation = tmp_path / "quaymaster-demo" / "simulation"
    assert (simulation / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in (simulation / "report.html").read_text()
    summary = json.loads((simulation / "summary.json").read_text())
    web = summary["services"]["demo/web"]
    assert web["desiredCount"] == web["runningCount"] and 1 < web["desiredCount"] < 10
    assert summary["peakInstances"] >= 3 * 2                   # scaled out from its 2 instances
    activities = pq.read_table(simulation / "activities.parquet").column("kind").to_pylist()
    assert {"service", "asg"} <= set(activities)                # target tracking and managed scaling
    assert "== Simulation: 3 services" in out and "target tracking at 60% CPU" in out
    assert "desired 1 -> " in out and f"instances: 2 -> peak {summary['peakInstances']} -> " in out
    assert f"report: {Path('quaymaster-demo/simulation/report.png')}" in out


def test_demo_runs_extra_steps_in_order(tmp_path):
    seen = []

    def count_step(context):
        seen.append(context.fleet.num_rows)
        context.say("counted")

    stream = io.StringIO()
    context = run_demo(tmp_path, steps=[*STEPS, ("count", count_step)], stream=stream)
    assert seen == [1000]
    assert context.files["fleet"] == tmp_path / "fleet.parquet"
    assert stream.getvalue().rstrip().endswith("counted")
