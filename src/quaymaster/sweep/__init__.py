"""Many simulations at once on Dask ``distributed``: sweeps over JSON paths, and fleet sizing.

``sweep(scenario, {"calls[3].request.desiredCount": [2, 4, 8]})`` returns the
summary table (Arrow); ``size_fleet(scenario, "cp", ["c5.large", "m5.large"],
objective="cost")`` sizes a capacity provider's group per instance type and
picks one; ``size(scenario, path, low, high)`` finds the smallest integer at a
JSON path meeting a constraint. ``simulate(document, base_dir)`` is the pure function each worker runs.
"""

from quaymaster.sweep.engine import sweep, summary_table
from quaymaster.sweep.fleet_sizing import FleetSizing, TypeSizing, size_fleet
from quaymaster.sweep.paths import SweepError, parse_path, parse_values, set_path, variations
from quaymaster.sweep.sizing import SizeResult, size
from quaymaster.sweep.worker import simulate

__all__ = ["FleetSizing", "SizeResult", "SweepError", "TypeSizing", "parse_path", "parse_values", "set_path",
           "simulate", "size", "size_fleet", "summary_table", "sweep", "variations"]
