"""The tie and random keys of placement's strategies (random, and ties between equal scores), vectorised.

All arithmetic is modulo 2^64 (numpy uint64 wraps), except the product in
``j(t, n)`` whose high word is taken exactly with Python integers.
"""

from __future__ import annotations

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = np.asarray(x, dtype=np.uint64) + _GAMMA
        z = (x ^ (x >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def seed_state(seed: int) -> int:
    """s = splitmix64(seed)."""
    return splitmix64(seed & _MASK)


def tie_keys(seed: int, n: int) -> np.ndarray:
    """k(p) = splitmix64(s ^ p) for p = 0..n-1.

    splitmix64_array's steps, written in place into one output and one scratch
    array: a request with a new seed pays this over every instance, and the
    temporaries and error-state switch cost more than the arithmetic.
    (uint64 array arithmetic wraps without a warning; only numpy scalars warn.)
    """
    out = np.bitwise_xor(np.arange(n, dtype=np.uint64), np.uint64(seed_state(seed)))
    scratch = np.empty_like(out)
    np.add(out, _GAMMA, out=out)
    for shift, multiplier in ((_S30, _M1), (_S27, _M2), (_S31, None)):
        np.right_shift(out, shift, out=scratch)
        np.bitwise_xor(out, scratch, out=out)
        if multiplier is not None:
            np.multiply(out, multiplier, out=out)
    return out


def random_draw(seed: int, t: int) -> int:
    """r(t) = splitmix64(s + t + 1)."""
    return splitmix64((seed_state(seed) + t + 1) & _MASK)


def random_index(seed: int, t: int, n: int) -> int:
    """j(t, n) = high word of r(t) * n."""
    return (random_draw(seed, t) * n) >> 64
