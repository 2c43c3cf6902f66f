"""The simulation report: the figure's panels from a real simulation, report.png/report.html, simulate --plot."""

import base64
import struct
import sys
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.errors import InvalidInputError
from quaymaster.fleet import generate_fleet
from quaymaster.simulation import load_scenario, simulate
from quaymaster.simulation.report import PlotUnavailableError, policy_targets, render, write_report
from quaymaster.simulation.report.figure import DPI, ROW_HEIGHT
from quaymaster.simulation.scenario import Call
from quaymaster.simulation.tables import SCHEMAS

# name -> (task CPU, desired count, constant demand in CPU units)
SERVICES = {"web": (256, 3, 2000), "api": (256, 2, 100), "batch": (512, 1, 600), "cron": (128, 1, 0)}


def document(fleet_path, services=SERVICES):
    calls = [{"at": "0s", "operation": "ecs:CreateCluster", "request": {"clusterName": "prod"}}]
    for name, (cpu, desired, _) in services.items():
        calls += [{"at": "0s", "operation": "ecs:RegisterTaskDefinition", "request": {
                      "family": name, "containerDefinitions": [
                          {"name": name, "image": name, "cpu": cpu, "memory": 256}]}},
                  {"at": "0s", "operation": "ecs:CreateService", "request": {
                      "cluster": "prod", "serviceName": name, "taskDefinition": name, "desiredCount": desired}}]
    calls.append({"at": "10m", "operation": "ecs:UpdateService", "request": {
        "cluster": "prod", "service": "web", "desiredCount": 5}})
    return {"seed": 3, "duration": "30m", "calls": calls,
            "fleets": [{"cluster": "prod", "instances": str(fleet_path)}],
            "workloads": [{"service": f"prod/{name}", "model": "constant", "cpu": work}
                          for name, (_, _, work) in services.items()]}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("fleet") / "fleet.parquet"
    pq.write_table(generate_fleet(6, azs=3, seed=1, cluster="prod"), path)
    scenario = load_scenario(document(path))
    return scenario, simulate(scenario).tables(), path


def titles(figure):
    return [ax.get_title(loc="left") for ax in figure.axes]


def test_panels_of_a_small_simulation(run):
    scenario, tables, _ = run
    figure, data = render(tables, scenario=scenario)
    # two panels per service, then instances and unserved demand; no capacity providers recorded
    assert len(figure.axes) == 2 * len(SERVICES) + 2
    # ranked by unserved demand: web (2000 - 5*256 at the end) > batch (600 - 512) > api, cron (none)
    assert [key[2] for key in data.shown] == ["web", "batch", "api", "cron"]
    assert titles(figure)[:2] == ["prod/web: tasks", "prod/web: CPU utilization %"]
    assert titles(figure)[-2:] == ["capacity: container instances", "unserved demand (CPU units short, per minute)"]
    counts = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(counts) == {"desired", "running", "pending"}
    assert counts["desired"].get_ydata()[-1] == 5 and counts["running"].get_ydata()[-1] == 5
    assert counts["running"].get_xdata()[-1] == pytest.approx(0.5)      # 30 minutes, in hours
    unserved = {line.get_label(): line.get_ydata() for line in figure.axes[-1].get_lines()}
    assert unserved["prod/web"][-1] == 2000 - 5 * 256 and unserved["prod/cron"].max() == 0
    assert "left out" not in figure._suptitle.get_text()


def test_many_services_show_the_top_k_and_name_the_rest(run):
    scenario, tables, _ = run
    figure, data = render(tables, scenario=scenario, top=2)
    assert len(figure.axes) == 2 * 2 + 2
    assert [key[2] for key in data.shown] == ["web", "batch"]
    title = figure._suptitle.get_text()
    assert "top 2 by unserved demand" in title and "left out: prod/api, prod/cron" in title
    labels = [line.get_label() for line in figure.axes[-1].get_lines()]
    assert labels == ["prod/web", "prod/batch", "the other 2 services, summed"]


def test_policy_target_line_from_the_scenario(run):
    scenario, tables, _ = run
    policy = {"PolicyName": "cpu50", "ServiceNamespace": "ecs", "ResourceId": "service/prod/web",
              "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
              "TargetTrackingScalingPolicyConfiguration": {
                  "TargetValue": 55.0,
                  "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}
    scenario.calls.append(Call(len(scenario.calls), 0, "application-autoscaling", "PutScalingPolicy", policy))
    try:
        assert policy_targets(scenario) == {("prod", "web"): 55.0}
        figure, _ = render(tables, scenario=scenario)
    finally:
        scenario.calls.pop()
    web_cpu, api_cpu = figure.axes[1], figure.axes[5]
    assert "target 55%" in [line.get_label() for line in web_cpu.get_lines()]
    assert all(not line.get_label().startswith("target") for line in api_cpu.get_lines())


def test_capacity_provider_panels():
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    rows = [(start.replace(minute=m), "capacity_provider", "prod", "cp1", metric, value)
            for m in range(3) for metric, value in (("CapacityProviderReservation", 100.0 + 50 * m),
                                                    ("N", 2.0 + m), ("M", 2.0 + 2 * m))]
    metrics = pa.table(list(map(list, zip(*rows))), schema=SCHEMAS["metrics"])
    figure, _ = render({"metrics": metrics})
    assert titles(figure) == ["capacity provider prod/cp1: N and M", "capacity provider prod/cp1: reservation %"]
    nm = {line.get_label(): list(line.get_ydata()) for line in figure.axes[0].get_lines()}
    assert nm == {"N (instances running)": [2, 3, 4], "M (instances needed)": [2, 4, 6]}
    assert "target capacity 100%" in [line.get_label() for line in figure.axes[1].get_lines()]


def test_write_report_png_and_html(run, tmp_path):
    scenario, tables, _ = run
    paths = write_report(tables, tmp_path, scenario=scenario)
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    rows = (2 * len(SERVICES) + 2) // 2
    assert (width, height) == (1400, round((ROW_HEIGHT * rows + 1.2) * DPI))
    page = paths["html"].read_text()
    assert base64.b64encode(png).decode() in page
    assert "<h2>Services</h2>" in page and "prod/batch" in page and "<h2>Clusters</h2>" in page
    assert "steady state" in page                      # the events by kind
    assert "<h2>Activities</h2>" in page and "UpdateService (call 9)" in page
    assert write_report(tables, tmp_path / "again", scenario=scenario)["png"].read_bytes() == png


def test_empty_tables_and_bad_top(run):
    figure, data = render({})
    assert len(figure.axes) == 1 and data.shown == []
    with pytest.raises(InvalidInputError) as info:
        render(run[1], top=0)
    assert info.value.field == "top"


def test_simulate_plot_writes_both(run, tmp_path, capsys):
    import json

    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document(run[2])))
    assert main(["simulate", str(path), "--out", str(tmp_path / "out"), "--plot", "--no-progress"]) == 0
    assert (tmp_path / "out" / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (tmp_path / "out" / "report.html").read_text()
    assert main(["simulate", str(path), "--out", str(tmp_path / "plain"), "--no-progress"]) == 0
    assert not (tmp_path / "plain" / "report.png").exists()


def test_without_matplotlib_the_command_says_how_to_install(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)    # import matplotlib now fails
    with pytest.raises(PlotUnavailableError):
        render(run[1])
    import json

    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document(run[2])))
    assert main(["simulate", str(path), "--out", str(tmp_path / "out"), "--plot", "--no-progress"]) == 2
    assert "pip install 'quaymaster[plot]'" in capsys.readouterr().err
