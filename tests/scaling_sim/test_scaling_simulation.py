"""End to end: target tracking on a diurnal workload over a capacity provider with managed
scaling, through `quaymaster simulate`; byte-identical replays; an independent per-minute check
of every decision against the scaling package's plain decision functions."""

import copy
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from quaymaster.cli.main import main
from quaymaster.scaling import TargetState, decide_target
from quaymaster.scaling.managed import reservation
from quaymaster.scaling.policies import parse_target_tracking
from quaymaster.simulation import load_scenario, simulate

sys.path.insert(0, str(Path(__file__).parent))
from scenario_tools import POLICY, TARGET, scaling_scenario  # noqa: E402

TABLES = ("metrics", "events", "tasks", "activities")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaling")
    path = root / "scenario.json"
    path.write_text(json.dumps(scaling_scenario()))
    for out in ("a", "b"):
        assert main(["simulate", str(path), "--out", str(root / out), "--no-progress"]) == 0
    return root


def series(metrics, scope, name, metric):
    return {r["time"]: r["value"] for r in metrics
            if r["scope"] == scope and r["name"] == name and r["metric"] == metric}


def test_replays_are_byte_identical(outputs):
    for name in TABLES:
        assert (outputs / "a" / f"{name}.parquet").read_bytes() == \
            (outputs / "b" / f"{name}.parquet").read_bytes(), name
    assert (outputs / "a" / "summary.json").read_text() == (outputs / "b" / "summary.json").read_text()


def test_service_and_cluster_scale_out_and_back_in(outputs):
    metrics = pq.read_table(outputs / "a" / "metrics.parquet").to_pylist()
    desired = list(series(metrics, "service", "web", "desiredCount").values())
    instances = list(series(metrics, "cluster", "prod", "instances").values())
    assert max(desired) >= 15 and desired[-1] <= 3            # peak at noon, trough at midnight
    assert max(instances) >= 4 and instances[-1] <= 2
    for metric in ("CapacityProviderReservation", "N", "M"):
        assert len(series(metrics, "capacity_provider", "cp", metric)) == 24 * 60 + 1
    for metric in ("desiredCapacity", "inServiceInstances"):
        assert len(series(metrics, "asg", "asg", metric)) == 24 * 60 + 1
    for metric in ("provisioningTasks", "cpuReservation", "memoryReservation"):
        assert series(metrics, "cluster", "prod", metric)
    activities = pq.read_table(outputs / "a" / "activities.parquet").to_pylist()
    kinds = {a["kind"] for a in activities}
    assert kinds == {"service", "asg"}
    tasks = pq.read_table(outputs / "a" / "tasks.parquet").to_pylist()
    assert {t["capacity_provider"] for t in tasks} == {"cp"}
    assert {t["availability_zone"] for t in tasks} == {"us-east-1a", "us-east-1b"}
    ups = [a for a in activities if a["kind"] == "service" and int(a["to"]) > int(a["from"])
           and "AlarmHigh" in a["cause"]]
    downs = [a for a in activities if a["kind"] == "service" and "AlarmLow" in a["cause"]]
    assert ups and downs
    # every recorded desired-count change of the service is an activity row, and vice versa
    changes = [(t, v) for (t, v), (_, before) in zip(list(series(metrics, "service", "web",
                                                                  "desiredCount").items())[1:],
                                                      series(metrics, "service", "web",
                                                             "desiredCount").items()) if v != before]
    policy_rows = [(a["time"], float(a["to"])) for a in activities
                   if a["kind"] == "service" and "call" not in a["cause"]]
    assert changes == policy_rows


def check_policy_decisions(metrics, tasks, policy_request, target_request) -> int:
    """From the recorded CPU series and running counts, decide_target (with its own state) gives
    the desired count the simulation set at every minute; returns the number of changes checked.

    Policies run at step 5 of the clock, the runningCount sample at step 8: the running tasks the
    scheduler stopped in between (step 6, the tasks table's stopping_at) are added back."""
    cpu = series(metrics, "service", "web", "CPUUtilization")
    running = dict(series(metrics, "service", "web", "runningCount"))
    desired = series(metrics, "service", "web", "desiredCount")
    for task in tasks:
        stopping, started = task["stopping_at"], task["started_at"]
        if stopping is not None and started is not None and started < stopping and stopping in running:
            running[stopping] += 1
    policy = parse_target_tracking(policy_request["PolicyName"],
                                   policy_request["TargetTrackingScalingPolicyConfiguration"])
    state, history, previous, checked = TargetState(), [], None, 0
    for time in sorted(desired):
        if time in cpu:
            history.append(cpu[time])
        if previous is not None:
            decision = decide_target(int(time.timestamp() * 1000), resource_id=target_request["ResourceId"],
                                     running=int(running[time]), desired=int(previous),
                                     min_capacity=target_request["MinCapacity"],
                                     max_capacity=target_request["MaxCapacity"],
                                     metrics={"CPUUtilization": history}, target_tracking=[policy],
                                     state=state)
            state = decision.state
            assert decision.desired == desired[time], time
            checked += decision.cause is not None
        previous = desired[time]
    return checked


