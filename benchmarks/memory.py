"""Peak memory of B1: ru_maxrss of a child running B1 minus a child that only
imports quaymaster and builds the fleet and cluster.

    python benchmarks/memory.py [--quick]

Target: at most 300 MB. The measurement lives in :mod:`quaymaster.bench.memory`
(``quaymaster bench --scenarios MEM`` runs the same).
"""

from __future__ import annotations

import argparse
import sys

from quaymaster.bench.memory import measure_peak_memory
from quaymaster.bench.scenarios import FULL, QUICK, b1

TARGET_MB = 300.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B1 at the quick sizes")
    args = parser.parse_args(argv)
    scenario = b1(QUICK if args.quick else FULL)
    measured = measure_peak_memory(scenario)
    delta = measured["delta_bytes"] / 1e6
    print(f"B1 ({scenario.size_label}): placed {measured['placed']}, peak RSS "
          f"{measured['run_bytes'] / 1e6:.0f} MB, baseline {measured['baseline_bytes'] / 1e6:.0f} MB, "
          f"difference {delta:.0f} MB (target <= {TARGET_MB:.0f} MB: "
          f"{'met' if delta <= TARGET_MB else 'NOT met'}); above a child that placed one task: "
          f"{measured['delta_warm_bytes'] / 1e6:.0f} MB")
    return 0 if measured["placed"] == scenario.expected_placed() else 1


if __name__ == "__main__":
    sys.exit(main())
