"""Running a scenario on a region and collecting its tables (metrics, events, tasks, activities)."""

from __future__ import annotations

from quaymaster.errors import ServiceError
from quaymaster.region import Region
from quaymaster.simulation.scenario import Scenario, ScenarioError
from quaymaster.simulation.tables import Recorder


class SimulationError(ScenarioError):
    """A call of the scenario the API refused while the simulation ran."""


class Simulation:
    def __init__(self, scenario: Scenario, *, seed: int | None = None, fast_paths: bool = True,
                 jump_ticks: bool = True):
        """``fast_paths=False`` places every service task by placement's plain per-task scan;
        ``jump_ticks=False`` visits every tick while an Auto Scaling group exists instead of
        jumping to the next one where something is due. Neither changes the outputs (the
        benchmark and the tests compare them)."""
        self.scenario = scenario
        seed = scenario.seed if seed is None else seed
        self.region = Region(scenario.region, scenario.account, seed=seed, start=scenario.start_ms,
                             tick=scenario.tick_ms)
        self.region.fast_paths = fast_paths
        self.region.jump_ticks = jump_ticks
        for family, timings in scenario.timings.items():
            self.region.set_task_timings(None if family == "*" else family, timings)
        if scenario.fargate:
            self.region.fargate.set_spot_interruptions(scenario.fargate["spotInterruptionsPerHour"])
            self.region.fargate.set_subnet_zones(scenario.fargate["subnets"])
        self.recorder = Recorder(self.region, scenario, seed)
        self._tables: dict | None = None
        self._schedule()

    def _schedule(self) -> None:
        start = self.scenario.start_ms
        at_zero = [c for c in self.scenario.calls if c.at_ms == 0]
        later = [c for c in self.scenario.calls if c.at_ms > 0]
        for call in at_zero:
            self.region.schedule(start, self._caller(call))
        for i, (cluster, path) in enumerate(self.scenario.fleets):
            self.region.schedule(start, self._fleet_loader(i, cluster, path))
        for call in later:
            self.region.schedule(start + call.at_ms, self._caller(call))

    def _caller(self, call):
        def run():
            before = self.recorder.desired_counts()
            try:
                self.region.handle(call.service, call.operation, call.request)
            except ServiceError as error:
                raise SimulationError(f"$.calls[{call.index}]", f"call {call.index} ({call.service}:"
                                      f"{call.operation}) failed: {error.code}: {error.message}") from None
            self.recorder.activities_after(before, f"{call.operation} (call {call.index})")
        return run

    def _fleet_loader(self, i: int, cluster: str, path):
        def run():
            try:
                self.region.register_fleet(cluster, path)
            except ServiceError as error:
                raise SimulationError(f"$.fleets[{i}].cluster", f"{error.code}: {error.message}") from None
        return run

    def run(self, until_ms: int | None = None, progress: bool = False) -> "Simulation":
        end = self.region.clock.start + (self.scenario.duration_ms if until_ms is None else until_ms)
        bar = _progress_bar(progress, end - self.region.now)
        step = max(self.region.clock.tick_ms, (end - self.region.now) // 200)
        while self.region.now < end:
            target = min(end, self.region.now + step)
            before = self.region.now
            self.region.run_until(target)
            if bar is not None:
                bar.update((self.region.now - before) / 1000)
        if bar is not None:
            bar.close()
        self.recorder.finish()
        self._tables = None
        return self

    def tables(self) -> dict:
        """The Arrow tables (built once per run: a day of metrics is millions of rows)."""
        tables = self._tables
        if tables is None:
            tables = self._tables = self.recorder.tables()
        return tables

    def summary(self) -> dict:
        return self.recorder.summary()


def _progress_bar(enabled: bool, total_ms: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total_ms / 1000, unit="sim s", unit_scale=True, desc="simulate", leave=False)


def simulate(scenario: Scenario, *, seed: int | None = None, until_ms: int | None = None,
             progress: bool = False, fast_paths: bool = True) -> Simulation:
    return Simulation(scenario, seed=seed, fast_paths=fast_paths).run(until_ms, progress)
