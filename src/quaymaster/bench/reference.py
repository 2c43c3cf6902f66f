"""Access to the pure-Python placement reference (tests/reference/placement_ref.py).

The reference lives with the tests and is not installed with the package, so
``quaymaster bench`` looks for it: ``$QUAYMASTER_REFERENCE_DIR`` (the folder
holding ``reference/placement_ref.py``), then a ``tests`` folder above the
installed package (an editable install from a checkout), then ``./tests``.
When it is not found, the exactness checks fall back to the NumPy baseline
and the reference's time is not reported.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pyarrow as pa

ENV_VAR = "QUAYMASTER_REFERENCE_DIR"
_MARKER = Path("reference") / "placement_ref.py"


def find_reference_dir() -> Path | None:
    """The folder to put on ``sys.path`` so ``reference.placement_ref`` imports, or None."""
    candidates = []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    here = Path(__file__).resolve()
    candidates += [parent / "tests" for parent in here.parents]
    candidates.append(Path.cwd() / "tests")
    for folder in candidates:
        if (folder / _MARKER).is_file():
            return folder
    return None


def load_reference():
    """The ``reference.placement_ref`` module, or None when it cannot be found."""
    folder = find_reference_dir()
    if folder is None:
        return None
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module("reference.placement_ref")


def reference_request(scenario, count: int) -> dict:
    """The scenario's request in the reference's plain form (``place_reference``)."""
    return {
        "cpu": scenario.cpu, "memory": scenario.memory, "count": count,
        "group": f"family:{scenario.family}", "member_of": list(scenario.member_of),
        "strategy": [{"type": kind, "field": field} for kind, field in scenario.strategy],
    }


def reference_calls(module, scenario, table: pa.Table, calls: int, count: int):
    """``calls`` consecutive requests of ``count`` tasks through the reference, each one
    seeing what the earlier ones placed. Returns (placements, failures), task indexes
    numbered across calls (call * count + index)."""
    tasks = None
    placements, failures = [], []
    for call in range(calls):
        result = module.place_reference(table, tasks, reference_request(scenario, count),
                                        scenario.seed)
        offset = call * count
        placements += [{**p, "task_index": p["task_index"] + offset} for p in result.placements]
        failures += [{**f, "task_index": f["task_index"] + offset} for f in result.failures]
        table = result.instances_after
        tasks = pa.Table.from_pylist(result.tasks_after) if result.tasks_after else None
    return placements, failures
