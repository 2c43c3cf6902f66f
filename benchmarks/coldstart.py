"""Cold start: import plus the first placement, in a new interpreter each time.

    python benchmarks/coldstart.py [--repeat N]

Target: at most 1.5 s with a warm Numba cache. The first-ever compile (a
fresh, empty ``NUMBA_CACHE_DIR``) is reported apart. The measurement itself
lives in :mod:`quaymaster.bench.coldstart` (``quaymaster bench --scenarios COLD``
runs the same).
"""

from __future__ import annotations

import argparse
import sys

from quaymaster.bench.coldstart import measure_cold_start, measure_first_compile
from quaymaster.bench.timing import format_seconds, summarize

TARGET_S = 1.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm-cache starts to time")
    args = parser.parse_args(argv)
    warm = measure_cold_start(args.repeat)
    first = measure_first_compile()
    stats = summarize([w["wall_s"] for w in warm])
    for w in warm:
        print(f"warm cache: wall {format_seconds(w['wall_s'])}, "
              f"import {format_seconds(w['import_s'])}, fleet {format_seconds(w['fleet_s'])}, "
              f"first run_task {format_seconds(w['first_placement_s'])}")
    print(f"median {format_seconds(stats['median'])} (target <= {TARGET_S} s: "
          f"{'met' if stats['median'] <= TARGET_S else 'NOT met'})")
    print(f"empty Numba cache: wall {format_seconds(first['wall_s'])}, "
          f"first run_task {format_seconds(first['first_placement_s'])}")
    return 0 if all(w["placed"] == 10 for w in warm) and first["placed"] == 10 else 1


def test_cold_start(benchmark):
    """pytest-benchmark: one warm-cache cold start per round (the child checks it placed 10)."""
    from quaymaster.bench.coldstart import _run_child

    _run_child()  # fill the cache
    report = benchmark.pedantic(_run_child, rounds=3, iterations=1)
    assert report["placed"] == 10
    benchmark.extra_info["first_compile"] = measure_first_compile()


if __name__ == "__main__":
    sys.exit(main())
