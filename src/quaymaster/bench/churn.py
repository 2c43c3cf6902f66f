"""B5, churn: a seeded stream of fine-grained operations on one cluster.

What services, deployments and simulators do to the engine: place a few tasks
of a group, stop one task, drain or undrain an instance, change an attribute,
place again. The cluster starts with ``live`` tasks over ``groups`` groups
(half of them with a dynamic host port; each group uses one of three strategy
chains), then the stream runs: ``run_task`` of 1 to 10 tasks for a random group,
``stop_task`` of a random live task, 1% drain/undrain, 1% attribute changes.
Runs and stops are weighted so the live count stays near ``live``.

Exactness before timing: on a shorter stream, every operation's answer
(placements, host ports, failures) and the final instance and task tables
equal those of a twin driven through the plain per-task loop
(``fast_paths=False``). The twins' per-operation times on that stream are the
same-run baseline; the full stream is then timed on the fast path alone.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import numpy as np

from quaymaster.bench import scenarios as sc
from quaymaster.bench.checks import Check
from quaymaster.bench.report import Baseline, Row, Target
from quaymaster.bench.timing import clock, format_seconds, progress, summarize

TARGET = Target("median <= 25 us", 25e-6)
P99_TARGET_S = 250e-6
PORT_RATIO_TARGET = 1.5
TIER = "churn-tier"
STRATEGIES = (
    [{"type": "spread", "field": sc.ZONE}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "random"}],
)
# Operation kinds and their weights: a run places 5.5 tasks on average, so stops
# are 5.5 times as frequent as runs and the live count stays where it started.
RUN, STOP, DRAIN, ATTRIBUTE = 0, 1, 2, 3
WEIGHTS = (0.98 / 6.5, 0.98 * 5.5 / 6.5, 0.01, 0.01)


@dataclass(frozen=True)
class Churn:
    """The B5 setup: the fleet, the groups, the starting tasks and the stream."""

    instances: int
    groups: int
    live: int
    ops: int
    check_ops: int          # length of the stream checked (and baselined) against the plain loop
    seed: int = 5
    fleet_seed: int = 0

    @property
    def size_label(self) -> str:
        return f"{self.instances} inst, {self.live} live, {self.ops} ops"

    def fleet(self):
        return sc.fleet_of(self.instances, fleet_seed=self.fleet_seed)

    def task_definition(self, group: int) -> dict:
        """Group ``group``'s definition: even groups have one dynamic host port."""
        container = {"name": "app", "image": "busybox", "cpu": 16 * (1 + group % 4),
                     "memory": 32 * (1 + group % 3)}
        if group % 2 == 0:
            container["portMappings"] = [{"containerPort": 8080, "hostPort": 0}]
        return {"family": f"churn-{group:02d}", "containerDefinitions": [container]}

    def uses_port(self, group: int) -> bool:
        return group % 2 == 0

    def constraints(self, group: int) -> list[dict] | None:
        """Every fifth group avoids tier t0, so attribute changes matter to placement."""
        if group % 5 != 4:
            return None
        return [{"type": "memberOf", "expression": f"attribute:{TIER} != t0"}]

    def stream(self, length: int) -> np.ndarray:
        """``length`` operations as rows (kind, a, b); the same seed, the same rows.

        run: a = group, b = count 1..10; stop: a = which live task; drain: a = which
        instance, b = undrain instead (when one is drained); attribute: a = which
        instance, b = the tier value.
        """
        rng = np.random.default_rng(self.seed)
        kinds = rng.choice(4, size=length, p=np.array(WEIGHTS) / sum(WEIGHTS))
        a = rng.integers(0, 2**62, size=length)
        b = rng.integers(0, 2**62, size=length)
        groups = a % self.groups
        a = np.where(kinds == RUN, groups, a)
        b = np.where(kinds == RUN, 1 + b % 10, np.where(kinds == ATTRIBUTE, b % 4, b % 2))
        return np.stack([kinds, a, b], axis=1).astype(np.int64)


