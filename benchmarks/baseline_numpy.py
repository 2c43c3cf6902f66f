"""The NumPy per-task scan baseline, and its check against the engine and the reference.

The implementation is :class:`quaymaster.bench.numpy_baseline.NumpyBaseline`
(installed with the package, so ``quaymaster bench`` can time it too); it
handles chains of spread/binpack (and a closing random) without ports. This
file checks, on small fleets, that it places exactly as the engine does
through ``Cluster.run_task`` and as the pure-Python reference does:

    python benchmarks/baseline_numpy.py          # prints one line per case
    pytest benchmarks/baseline_numpy.py          # the same, as a test
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from quaymaster.bench.baselines import engine_calls, numpy_calls  # noqa: E402
from quaymaster.bench.numpy_baseline import NumpyBaseline  # noqa: E402
from quaymaster.bench.reference import load_reference, reference_calls  # noqa: E402
from quaymaster.bench.scenarios import STACK, ZONE, Scenario  # noqa: E402

__all__ = ["NumpyBaseline", "small_cases", "check_case"]

CHAINS = (
    (("spread", ZONE), ("binpack", "memory")),
    (("spread", ZONE), ("spread", "instanceId")),
    (("binpack", "cpu"), ("spread", STACK), ("random", None)),
    (("spread", STACK), ("binpack", "cpu"), ("spread", "instanceId")),
    (("random", None),),
)


def small_cases() -> list[Scenario]:
    """Small fleets that fill up (so the last tasks fail): every chain, with and without
    memberOf, one call or several, a few seeds."""
    cases = []
    for k, chain in enumerate(CHAINS):
        for excluded in (None, "c5.9xlarge"):
            for per_call in (None, 8):
                case = Scenario("small", f"chain {k}", 30, 1, cpu=4096, memory=8192, strategy=chain,
                                excluded_type=excluded, stack_attribute=True,
                                seed=k * 7919 + (per_call or 1), fleet_seed=k)
                capacity = int(case.capacity().sum())
                cases.append(case.resized(count=capacity + 3) if per_call is None else
                             case.resized(count=per_call, calls=capacity // per_call + 2))
    return cases


def check_case(case: Scenario, reference) -> str | None:
    """None when the NumPy scan, the engine and the reference place alike, else what differs."""
    engine = np.array([p["position"] for p in engine_calls(case)[0]], dtype=np.int64)
    scan = numpy_calls(case, case.calls)
    if not np.array_equal(engine, scan):
        return f"NumPy {scan[:10].tolist()}... vs engine {engine[:10].tolist()}..."
    if reference is not None:
        expected = reference_calls(reference, case, case.fleet(), case.calls, case.count)[0]
        ref = np.array([p["position"] for p in expected], dtype=np.int64)
        if not np.array_equal(ref, scan):
            return f"NumPy {scan[:10].tolist()}... vs reference {ref[:10].tolist()}..."
    return None


def test_numpy_baseline_matches_engine_and_reference():
    reference = load_reference()
    assert reference is not None
    problems = {f"{c.title} {c.strategy} calls={c.calls}": check_case(c, reference)
                for c in small_cases()}
    assert not {k: v for k, v in problems.items() if v}


def main() -> int:
    reference = load_reference()
    failed = 0
    for case in small_cases():
        problem = check_case(case, reference)
        failed += problem is not None
        print(f"{'FAIL' if problem else 'ok  '} {case.title} {case.strategy} excluded={case.excluded_type} "
              f"calls={case.calls}x{case.count}" + (f": {problem}" if problem else ""))
    print(f"{failed} of {len(small_cases())} cases differ"
          + ("" if reference is not None else " (reference not found: engine only)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
