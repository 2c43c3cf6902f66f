"""Fargate in a simulation's outputs: per-provider rows in the metrics table (tasks running and
starting, vCPU and GB held), panels of the report, and Fargate's vCPU-hours, GB-hours and cost
in summary.json."""

import pyarrow.parquet as pq
import pytest

from quaymaster.fleet import generate_fleet
from quaymaster.lifecycle import Task
from quaymaster.simulation.cost import fargate_usage

from quaymaster.simulation import ScenarioError, load_scenario
from quaymaster.simulation.report import render
from quaymaster.simulation.run import Simulation

from test_simulate_fargate import fargate_scenario


def fargate_run(duration="20m", **extra):
    document = {**fargate_scenario(rate=0.0), "duration": duration, "outputs": ["metrics", "tasks", "events"],
                **extra}
    return Simulation(load_scenario(document)).run()


@pytest.fixture(scope="module")
def simulation():
    return fargate_run()


def rows(simulation, provider, metric):
    return [r["value"] for r in simulation.tables()["metrics"].to_pylist()
            if r["scope"] == "capacity_provider" and r["name"] == provider and r["metric"] == metric]


def test_each_fargate_provider_has_a_row_per_minute_counted_from_its_tasks(simulation):
    # base 2 on FARGATE, the other 8 split 1:3: FARGATE 2 + 2 = 4, FARGATE_SPOT 6; each task is
    # 256 CPU units (0.25 vCPU) and 512 MiB (0.5 GB).
    tasks = simulation.tables()["tasks"].to_pylist()
    for provider in ("FARGATE", "FARGATE_SPOT"):
        running = rows(simulation, provider, "runningTasks")
        assert len(running) == 21                      # minutes 0..20, one row each
        live = [t for t in tasks if t["capacity_provider"] == provider and t["stopped_at"] is None]
        assert running[-1] == len(live) and rows(simulation, provider, "pendingTasks")[-1] == 0
        assert rows(simulation, provider, "vcpuHeld")[-1] == 0.25 * len(live)
        assert rows(simulation, provider, "memoryGBHeld")[-1] == 0.5 * len(live)
    assert rows(simulation, "FARGATE", "runningTasks")[-1] == 4
    assert rows(simulation, "FARGATE_SPOT", "runningTasks")[-1] == 6
    # at the start every task is still on its way: starting, not running, yet already held
    assert rows(simulation, "FARGATE_SPOT", "pendingTasks")[0] == 6
    assert rows(simulation, "FARGATE_SPOT", "runningTasks")[0] == 0


def test_fargate_tasks_are_not_reserved_on_the_clusters_instances(tmp_path):
    # the cluster also has 3 container instances: its cpuReservation counts what they hold (none)
    path = tmp_path / "fleet.parquet"
    pq.write_table(generate_fleet(3, azs=3, seed=1, cluster="batch", instance_types=["c5.large"]), path)
    simulation = fargate_run("5m", fleets=[{"cluster": "batch", "instances": str(path)}])
    metrics = simulation.tables()["metrics"].to_pylist()
    cluster = {(r["metric"], r["value"]) for r in metrics if r["scope"] == "cluster" and r["time"] == metrics[-1]["time"]}
    assert ("instances", 3.0) in cluster and ("cpuReservation", 0.0) in cluster
    assert rows(simulation, "FARGATE_SPOT", "runningTasks")[-1] == 6


def test_the_report_draws_each_fargate_provider(simulation):
    figure, _ = render(simulation.tables(), scenario=simulation.scenario)
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert "batch/FARGATE_SPOT (Fargate): tasks" in titles
    assert "batch/FARGATE (Fargate): vCPU and memory held" in titles
    assert not any("N and M" in t for t in titles)     # no managed scaling panels for Fargate
    held = figure.axes[titles.index("batch/FARGATE (Fargate): vCPU and memory held")]
    lines = {line.get_label(): line.get_ydata() for line in held.get_lines()}
    assert lines["vCPU"][-1] == 1.0 and lines["memory (GB)"][-1] == 2.0


