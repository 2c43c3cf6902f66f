"""Seed streams (the region's Decision): splitmix64 streams keyed by what draws.

A key (a service name, ``run-task``, a task's sequence number) is hashed to
64 bits with BLAKE2b, so a stream depends only on the region seed and its own
key: adding an unrelated service changes no other service's draws.
"""

from __future__ import annotations

import hashlib

from quaymaster.keys import splitmix64

_MASK = (1 << 64) - 1
_TWO_53 = float(1 << 53)


def key_hash(*parts) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def stream_value(region_seed: int, *key) -> int:
    """One 64-bit draw of the stream named ``key`` (deterministic, independent per key)."""
    return splitmix64((splitmix64(region_seed & _MASK) ^ key_hash(*key)) & _MASK)


def uniform(region_seed: int, *key) -> float:
    """A float in [0, 1) from the stream named ``key``."""
    return (stream_value(region_seed, *key) >> 11) / _TWO_53


def placement_seed(region_seed: int, n: int) -> int:
    """The seed of the region's n-th placement request: splitmix64(region_seed + n)."""
    return splitmix64((region_seed + n) & _MASK)
