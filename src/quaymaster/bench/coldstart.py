"""Cold start: a new interpreter that imports quaymaster and places once.

Two measurements, each in its own subprocess:

- warm: Numba's on-disk cache already holds the kernels (a first, untimed
  subprocess makes sure of it); the wall time of ``python -c "import
  quaymaster ...; cluster.run_task(...)"`` is what a user waits for.
- first compile: ``NUMBA_CACHE_DIR`` points to a fresh empty folder, so every
  kernel the first placement needs is compiled (what the very first run after
  installing pays).

The child prints its own breakdown (import, fleet, first placement) as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from quaymaster.bench.timing import clock

# B1's request on a small fleet: the chain and the memberOf constraint compile the
# same kernels as the big run.
CHILD = """
import json, time
start = time.perf_counter()
import quaymaster
from quaymaster.fleet import generate_fleet
imported = time.perf_counter()
types = {"m5.4xlarge": 1, "m5.8xlarge": 1, "c5.9xlarge": 1, "r5.4xlarge": 1}
cluster = quaymaster.Cluster.from_arrow(generate_fleet(100, 3, 0, instance_types=types))
built = time.perf_counter()
result = cluster.run_task(
    {"family": "bench", "containerDefinitions": [
        {"name": "app", "image": "busybox", "cpu": 16, "memory": 64}]},
    count=10,
    placement_strategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                        {"type": "binpack", "field": "memory"}],
    placement_constraints=[{"type": "memberOf",
                            "expression": "attribute:ecs.instance-type != c5.9xlarge"}])
placed = time.perf_counter()
print(json.dumps({"import_s": imported - start, "fleet_s": built - imported,
                  "first_placement_s": placed - built, "placed": result.placed_count}))
"""


def _run_child(env: dict | None = None) -> dict:
    start = clock()
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=env, check=False)
    wall = clock() - start
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {**report, "wall_s": wall}


def measure_cold_start(repeat: int = 3) -> list[dict]:
    """``repeat`` warm-cache cold starts (after one untimed start that fills the cache)."""
    _run_child()
    return [_run_child() for _ in range(repeat)]


def measure_first_compile() -> dict:
    """One cold start with an empty Numba cache: import plus compiling the kernels."""
    with tempfile.TemporaryDirectory(prefix="quaymaster-numba-") as folder:
        return _run_child({**os.environ, "NUMBA_CACHE_DIR": folder})
