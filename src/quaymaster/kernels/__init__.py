"""Numba kernels. Every kernel is compiled through :func:`quaymaster.kernels.jit.kernel`."""
