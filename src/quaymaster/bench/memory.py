"""Peak memory of B1, from the peak resident size of subprocesses.

The baseline child imports quaymaster and builds B1's fleet and cluster; the
measured child does the same and then runs B1's request. The difference of
their peak resident sizes is what placing costs, including what the first
placement of a process loads (Numba's compiler and the cached kernels). A
third child, "warm", places one task of the same request instead: the run's
peak above it is what B1's size costs. Run as a module, this file is the
child: ``python -m quaymaster.bench.memory baseline|warm|run SCENARIO_JSON``.
"""

from __future__ import annotations

import json
import subprocess
import sys

MODES = ("baseline", "warm", "run")


def _peak_rss_bytes() -> int:
    """This process's peak resident size.

    On Linux ``ru_maxrss`` of a child started by fork + exec starts at the
    *parent's* resident size (the old address space's high-water mark is
    carried over at exec), so a child spawned by a big benchmark process would
    report the parent's peak. ``VmHWM`` in /proc/self/status belongs to the
    child's own address space; it is used where it exists, ``ru_maxrss``
    elsewhere.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def child(mode: str, scenario_json: str) -> dict:
    """What one child does and reports (its peak RSS, and what it placed)."""
    from quaymaster.bench.scenarios import Scenario

    scenario = Scenario.from_json(scenario_json)
    cluster = scenario.cluster()
    scenario.task_definition()
    placed = None
    if mode == "run":
        placed = scenario.run_call(cluster).placed_count
    elif mode == "warm":
        placed = scenario.resized(count=1).run_call(cluster).placed_count
    return {"mode": mode, "peak_rss_bytes": _peak_rss_bytes(), "placed": placed}


def _spawn(mode: str, scenario) -> dict:
    done = subprocess.run([sys.executable, "-m", "quaymaster.bench.memory", mode, scenario.to_json()],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child ({mode}) failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_peak_memory(scenario) -> dict:
    """Peak RSS of the three children; ``delta_bytes`` = run - baseline (the target's
    number), ``delta_warm_bytes`` = run - warm."""
    baseline, warm, run = (_spawn(mode, scenario) for mode in MODES)
    return {"baseline_bytes": baseline["peak_rss_bytes"], "warm_bytes": warm["peak_rss_bytes"],
            "run_bytes": run["peak_rss_bytes"],
            "delta_bytes": run["peak_rss_bytes"] - baseline["peak_rss_bytes"],
            "delta_warm_bytes": run["peak_rss_bytes"] - warm["peak_rss_bytes"],
            "placed": run["placed"]}


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.exit("usage: python -m quaymaster.bench.memory baseline|warm|run SCENARIO_JSON")
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
