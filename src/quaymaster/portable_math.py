"""log, exp and cos(2*pi*t) that give the same bits on every machine, vectorised.

NumPy picks its float64 ``log``, ``exp`` and ``cos`` loops by CPU at run
time (on AVX-512 machines they are SVML's), and those loops differ in the
last bit. The simulation's workloads feed such values into ceilings and
comparisons, so one bit changed a whole day's outputs between two machines
(docs/semantics.md, "Determinism across machines"). These functions use
only operations IEEE 754 rounds exactly (+, -, *, /, sqrt, rint, frexp,
ldexp), each as its own NumPy call so nothing is fused, following fdlibm's
algorithms (the polynomials of Sun's e_log.c, e_exp.c, k_cos.c and
k_sin.c): about one unit in the last place from the true value, and the
same bits everywhere.
"""

from __future__ import annotations

import numpy as np

_LN2_HI = 6.93147180369123816490e-01   # ln 2's top 32 bits: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_SQRT_HALF = 0.70710678118654752440
_TWO_PI = 6.28318530717958647692

_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
       2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
       1.479819860511658591e-01)
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
          -1.65339022054652515390e-06, 4.13813679705723846039e-08)
_COS_C = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
          -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)
_SIN_S = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
          2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)


def log(x) -> np.ndarray:
    """Natural logarithm of positive, finite ``x`` (e_log.c's reduction and polynomial)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all((x > 0) & np.isfinite(x)):
        raise ValueError("portable_math.log takes positive finite values only")
    # x = 2^k * m with sqrt(1/2) <= m < sqrt(2); f = m - 1 is exact (Sterbenz).
    m, k = np.frexp(x)
    low = m < _SQRT_HALF
    m = np.where(low, m * 2.0, m)
    k = (k - low).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
    t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
    r = t2 + t1
    half_f_squared = 0.5 * f * f
    return k * _LN2_HI - ((half_f_squared - (s * (half_f_squared + r) + k * _LN2_LO)) - f)


def exp(x) -> np.ndarray:
    """e^x for finite ``x`` with |x| <= 700 (e_exp.c's reduction and rational approximation)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.abs(x) <= 700.0):
        raise ValueError("portable_math.exp takes finite values with |x| <= 700 only")
    k = np.rint(x * _INV_LN2)
    hi = x - k * _LN2_HI        # exact: k * _LN2_HI has at most 52 significant bits
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    p = _EXP_P
    c = r - t * (p[0] + t * (p[1] + t * (p[2] + t * (p[3] + t * p[4]))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return np.ldexp(y, k.astype(np.int32))


def cos_turns(t) -> np.ndarray:
    """cos(2*pi*t) for finite ``t`` (|t| < 2^52): the turns reduce exactly, then k_cos/k_sin."""
    t = np.asarray(t, dtype=np.float64)
    frac = t - np.rint(t)                  # exact, in [-1/2, 1/2]
    quarter = np.rint(4.0 * frac)          # -2 .. 2: which quarter turn
    x = _TWO_PI * (frac - 0.25 * quarter)  # |x| <= pi/4; the subtraction is exact
    z = x * x
    w = z * z
    c = _COS_C
    r = z * (c[0] + z * (c[1] + z * c[2])) + w * w * (c[3] + z * (c[4] + z * c[5]))
    half_z = 0.5 * z
    one_minus = 1.0 - half_z
    cosine = one_minus + (((1.0 - one_minus) - half_z) + z * r)
    s = _SIN_S
    rs = s[1] + z * (s[2] + z * s[3]) + z * w * (s[4] + z * s[5])
    sine = x + (z * x) * (s[0] + z * rs)
    # cos(q*pi/2 + x) for q mod 4 = 0, 1, 2, 3: cos x, -sin x, -cos x, sin x.
    q = quarter.astype(np.int64) % 4
    return np.choose(q, (cosine, -sine, -cosine, sine))