def check_managed_scaling(metrics, target_capacity: int, max_size: int) -> tuple[int, int]:
    """Reservation = 100 M / N (100 at 0/0, 200 at N = 0 < M); the group grows only when the
    reservation is above target, to ceil(M * 100 / target) and at least one more (2 from
    nothing), and shrinks only after 15 minutes below target, never below M. Returns the
    numbers of scale-outs and scale-ins."""
    n = series(metrics, "capacity_provider", "cp", "N")
    m = series(metrics, "capacity_provider", "cp", "M")
    cpr = series(metrics, "capacity_provider", "cp", "CapacityProviderReservation")
    desired = series(metrics, "asg", "asg", "desiredCapacity")
    times = sorted(cpr)
    below = grew = shrank = 0
    for i, time in enumerate(times):
        assert cpr[time] == reservation(int(n[time]), int(m[time]))
        below = below + 1 if cpr[time] < target_capacity else 0
        before = desired[times[i - 1]] if i else 0
        if desired[time] > before:
            grew += 1
            assert cpr[time] > target_capacity
            needed = math.ceil(m[time] * 100 / target_capacity)
            wanted = max(2, needed) if n[time] == 0 else max(n[time] + 1, needed)
            assert desired[time] == min(max_size, wanted), time
        elif desired[time] < before:
            shrank += 1
            assert below >= 15 and desired[time] >= math.ceil(m[time] * 100 / target_capacity) - 1e-9
    return grew, shrank


def check_waiting_tasks(metrics, tasks) -> tuple[int, int]:
    """Which tasks wait in PROVISIONING at managed scaling (step 5 of minute t): those the
    scheduler's last pass could not place, as far as the service still falls short; never a
    desired count the policy raised in the same step 5. From the recorded samples (step 8):

    - nothing waited at the previous minute's sample, and in this one-service scenario nothing
      can start a launch between then and step 5 (desired counts change only at step 5, tasks
      stop only when the scheduler stops them): then nothing waits, so M <= N;
    - tasks waited at the previous sample, the desired count did not fall, and the cluster did
      not change in between (no instance registered or left, no task released its resources):
      a retry could not have placed them, so they still wait and M >= N + minimumScalingStepSize (1).

    The cluster's provisioningTasks also counts the tasks placed at that very tick (PROVISIONING
    for one tick with the default timings; the tasks table's created_at): they are taken off.
    Returns how many minutes each rule checked."""
    n = series(metrics, "capacity_provider", "cp", "N")
    m = series(metrics, "capacity_provider", "cp", "M")
    placed_now = Counter(t["created_at"] for t in tasks)
    waiting = {time: value - placed_now[time]
               for time, value in series(metrics, "cluster", "prod", "provisioningTasks").items()}
    instances = series(metrics, "cluster", "prod", "instances")
    desired = series(metrics, "service", "web", "desiredCount")
    released = sorted(t["stopped_at"] for t in tasks if t["stopped_at"] is not None)
    none_waited = still_wait = 0
    times = sorted(m)
    for before, time in zip(times, times[1:]):
        if waiting[before] == 0:
            none_waited += 1
            assert m[time] <= n[time], time
        elif desired[time] >= desired[before] and instances[time] == instances[before] and \
                not any(before < r <= time for r in released):
            still_wait += 1
            assert m[time] >= n[time] + 1, time
    return none_waited, still_wait


def test_only_tasks_the_scheduler_could_not_place_wait_for_managed_scaling(outputs):
    metrics = pq.read_table(outputs / "a" / "metrics.parquet").to_pylist()
    tasks = pq.read_table(outputs / "a" / "tasks.parquet").to_pylist()
    none_waited, still_wait = check_waiting_tasks(metrics, tasks)
    assert none_waited >= 100 and still_wait >= 1


def test_each_minute_policy_decision_recomputed_independently(outputs):
    metrics = pq.read_table(outputs / "a" / "metrics.parquet").to_pylist()
    tasks = pq.read_table(outputs / "a" / "tasks.parquet").to_pylist()
    assert check_policy_decisions(metrics, tasks, POLICY, TARGET) >= 10


def test_each_minute_managed_scaling_follows_the_rules(outputs):
    metrics = pq.read_table(outputs / "a" / "metrics.parquet").to_pylist()
    grew, shrank = check_managed_scaling(metrics, 100, 30)
    assert grew >= 3 and shrank >= 3


@pytest.mark.parametrize("case", range(4))
def test_per_minute_checks_over_random_scenarios(case):
    rng = random.Random(case)
    target_value = rng.choice([40.0, 50.0, 70.0])
    target_capacity = rng.choice([60, 80, 100])
    policy = copy.deepcopy(POLICY)
    policy["TargetTrackingScalingPolicyConfiguration"].update(
        TargetValue=target_value, ScaleOutCooldown=rng.choice([0, 60, 300]),
        ScaleInCooldown=rng.choice([0, 120, 300]))
    document = scaling_scenario(duration="8h", seed=rng.randrange(2**32))
    document["calls"][2]["request"]["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] = \
        target_capacity
    document["calls"][-1]["request"] = policy
    low = rng.uniform(50, 500)
    document["workloads"][0].update(low=low, high=low * rng.uniform(3, 10), peak=f"0{rng.randrange(2, 6)}:00",
                                    noise=rng.choice([0, 0.05, 0.2]))
    tables = simulate(load_scenario(document)).tables()
    metrics, tasks = tables["metrics"].to_pylist(), tables["tasks"].to_pylist()
    check_policy_decisions(metrics, tasks, policy, TARGET)
    grew, _ = check_managed_scaling(metrics, target_capacity, 30)
    assert grew >= 1
    check_waiting_tasks(metrics, tasks)
