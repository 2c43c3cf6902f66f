"""Numba kernel of the scale-in choice (docs/semantics.md, "Scale-in")."""

from __future__ import annotations

import numpy as np

from quaymaster.kernels.jit import kernel

BINPACK, SPREAD, RANDOM = 1, 2, 3
_GAMMA = np.uint64(0x9E3779B97F4A7C15)


@kernel
def _splitmix64(x):
    x = x + _GAMMA
    z = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel
def _mulhi(a, n):
    """High word of the exact 128-bit product a * n (n < 2^32 here)."""
    a_hi = a >> np.uint64(32)
    a_lo = a & np.uint64(0xFFFFFFFF)
    lo = a_lo * n
    return (a_hi * n + (lo >> np.uint64(32))) >> np.uint64(32)


@kernel
def _score(kind, k, c, bucket, bucket_count, binpack_value, binpack_base):
    """What strategy k maximises for candidate c."""
    if kind == BINPACK:
        return binpack_base[k, bucket[k, c]] + binpack_value[k, c]
    return bucket_count[bucket[k, c]]


@kernel
def choose_victims(kinds, bucket, bucket_count, binpack_value, binpack_base, daemon, row, tie,
                   count, seed_state, chosen):
    """Choose ``count`` candidates to stop, one at a time; writes their indexes to ``chosen``.

    For strategy k and candidate c: a spread scores ``bucket_count[bucket[k, c]]``
    (live tasks of the service sharing the candidate's value); a binpack scores
    ``binpack_base[k, bucket[k, c]] + binpack_value[k, c]`` (what its instance
    will have left once the task stops). Bigger is better; ``random`` picks the
    j(t, n)-th survivor by row; then the smallest tie key wins. Non-daemon
    candidates go first. Returns how many were chosen.
    """
    m = len(daemon)
    alive = np.ones(m, dtype=np.bool_)
    survivor = np.zeros(m, dtype=np.bool_)
    order = np.argsort(row)
    for t in range(min(count, m)):
        any_plain = False
        for c in range(m):
            if alive[c] and not daemon[c]:
                any_plain = True
        for c in range(m):
            survivor[c] = alive[c] and (daemon[c] == False or not any_plain)  # noqa: E712
        pick = -1
        for k in range(len(kinds)):
            if kinds[k] == RANDOM:
                n = 0
                for c in range(m):
                    n += survivor[c]
                j = _mulhi(_splitmix64(seed_state + np.uint64(t) + np.uint64(1)), np.uint64(n))
                for idx in range(m):
                    c = order[idx]
                    if survivor[c]:
                        if j == 0:
                            pick = c
                            break
                        j -= 1
                break
            best = -(1 << 62)
            for c in range(m):
                if survivor[c]:
                    best = max(best, _score(kinds[k], k, c, bucket, bucket_count, binpack_value, binpack_base))
            for c in range(m):
                if survivor[c] and _score(kinds[k], k, c, bucket, bucket_count, binpack_value, binpack_base) != best:
                    survivor[c] = False
        if pick < 0:
            for c in range(m):
                if survivor[c] and (pick < 0 or tie[c] < tie[pick]):
                    pick = c
        chosen[t] = pick
        alive[pick] = False
        for k in range(len(kinds)):
            if kinds[k] == BINPACK:
                binpack_base[k, bucket[k, pick]] += binpack_value[k, pick]
            elif kinds[k] == SPREAD:
                bucket_count[bucket[k, pick]] -= 1
    return min(count, m)
