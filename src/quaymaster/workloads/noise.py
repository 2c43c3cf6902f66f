"""Seeded workload noise: ``max(0, 1 + noise * N(0, 1))`` per minute.

The stream of a service is ``splitmix64(seed + fnv1a64(key))``, ``key`` being
the service's name, so adding a service does not change another's draws. The
normal draw of minute ``m`` is a Box-Muller transform of the two uniforms
``splitmix64(stream + 2m)`` and ``splitmix64(stream + 2m + 1)``: any minute's
factor is the same however many minutes are asked for, and on any machine.
"""

from __future__ import annotations

import numpy as np

from quaymaster import portable_math
from quaymaster.keys import splitmix64, splitmix64_array

_MASK = (1 << 64) - 1
_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def fnv1a64(text: str) -> int:
    value = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def stream_seed(seed: int, key: str) -> int:
    return splitmix64((seed + fnv1a64(key)) & _MASK)


def _uniform(bits: np.ndarray) -> np.ndarray:
    """In (0, 1]: the top 53 bits, plus one, over 2^53 (never 0, so the logarithm is finite)."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 1.0) / 9007199254740992.0


def standard_normal(stream: int, minutes: np.ndarray) -> np.ndarray:
    minutes = np.asarray(minutes, dtype=np.uint64)
    with np.errstate(over="ignore"):
        base = np.uint64(stream) + np.uint64(2) * minutes
        u1 = _uniform(splitmix64_array(base))
        u2 = _uniform(splitmix64_array(base + np.uint64(1)))
    # portable_math, not np.log/np.cos: NumPy's loops differ in the last bit between CPUs.
    return np.sqrt(-2.0 * portable_math.log(u1)) * portable_math.cos_turns(u2)


def noise_factors(noise: float, seed: int, key: str, minutes: np.ndarray) -> np.ndarray:
    """``max(0, 1 + noise * N(0,1))`` for each minute index (minutes since the start, >= 0)."""
    minutes = np.asarray(minutes)
    if noise == 0:
        return np.ones(minutes.shape, dtype=np.float64)
    return np.maximum(0.0, 1.0 + noise * standard_normal(stream_seed(seed, key), minutes))
