"""Fleet sizing on scenarios whose answer is known by construction."""

import json

import pytest

from quaymaster.cli.main import main
from quaymaster.sweep import SweepError, size
from quaymaster.sweep.search import probes

from sweep_scenarios import small_scenario


def test_smallest_fleet_and_why_one_less_fails(client, fleet_path):
    # 10 tasks of 1024 CPU units serve 9500 units; c5.large holds 2 of them, so 5 instances.
    # With 4 instances 8 tasks run: 9500 - 8192 = 1308 unserved in each minute from 10m on,
    # that is the 20 minutes [10m, 11m) .. [29m, 30m) of a 30-minute run, each row stamped
    # at the end of its minute (the clock computes a minute's metrics when it has ended).
    document = small_scenario(fleet_path, desired=10, cpu=9500)
    result = size(document, "fleets[0].count", 1, 12, client=client)
    assert result.size == 5
    assert result.unserved[5] == 0 and result.unserved[4] > 0
    assert all((s >= 5) == (u == 0) for s, u in result.unserved.items())
    (web,) = result.failing["services"]
    assert result.failing["size"] == 4 and web["service"] == "prod/web"
    assert web["minutes"] == 20 and web["peak"] == 1308 and web["total"] == 20 * 1308
    assert web["first"] == "2026-01-01T00:11:00Z" and web["last"] == "2026-01-01T00:30:00Z"
    assert "4 fails" in result.explain() and "prod/web" in result.explain()


def test_the_lowest_size_passing_and_the_highest_failing(client, fleet_path):
    document = small_scenario(fleet_path, desired=2, cpu=2000)
    result = size(document, "fleets[0].count", 1, 3, client=client)
    assert result.size == 1 and result.failing is None
    with pytest.raises(SweepError, match="even fleets.0..count=4 fails"):
        size(small_scenario(fleet_path, desired=10, cpu=9500), "fleets[0].count", 1, 4, client=client)


def test_size_cli_by_fleet_cluster(client, fleet_path, tmp_path, capsys):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(small_scenario(fleet_path, desired=6, cpu=5500)))
    status = main(["size", str(scenario), "--fleet", "prod", "--min", "1", "--max", "8", "--json",
                   "--no-progress", "--scheduler", client.scheduler.address])
    result = json.loads(capsys.readouterr().out)
    assert status == 0 and result["size"] == 3 and result["failing"]["size"] == 2
    assert main(["size", str(scenario), "--fleet", "dev", "--min", "1", "--max", "2"]) == 2
    assert "no fleet for cluster 'dev'" in capsys.readouterr().err


def test_probes_split_the_open_interval():
    assert probes(0, 10, 1) == [5]
    assert probes(0, 10, 3) == [2, 5, 7]
    assert probes(3, 5, 4) == [4]


@pytest.mark.parametrize("constraint", ["unserved=3", "cost<=1", "unserved<=-1", ""])
def test_bad_constraints(fleet_path, constraint):
    with pytest.raises(SweepError, match="constraint"):
        size(small_scenario(fleet_path), "fleets[0].count", 1, 2, constraint=constraint, client=object())