@dataclass
class Driver:
    """One cluster driven through the stream: fast paths or the plain per-task loop."""

    churn: Churn
    fast_paths: bool
    record: bool = False
    answers: list = field(default_factory=list)
    times: list = field(default_factory=list)
    labels: list = field(default_factory=list)

    def __post_init__(self):
        from quaymaster import Cluster
        from quaymaster.taskdef import parse_task_definition

        self.cluster = Cluster.from_arrow(self.churn.fleet())
        self.arns = self.cluster.instance_table().column("container_instance_arn").to_pylist()
        self.definitions = [parse_task_definition(self.churn.task_definition(g))
                            for g in range(self.churn.groups)]
        self.live: list[str] = []
        self.drained: list[int] = []
        per_group = self.churn.live // self.churn.groups
        for group in range(self.churn.groups):
            self._run(group, per_group, seed=group)

    def _run(self, group: int, count: int, seed: int):
        result = self.cluster.run_task(self.definitions[group], count=count, seed=seed,
                                       placement_strategy=STRATEGIES[group % len(STRATEGIES)],
                                       placement_constraints=self.churn.constraints(group),
                                       fast_paths=self.fast_paths)
        arns = result.task_arns()
        self.live += arns
        return result, arns

    def apply(self, index: int, kind: int, a: int, b: int) -> None:
        """One operation, timed; its answer kept when recording."""
        start = clock()
        answer = self._operation(index, kind, a, b)
        self.times.append(clock() - start)
        self.labels.append(self._label(kind, a))
        if self.record:
            self.answers.append(answer)

    def _label(self, kind: int, a: int) -> str:
        if kind == RUN:
            return "run_port" if self.churn.uses_port(a) else "run"
        return ("run", "stop", "drain", "attribute")[kind]

    def _operation(self, index: int, kind: int, a: int, b: int):
        if kind == RUN:
            result, arns = self._run(a, b, seed=self.churn.seed * 1_000_003 + index)
            if not self.record:
                return None
            return (tuple(result.positions.tolist()), arns,
                    result.placements.select(["host_ports"]).to_pylist(), result.failed_count)
        if kind == STOP:
            if not self.live:
                return None
            k = a % len(self.live)
            arn = self.live[k]
            self.live[k] = self.live[-1]
            self.live.pop()
            return self.cluster.stop_task(arn)
        if kind == DRAIN:
            return self._drain(a, b)
        value = f"t{b}"
        return self.cluster.put_attributes([{"name": TIER, "value": value, "targetId": self.arns[a % len(self.arns)],
                                             "targetType": "container-instance"}])

    def _drain(self, a: int, undrain: int):
        if self.drained and undrain:
            position = self.drained.pop(a % len(self.drained))
            status = "ACTIVE"
        else:
            position = a % len(self.arns)
            if position in self.drained:
                return None
            self.drained.append(position)
            status = "DRAINING"
        return self.cluster.update_container_instances_state([self.arns[position]], status)

    def drive(self, ops: np.ndarray, *, enabled=None, desc: str = "B5") -> None:
        for index, (kind, a, b) in enumerate(progress(ops.tolist(), desc=desc, enabled=enabled)):
            self.apply(index, kind, a, b)


def exactness_checks(fast: Driver, plain: Driver, length: int) -> list[Check]:
    """Every answer and the final tables of the two twins equal."""
    label = f"{length} ops"
    differing = next((i for i, (x, y) in enumerate(zip(fast.answers, plain.answers)) if x != y), None)
    same_answers = differing is None and len(fast.answers) == len(plain.answers)
    detail = (f"{len(fast.answers)} answers equal" if same_answers else
              f"first difference at operation {differing}: {fast.answers[differing]!r:.200} vs "
              f"{plain.answers[differing]!r:.200}" if differing is not None else "answer counts differ")
    checks = [Check(f"every answer fast = plain loop ({label})", same_answers, detail)]
    for name, table in (("instance", lambda d: d.cluster.instance_table()),
                        ("task", lambda d: d.cluster.task_table())):
        equal = table(fast).equals(table(plain))
        checks.append(Check(f"final {name} table fast = plain loop", equal,
                            f"{table(fast).num_rows} rows" + ("" if equal else ", tables differ")))
    checks.append(invariant_check(fast))
    return checks


