"""What a Dask worker runs: one scenario document to its tables and summary, nothing shared."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow.parquet as pq

from quaymaster.simulation import Scenario, load_scenario
from quaymaster.simulation.run import Simulation
from quaymaster.sweep.paths import SweepError


def prepare(document: dict, base_dir) -> Scenario:
    """The checked Scenario of ``document``; a fleet may carry ``count`` (sweeps and sizing only):
    the fleet is then the first ``count`` instances of its table, so fleet size is one integer."""
    document = copy.deepcopy(document)   # checking fills defaults into workloads
    counts = {}
    for i, fleet in enumerate(document.get("fleets", []) if isinstance(document, dict) else []):
        if isinstance(fleet, dict) and "count" in fleet:
            counts[i] = fleet.pop("count")
    scenario = load_scenario(document, base_dir=Path(base_dir))
    for i, count in counts.items():
        cluster, path = scenario.fleets[i]
        table = pq.read_table(path)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= table.num_rows:
            raise SweepError(f"$.fleets[{i}].count: an integer from 0 to the {table.num_rows} instances of "
                             f"{path}, found {count!r}", field=f"$.fleets[{i}].count", value=count)
        scenario.fleets[i] = (cluster, table.slice(0, count))
    return scenario


def simulate(document: dict, base_dir=".") -> tuple[dict, dict]:
    """(tables, summary) of one scenario document: the same as ``quaymaster simulate`` writes.

    A fresh region per call, seeded by the scenario alone, so the result does not
    depend on the process, the worker or what ran before.
    """
    simulation = Simulation(prepare(document, base_dir)).run()
    return simulation.tables(), simulation.summary()


def run_variation(index: int, document: dict, base_dir: str) -> tuple[int, dict, dict]:
    tables, summary = simulate(document, base_dir)
    return index, tables, summary
