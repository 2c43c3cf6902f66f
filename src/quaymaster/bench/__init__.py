"""Fleet-scale placement benchmarks: scenarios, checks, baselines and the runner.

Used by ``quaymaster bench`` and by the pytest-benchmark files in
``benchmarks/`` (which are not installed with the package).

- :mod:`~quaymaster.bench.scenarios`: the scenarios B1 to B6 and the size presets.
- :mod:`~quaymaster.bench.churn`: B5, a seeded stream of run/stop/drain/attribute operations.
- :mod:`~quaymaster.bench.load`: LOAD (``Cluster.from_arrow``) and COPY (``Cluster.copy()``).
- :mod:`~quaymaster.bench.checks`: what a result must satisfy before it is timed.
- :mod:`~quaymaster.bench.numpy_baseline`: the NumPy per-task scan baseline.
- :mod:`~quaymaster.bench.baselines`: baselines and exactness checks of one scenario.
- :mod:`~quaymaster.bench.runs`, :mod:`~quaymaster.bench.runner`: running and reporting.
- :mod:`~quaymaster.bench.coldstart`, :mod:`~quaymaster.bench.memory`: subprocess measurements.
- :mod:`~quaymaster.bench.plot`: the B4 growth and B2 latency figure of `--plot`.
"""

from quaymaster.bench.numpy_baseline import NumpyBaseline
from quaymaster.bench.runner import SCENARIO_KEYS, parse_scenario_keys, run_benchmarks
from quaymaster.bench.scenarios import (
    FULL,
    QUICK,
    Scenario,
    Sizes,
    b1,
    b1_end_to_end,
    b2,
    b3,
    b4_cells,
    b5,
    b6,
)

__all__ = ["FULL", "QUICK", "NumpyBaseline", "SCENARIO_KEYS", "Scenario", "Sizes", "b1", "b1_end_to_end",
           "b2", "b3", "b4_cells", "b5", "b6", "parse_scenario_keys", "run_benchmarks"]
