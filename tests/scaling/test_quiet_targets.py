"""The minute's shortcuts agree with the plain rules: a target-tracking policy found quiet by the
vectorised test wants nothing (``_track`` proposes nothing, whatever the windows), a policy run
that skips quiet targets decides as one that asks ``decide_target`` for every target, and the
scaling host's remembered strategy splits equal ``split_tasks``."""

import math

import numpy as np
from hypothesis import example, given, settings, strategies as st

from quaymaster.region.scaling_host import SERVICE_METRICS, ScalingHost
from quaymaster.scaling import appautoscaling
from quaymaster.scaling.decide import _track, decide_target, tracking_quiet
from quaymaster.scaling.policies import TargetTrackingPolicy
from quaymaster.scaling.recent import RecentPoints
from quaymaster.scaling.strategy import parse_strategy, split_tasks

POINT = st.one_of(st.floats(0, 300), st.just(math.nan),
                  st.sampled_from([45.0, 50.0, 55.0, 40.5, 63.0, 0.0, 1.35, 1.5, 2.0]))
# Windows decide only when they hold no NaN and are all above (or all at most 90% of) the target:
# series that are mostly one level, with a few other points, reach both.
SERIES = st.one_of(st.lists(POINT, max_size=20),
                   st.tuples(POINT, st.integers(0, 20), st.lists(POINT, max_size=3)).map(
                       lambda t: [t[0]] * t[1] + t[2]))
POLICY = st.builds(TargetTrackingPolicy, name=st.sampled_from(["cpu", "memory"]),
                   metric=st.sampled_from(["CPUUtilization", "MemoryUtilization"]),
                   target=st.sampled_from([50.0, 45.0, 70.0, 1.5]),
                   scale_out_cooldown_s=st.sampled_from([0, 60, 300]),
                   scale_in_cooldown_s=st.sampled_from([0, 300]), disable_scale_in=st.booleans())


@st.composite
def tracking_case(draw):
    """(running, series, policy), the series' points often at telling ratios of the target
    (exactly 90% of it, just above, at it): where the quiet test and the windows meet."""
    policy = draw(POLICY)
    near = st.sampled_from([0.9, 0.89, 0.91, 1.0, 1.01, 0.5, 2.0]).map(lambda f: f * policy.target)
    point = st.one_of(POINT, near, near)
    level = draw(point)
    series = draw(st.one_of(st.lists(point, max_size=20),
                            st.tuples(st.sampled_from([0, 2, 3, 14, 15, 20]), st.lists(point, max_size=2)).map(
                                lambda t: [level] * t[0] + t[1])))
    return draw(st.integers(0, 40)), series, policy


@settings(max_examples=300, deadline=None)
@given(st.lists(tracking_case(), min_size=1, max_size=12))
@example([(10, [45.0] * 15, TargetTrackingPolicy("cpu", "CPUUtilization", 50.0))])   # exactly at 90%
def test_a_quiet_policy_proposes_nothing(cases):
    running = np.array([r for r, _, _ in cases], np.float64)
    last = np.array([s[-1] if s else math.nan for _, s, _ in cases], np.float64)
    quiet = tracking_quiet(running, last, np.array([p.target for _, _, p in cases]),
                           np.array([p.disable_scale_in for _, _, p in cases]))
    for calm, (r, series, policy) in zip(quiet.tolist(), cases):
        if calm:
            assert _track(policy, series, r, 1, "service/c/s") is None, (r, series, policy)
    # Given the windows too, quiet is exactly "proposes nothing".
    windows = np.array([appautoscaling._last_points(s) for _, s, _ in cases], np.float64)
    quiet = tracking_quiet(running, windows[:, -1], np.array([p.target for _, _, p in cases]),
                           np.array([p.disable_scale_in for _, _, p in cases]), windows)
    for calm, (r, series, policy) in zip(quiet.tolist(), cases):
        assert calm == (_track(policy, series, r, 1, "service/c/s") is None), (r, series, policy)


TARGET = st.tuples(st.integers(0, 30), st.integers(0, 30), SERIES,
                   st.lists(POLICY, max_size=2, unique_by=lambda p: p.name))


