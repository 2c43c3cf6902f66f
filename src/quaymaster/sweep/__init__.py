"""Many simulations at once on Dask ``distributed``: sweeps over JSON paths, and fleet sizing.

``sweep(scenario, {"calls[3].request.desiredCount": [2, 4, 8]})`` returns the
summary table (Arrow); ``size(...)`` finds the smallest fleet meeting a
constraint. ``simulate(document, base_dir)`` is the pure function each worker runs.
"""

from quaymaster.sweep.engine import sweep, summary_table
from quaymaster.sweep.paths import SweepError, parse_path, parse_values, set_path, variations
from quaymaster.sweep.sizing import SizeResult, size
from quaymaster.sweep.worker import simulate

__all__ = ["SizeResult", "SweepError", "parse_path", "parse_values", "set_path", "simulate", "size",
           "summary_table", "sweep", "variations"]