def invariant_check(driver: Driver) -> Check:
    """No instance over-committed and host ports unique per instance (from the tables)."""
    instances = driver.cluster.instance_table()
    tasks = driver.cluster.task_table()
    problems = []
    for name in ("cpu", "memory"):
        if (instances.column(f"{name}_remaining").to_numpy() < 0).any():
            problems.append(f"{name} over-committed")
    seen = set()
    for instance, ports in zip(tasks.column("ec2_instance_id").to_pylist(), tasks.column("host_ports").to_pylist()):
        for port in ports or ():
            if (instance, port) in seen:
                problems.append(f"port {port} twice on {instance}")
            seen.add((instance, port))
    return Check("invariants (capacity, unique host ports)", not problems,
                 "; ".join(problems[:3]) or f"{tasks.num_rows} live tasks, {len(seen)} host ports")


def churn_row(churn: Churn, *, progress_enabled=None) -> Row:
    """Check on the short stream against the plain loop, then time the full stream."""
    check_ops = churn.stream(churn.check_ops)
    fast, plain = Driver(churn, True, record=True), Driver(churn, False, record=True)
    fast.drive(check_ops, enabled=progress_enabled, desc="B5 check (fast)")
    plain.drive(check_ops, enabled=progress_enabled, desc="B5 check (plain loop)")
    checks = exactness_checks(fast, plain, churn.check_ops)
    fast_check, plain_check = summarize(fast.times), summarize(plain.times)
    baseline = Baseline("scan", f"{churn.instances} inst, {churn.check_ops} ops (plain loop)",
                        plain_check["median"], plain_check["median"] / fast_check["median"])
    del fast, plain
    timed = Driver(churn, True)
    gc.collect()
    timed.drive(churn.stream(churn.ops), enabled=progress_enabled, desc="B5 timed")
    checks.append(invariant_check(timed))
    return _row(churn, timed, checks, baseline)


def _row(churn: Churn, timed: Driver, checks: list[Check], baseline: Baseline) -> Row:
    stats = summarize(timed.times)
    labels = np.array(timed.labels)
    times = np.array(timed.times)
    by_kind = {kind: summarize(times[labels == kind]) for kind in ("run", "run_port", "stop", "drain",
                                                                   "attribute")}
    port_ratio = by_kind["run_port"].get("median", np.nan) / by_kind["run"].get("median", np.nan)
    kinds = ", ".join(f"{k} {format_seconds(v['median'])} (n={v['n']})" for k, v in by_kind.items()
                      if v["n"])
    note = (f"per op: median {format_seconds(stats['median'])}, p99 {format_seconds(stats['p99'])} "
            f"(target <= {format_seconds(P99_TARGET_S)}: {'met' if stats['p99'] <= P99_TARGET_S else 'NOT met'}); "
            f"run_task with a dynamic port / without: {port_ratio:.2f}x (target <= {PORT_RATIO_TARGET}x: "
            f"{'met' if port_ratio <= PORT_RATIO_TARGET else 'NOT met'}); medians by kind: {kinds}")
    details = {**stats, "by_kind": by_kind, "port_ratio": float(port_ratio),
               "p99_target_s": P99_TARGET_S, "port_ratio_target": PORT_RATIO_TARGET}
    return Row("B5", "churn", churn.size_label, stats["median"], f"{format_seconds(stats['median'])}/op",
               None, TARGET, checks, [baseline], details, note, unit="op")
