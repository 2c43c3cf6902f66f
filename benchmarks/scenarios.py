"""The scenarios the benchmark files time, shared with ``quaymaster bench``.

The builders live in :mod:`quaymaster.bench.scenarios` (installed with the
package, so the CLI has them too); this module re-exports them and adds the
one helper the pytest files need: a checked first run.
"""

from __future__ import annotations

from quaymaster.bench.baselines import exactness_checks
from quaymaster.bench.runs import invariant_checks
from quaymaster.bench.scenarios import FULL, QUICK, Scenario, Sizes, b1, b1_end_to_end, b2, b3, b4_cells, b6

__all__ = ["FULL", "QUICK", "Scenario", "Sizes", "b1", "b1_end_to_end", "b2", "b3", "b4_cells", "b6",
           "checked_positions"]


def checked_positions(scenario, reference=None, *, exact: bool = True):
    """Run every call of the scenario once on a fresh cluster, assert the invariants
    (and, with ``exact``, exactness on the reduced instance), and return the
    positions of the placed tasks: the result every timed run must reproduce."""
    import numpy as np

    cluster = scenario.cluster()
    placed = [scenario.run_call(cluster).placements.column("position").to_numpy()
              for _ in range(scenario.calls)]
    positions = np.concatenate(placed)
    checks = invariant_checks(scenario, cluster, positions)
    if exact:
        checks += exactness_checks(scenario, reference)
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
    assert not failed, failed
    return positions