# -- cost ----------------------------------------------------------------------

PRICES = {"FARGATE": {"vcpuHour": 0.04, "gbHour": 0.004}, "FARGATE_SPOT": {"vcpuHour": 0.012, "gbHour": 0.0013}}


def test_fargate_is_billed_from_the_image_pull_to_the_end_per_second():
    # 30 s of provisioning before the pull starts; every task runs to the end at 20 minutes, so
    # each is billed 1200 - 30 = 1170 s: 4 on FARGATE, 6 on FARGATE_SPOT, 0.25 vCPU and 0.5 GB each.
    summary = fargate_run(timings={"*": {"provisioning": "30s"}}, prices=PRICES).summary()
    hours = 1170 / 3600
    assert summary["fargate"] == {
        "FARGATE": {"tasks": 4, "vcpuHours": pytest.approx(4 * 0.25 * hours), "gbHours": pytest.approx(4 * 0.5 * hours)},
        "FARGATE_SPOT": {"tasks": 6, "vcpuHours": pytest.approx(6 * 0.25 * hours),
                         "gbHours": pytest.approx(6 * 0.5 * hours)}}
    assert summary["cost"] == pytest.approx(hours * (4 * (0.25 * 0.04 + 0.5 * 0.004) + 6 * (0.25 * 0.012 + 0.5 * 0.0013)))
    assert "unpricedFargate" not in summary


def _task(seq, pull, stopped, provider="FARGATE", launch_type="FARGATE"):
    return Task(arn=f"arn:t/{seq}", seq=seq, cluster="c", cluster_arn="arn:c", group="g", task_definition=None,
                launch_type=launch_type, created_at=0, cpu=1024, memory=2048, capacity_provider=provider,
                pull_started_at=pull, stopped_at=stopped)


def test_fargate_rounds_up_to_the_second_with_a_one_minute_minimum():
    tasks = [_task(1, 0, 5_000),                    # 5 s: billed the minimum, 60 s
             _task(2, 1_000, 62_001),               # 61.001 s: 62 s
             _task(3, None, 9_000),                 # stopped before its pull began: nothing
             _task(4, 0, None, provider=None),      # the FARGATE launch type, running at the end (120 s)
             _task(5, 0, 90_000, provider=None, launch_type="EC2")]   # not Fargate
    usage = fargate_usage(tasks, end_ms=120_000)
    assert usage == {"FARGATE": {"tasks": 3, "vcpuHours": pytest.approx((60 + 62 + 120) / 3600),
                                 "gbHours": pytest.approx(2 * (60 + 62 + 120) / 3600)}}


def test_an_unpriced_fargate_provider_leaves_no_cost():
    summary = fargate_run("5m", prices={"FARGATE": PRICES["FARGATE"]}).summary()
    assert summary["cost"] is None and summary["unpricedFargate"] == ["FARGATE_SPOT"]
    assert summary["fargate"]["FARGATE_SPOT"]["tasks"] == 6


@pytest.mark.parametrize("price, path", [
    ({"vcpuHour": 0.04}, "$.prices.FARGATE"),
    ({"vcpuHour": 0.04, "gbHour": 0.004, "hour": 1}, "$.prices.FARGATE"),
    (0.04, "$.prices.FARGATE"),
    ({"vcpuHour": -1, "gbHour": 0.004}, "$.prices.FARGATE.vcpuHour"),
    ({"vcpuHour": 0.04, "gbHour": "cheap"}, "$.prices.FARGATE.gbHour"),
    ({"vcpuHour": 0.04, "gbHour": float("inf")}, "$.prices.FARGATE.gbHour"),
])
def test_bad_fargate_prices_name_their_path(price, path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario({**fargate_scenario(), "prices": {"FARGATE": price}})
    assert caught.value.field == path
