"""The cost model: instance-hours metered per instance type at each whole minute, times the
scenario's prices; no price, no cost."""

import sys
from pathlib import Path

import pytest

from quaymaster.simulation import ScenarioError, load_scenario
from quaymaster.simulation.run import Simulation

from sweep_scenarios import small_scenario

sys.path.insert(0, str(Path(__file__).parents[1] / "scaling_sim"))
from scenario_tools import scaling_scenario  # noqa: E402


def summary_of(document):
    return Simulation(load_scenario(document)).run().summary()


def test_a_static_fleet_costs_its_instances_times_the_minutes(fleet_path):
    # 12 c5.large for 30 minutes are 12 * 30 / 60 = 6 instance-hours, whatever runs on them.
    summary = summary_of({**small_scenario(fleet_path), "prices": {"c5.large": 0.085, "m5.large": 1.0}})
    assert summary["instanceHours"] == {"c5.large": 6.0}
    assert summary["cost"] == pytest.approx(6 * 0.085)
    assert "unpricedInstanceTypes" not in summary


def test_an_auto_scaling_group_is_metered_as_it_scales():
    # Managed scaling sets the group's desired capacity at a minute (clock step 5); the group
    # launches or terminates at the next tick, so the instances at the end of minute m are the
    # desired capacity recorded at minute m - 1: every instance counts from launch (booting
    # included) until it leaves the group.
    document = scaling_scenario("3h", prices={"c5.xlarge": 0.17})
    simulation = Simulation(load_scenario(document)).run()
    summary = simulation.summary()
    metrics = simulation.tables()["metrics"].to_pylist()
    desired = [r["value"] for r in metrics if r["metric"] == "desiredCapacity"]
    # minute 0 is 0: the service's first tasks wait only once the scheduler has tried them (step 6)
    assert len(desired) == 181 and desired[0] == 0 and max(desired) > min(desired[1:]) > 0   # it really scaled
    assert summary["instanceHours"] == {"c5.xlarge": pytest.approx(sum(desired[:-1]) / 60)}
    assert summary["cost"] == pytest.approx(sum(desired[:-1]) / 60 * 0.17)


def test_without_prices_or_with_an_unpriced_type_there_is_no_cost(fleet_path):
    assert summary_of(small_scenario(fleet_path))["cost"] is None
    summary = summary_of({**small_scenario(fleet_path), "prices": {"m5.large": 0.096}})
    assert summary["cost"] is None and summary["unpricedInstanceTypes"] == ["c5.large"]
    assert summary["instanceHours"] == {"c5.large": 6.0}


@pytest.mark.parametrize("prices, path", [
    ({"c5.huge": 1.0}, "$.prices.c5.huge"),
    ({"c5.large": -1}, "$.prices.c5.large"),
    ({"c5.large": "cheap"}, "$.prices.c5.large"),
    ({"c5.large": float("nan")}, "$.prices.c5.large"),
    ([0.085], "$.prices"),
])
def test_bad_prices_name_their_path(fleet_path, prices, path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario({**small_scenario(fleet_path), "prices": prices})
    assert caught.value.field == path
