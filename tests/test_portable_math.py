"""portable_math: within about one unit in the last place of libm, and the same bits on any CPU.

The last two tests are the point of the module: the bits of a fixed set of
values are pinned (so a machine whose NumPy picks other loops still has to
produce them), and a child process with NumPy's CPU-dispatched loops turned
off (NPY_DISABLE_CPU_FEATURES) gives the same workload noise and the same
simulated outputs as this one.
"""

import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from quaymaster import portable_math

finite = dict(allow_nan=False, allow_infinity=False)


def ulps(got: float, want: float) -> float:
    return abs(got - want) / math.ulp(want) if want else abs(got) / math.ulp(0.0)


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=5e-324, **finite))
def test_log_is_within_one_ulp_of_libm(x):
    assert ulps(float(portable_math.log(x)), math.log(x)) <= 1


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=-700, max_value=700, **finite))
def test_exp_is_within_one_ulp_of_libm(x):
    assert ulps(float(portable_math.exp(x)), math.exp(x)) <= 1


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, **finite))
def test_cos_turns_is_cos_of_two_pi_t(t):
    reduced = t - round(t)                      # exact, as in the function
    assert abs(float(portable_math.cos_turns(t)) - math.cos(2 * math.pi * reduced)) <= 1e-15
    assert portable_math.cos_turns(t) == portable_math.cos_turns(-t)


def test_exact_points_and_arrays():
    quarters = portable_math.cos_turns(np.arange(-8, 9) / 4)
    assert list(quarters) == [[1.0, 0.0, -1.0, 0.0][k % 4] for k in range(-8, 9)]
    assert float(portable_math.cos_turns(1 / 8)) == math.sqrt(0.5)
    assert float(portable_math.log(1.0)) == 0.0 and float(portable_math.exp(0.0)) == 1.0
    assert portable_math.log(np.array([[1.0, math.e]])).shape == (1, 2)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            portable_math.log(bad)
    for bad in (701.0, -math.inf, math.nan):
        with pytest.raises(ValueError):
            portable_math.exp(bad)


def _pinned_inputs():
    # Built from the generator's bits with exact operations only (no exp2, which is dispatched too).
    rng = np.random.default_rng(20261202)
    spread = np.ldexp(rng.random(4096) + 0.5, rng.integers(-1000, 1000, 4096))
    return (np.concatenate([rng.random(4096) + 2.0 ** -53, spread]),
            rng.uniform(-700, 700, 8192),
            np.concatenate([rng.uniform(-3, 3, 4096), (np.arange(4096) - 2048) / 1440]))


def _bits_digest() -> str:
    logs, exps, turns = _pinned_inputs()
    digest = hashlib.sha256()
    for values in (portable_math.log(logs), portable_math.exp(exps), portable_math.cos_turns(turns)):
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def test_the_bits_are_pinned():
    # Computed once; any machine, any NumPy build, must give exactly these bits.
    assert _bits_digest() == PINNED


PINNED = "1de96bd2f6defa06a9b1fe04635e793f4ee4756ef3c599d8a4b028c0de0c00f6"

# What the child prints: the pinned digest, a service's noise over a day, and a small simulated day.
_CHILD = """
import hashlib, json
import numpy as np
from quaymaster.bench.scaling import outputs_digest
from quaymaster.bench.scaling_scenarios import s3_scenario
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation
from quaymaster.workloads import noise_factors
import test_portable_math as here
noise = noise_factors(0.05, 7, "prod/web", np.arange(1440)).tobytes()
day = Simulation(load_scenario(s3_scenario(4, scale=0.1, duration="6h", instances=3))).run()
print(json.dumps([here._bits_digest(), hashlib.sha256(noise).hexdigest(), outputs_digest(day)]))
"""


def _dispatched_features() -> list[str]:
    """The CPU features NumPy chose loops for on this machine, above its build's baseline."""
    umath = np._core._multiarray_umath
    return [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]


def _child(disable: list[str]) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(__file__), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("NPY_DISABLE_CPU_FEATURES", None)
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_outputs_do_not_depend_on_numpys_cpu_dispatch():
    # On a machine with nothing above the baseline both children run the same loops; the
    # pinned digest above is then what ties this machine to the others.
    with_dispatch, baseline_only = _child([]), _child(_dispatched_features())
    assert with_dispatch == baseline_only
    assert with_dispatch[0] == PINNED