def _policy_run(targets):
    """An Application Auto Scaling with the targets' policies and their services' views."""
    aas = appautoscaling.ApplicationAutoScaling()
    services = {}
    for k, (running, desired, series, policies) in enumerate(targets):
        resource = f"service/prod/s{k}"
        aas.targets[resource] = appautoscaling.TargetRecord(resource, 0, 40, "role", f"arn{k}", 0,
                                                            {"DynamicScalingInSuspended": False})
        for policy in policies:
            aas.policies[(resource, policy.name)] = appautoscaling.PolicyRecord(
                resource, policy.name, "TargetTrackingScaling", f"arn{k}{policy.name}", 0, {}, policy)
        metrics = {"CPUUtilization": list(series), "MemoryUtilization": list(reversed(series))}
        services[resource] = appautoscaling.ServiceView(running, desired, metrics)
    return aas, services


def _recent_of(services) -> RecentPoints:
    """The views' series pushed into a RecentPoints one minute at a time (its metrics in
    another order than the views': the policies find theirs by name)."""
    recent = RecentPoints(("MemoryUtilization", "CPUUtilization"))
    for resource, view in services.items():
        cpu, memory = view.metrics["CPUUtilization"], view.metrics["MemoryUtilization"]
        slot = recent.slots([resource])
        for a, b in zip(memory, cpu):
            recent.push(slot, np.array([[a, b]], np.float64))
    return recent


@settings(max_examples=150, deadline=None)
@given(st.lists(TARGET, min_size=1, max_size=8), st.booleans())
def test_skipping_quiet_targets_decides_as_asking_every_one(targets, with_recent):
    aas, services = _policy_run(targets)
    recent = _recent_of(services) if with_recent else None
    changes = [(c.resource_id, c.from_count, c.to_count, c.cause)
               for c in aas.run_policies(600_000, services, recent)]
    expected = []
    for k, (running, desired, series, policies) in enumerate(targets):
        resource = f"service/prod/s{k}"
        decision = decide_target(600_000, resource_id=resource, running=running, desired=desired,
                                 min_capacity=0, max_capacity=40, metrics=services[resource].metrics,
                                 target_tracking=policies)
        assert aas.targets[resource].state == decision.state
        if decision.cause is not None:
            expected.append((resource, desired, decision.desired, decision.cause))
    assert changes == expected


MINUTE = st.lists(st.tuples(st.integers(0, 6), st.sampled_from([0.0, 45.0, 50.0, 1.5, -0.0]),
                            st.one_of(st.floats(allow_nan=True), st.just(math.nan))), max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.lists(MINUTE, max_size=40))
def test_recent_points_are_the_tails_of_the_series(minutes):
    """Minutes of metrics appended to some services' series (a service may be missing any
    minute, a new one may appear): the windows RecentPoints gives are the series' tails as the
    plain quiet test reads them, for known and unknown services and metrics."""
    recent = RecentPoints(SERVICE_METRICS)
    history: dict = {}
    resources = [f"service/c/s{k}" for k in range(8)]
    for minute in minutes:
        rows = {}
        for k, cpu, memory in minute:            # at most one row per service a minute
            rows[resources[k]] = (cpu, memory, cpu * 2, memory)
        if rows:
            table = np.array(list(rows.values()), np.float64)
            recent.push(recent.slots(list(rows)), table)
            for resource, values in zip(rows, table.tolist()):
                for name, value in zip(SERVICE_METRICS, values):
                    history.setdefault(resource, {}).setdefault(name, []).append(value)
        pairs = [(r, m) for r in resources for m in (*SERVICE_METRICS, "Other")]
        got = recent.windows([r for r, _ in pairs], [m for _, m in pairs])
        want = np.array([appautoscaling._last_points(history.get(r, {}).get(m)) for r, m in pairs], np.float64)
        assert got.tobytes() == want.tobytes()


PROVIDERS = ["a", "b", "c"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 5)), min_size=3, max_size=3),
                          st.integers(1, 40), st.lists(st.integers(0, 30), min_size=3, max_size=3)),
                min_size=1, max_size=20))
def test_remembered_splits_equal_split_tasks(questions):
    host = ScalingHost.__new__(ScalingHost)
    host._strategies, host._splits = {}, {}
    for items, count, held in questions * 2:           # each question asked twice
        strategy = [{"capacityProvider": p, "base": b if k == 0 else 0, "weight": w}
                    for k, (p, (b, w)) in enumerate(zip(PROVIDERS, items))]
        holding = dict(zip(PROVIDERS, held))
        assert host._split(strategy, count, holding) == split_tasks(count, parse_strategy(strategy), holding)
