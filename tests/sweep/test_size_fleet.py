"""Sizing a capacity provider's group per instance type, on scenarios whose answer is known by
construction: 10 web tasks of 1024 CPU units serve 9500 units from minute 10; a c5.large
(2048 units) holds 2 tasks, a c5.xlarge (4096) holds 4, so 5 c5.large or 3 c5.xlarge. Without
managed scaling the group runs its N instances for the 30 minutes: 5 * 0.5 h * $0.085 = $0.2125
against 3 * 0.5 h * $0.17 = $0.255."""

import copy
import json

import pytest

from quaymaster.cli.main import main
from quaymaster.simulation import ScenarioError
from quaymaster.sweep import SweepError, size_fleet
from quaymaster.sweep.fleet_sizing import provider_calls, set_group

from sweep_scenarios import provider_scenario

TYPES = ["c5.large", "c5.xlarge"]


def test_fewest_instances_and_why_one_less_fails(client):
    result = size_fleet(provider_scenario(), "cp", TYPES, objective="instances", client=client)
    large, xlarge = result.types["c5.large"], result.types["c5.xlarge"]
    assert (large.size, xlarge.size) == (5, 3) and result.choice == "c5.xlarge"
    assert large.cost == pytest.approx(0.2125) and xlarge.cost == pytest.approx(0.255)
    assert xlarge.instance_hours == pytest.approx(1.5)
    # The two types share the 2 workers, one size each a round: bisection of [1, 12] side by side.
    assert sorted(large.simulated) == [1, 3, 4, 5, 6, 12] and sorted(xlarge.simulated) == [1, 2, 3, 6, 12]
    for sizing in (large, xlarge):          # the boundary was simulated: N passes, N - 1 fails
        assert sizing.simulated[sizing.size]["passes"] and not sizing.simulated[sizing.size - 1]["passes"]
        assert all(v["passes"] == (n >= sizing.size) for n, v in sizing.simulated.items())
    # 2 c5.xlarge run 8 tasks: 9500 - 8192 = 1308 unserved in each of the 20 minutes from 10m.
    (web,) = xlarge.failing["services"]
    assert xlarge.failing["size"] == 2 and web["service"] == "prod/web"
    assert web["minutes"] == 20 and web["peak"] == 1308 and web["total"] == 20 * 1308
    assert web["first"] == "2026-01-01T00:11:00Z" and web["last"] == "2026-01-01T00:30:00Z"
    text = result.explain()
    assert "3 x c5.xlarge" in text and "2 fails: 26160 CPU units" in text and "prod/web" in text


def test_least_cost_picks_the_cheaper_fleet(client):
    result = size_fleet(provider_scenario(), "cp", TYPES, objective="cost", client=client)
    assert result.choice == "c5.large" and result.chosen.size == 5
    assert result.to_json()["cost"] == pytest.approx(0.2125)


def test_managed_scaling_sizes_the_group_maximum(client):
    # Managed scaling launches as tasks wait, so the answer is the same maximum, cost a little less.
    result = size_fleet(provider_scenario(managed=True), "cp", ["c5.large"], client=client)
    assert result.chosen.size == 5 and 0 < result.chosen.cost < 0.2125


def test_a_python_function_as_the_constraint(client):
    def six_running(summary, tables):
        return summary["services"]["prod/web"]["runningCount"] >= 6

    result = size_fleet(provider_scenario(), "cp", TYPES, constraint=six_running, client=client)
    assert {t: s.size for t, s in result.types.items()} == {"c5.large": 3, "c5.xlarge": 2}
    assert result.constraint == "six_running(summary, tables)"


def test_a_type_that_cannot_meet_the_constraint_within_max(client):
    result = size_fleet(provider_scenario(), "cp", TYPES, high=4, client=client)
    assert result.types["c5.large"].size is None and result.choice == "c5.xlarge"
    assert "c5.large: fails even at 4" in result.explain()
    with pytest.raises(SweepError, match="no instance type meets unserved=0 with up to 2"):
        size_fleet(provider_scenario(), "cp", TYPES, high=2, client=client)


def test_size_cli_by_capacity_provider(client, tmp_path, capsys):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(provider_scenario(desired=6, cpu=5500, max_size=8)))
    status = main(["size", str(scenario), "--capacity-provider", "cp", "--instance-types",
                   "c5.large,c5.xlarge", "--objective", "cost", "--json", "--no-progress",
                   "--scheduler", client.scheduler.address])
    result = json.loads(capsys.readouterr().out)
    assert status == 0 and result["choice"] == "c5.large" and result["size"] == 3
    assert [t["size"] for t in result["types"]] == [3, 2]
    assert main(["size", str(scenario), "--capacity-provider", "cp"]) == 2
    assert "needs --instance-types" in capsys.readouterr().err


def test_the_group_is_rewritten_to_one_type_and_size():
    document = provider_scenario(managed=True)
    index, group, managed = provider_calls(document, "cp")
    assert (index, group, managed) == (1, "asg", True)
    request = set_group(document, index, managed, "m5.large", 7)["calls"][1]["request"]
    assert request["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"] == [{"InstanceType": "m5.large"}]
    assert (request["MinSize"], request["MaxSize"], request["DesiredCapacity"]) == (0, 7, 0)
    assert document["calls"][1]["request"]["MaxSize"] == 12          # the original is unchanged
    fixed = set_group(provider_scenario(), 1, False, "c5.large", 4)["calls"][1]["request"]
    assert (fixed["MaxSize"], fixed["DesiredCapacity"]) == (4, 4)


def test_a_group_size_that_is_not_an_integer_is_the_api_s_error_naming_the_call(client):
    document = copy.deepcopy(provider_scenario(managed=True))
    document["calls"][1]["request"]["DesiredCapacity"] = "two"
    with pytest.raises(ScenarioError) as caught:      # checked as a scenario before it is submitted
        size_fleet(document, "cp", ["c5.large"], client=client)
    assert caught.value.field == "$.calls[1].request" and "DesiredCapacity" in str(caught.value)


def _with_call(call):
    document = copy.deepcopy(provider_scenario())
    document["calls"].append(call)
    return document


@pytest.mark.parametrize("document, kwargs, message", [
    (provider_scenario(), {"capacity_provider": "nope"}, "no ecs:CreateCapacityProvider call named 'nope'"),
    (provider_scenario(), {"instance_types": ["c5.huge"]}, "'c5.huge' is not an instance type"),
    (provider_scenario(), {"instance_types": []}, "one or more instance types"),
    (provider_scenario(), {"instance_types": 5}, "a list of instance type names, found 5"),
    (provider_scenario(), {"instance_types": "c5.large,"}, "'' is not an instance type"),
    (provider_scenario(), {"objective": "speed"}, "--objective 'speed'"),
    (provider_scenario(), {"instance_types": ["r5.large"], "objective": "cost"},
     r"prices \(USD per hour\) for r5.large"),
    (provider_scenario(), {"constraint": "cost<=1"}, "--constraint"),
    (provider_scenario(), {"low": 5, "high": 2}, "--min 5 is above --max 2"),
    (_with_call({"at": "1h", "operation": "autoscaling:UpdateAutoScalingGroup",
                 "request": {"AutoScalingGroupName": "asg", "MaxSize": 40}}), {},
     r"\$.calls\[6\]: autoscaling:UpdateAutoScalingGroup changes group"),
])
def test_bad_sizing_requests_are_refused_before_anything_runs(document, kwargs, message):
    arguments = {"capacity_provider": "cp", "instance_types": TYPES, **kwargs}
    with pytest.raises(SweepError, match=message):
        size_fleet(document, client=object(), **arguments)
