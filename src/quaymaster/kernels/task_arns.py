"""Task ARNs written straight into an Arrow string buffer (placement results).

Imported on first use by ``quaymaster.placement.result``, so a process that
never builds a placements table never loads Numba.
"""

import numpy as np

from quaymaster.kernels.jit import kernel
from quaymaster.keys import _GAMMA, _M1, _M2

#: The task-id halves are splitmix64 of the sequence and of the sequence xor this
#: (as ``quaymaster.model.tasks.task_id`` makes them, one string at a time).
_LOW_SALT = np.uint64(0xA5A5A5A5A5A5A5A5)


@kernel
def _splitmix64(x):
    # The steps of quaymaster.keys.splitmix64 (uint64 arithmetic wraps).
    x = x + _GAMMA
    z = (x ^ (x >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@kernel
def write_arns(head, sequences, byte_hex, out):
    # Row i is head, then hex(splitmix64(seq)), then hex(splitmix64(seq ^ salt)).
    width = head.shape[0] + 32
    for i in range(sequences.shape[0]):
        at = i * width
        for k in range(head.shape[0]):
            out[at + k] = head[k]
        at += head.shape[0]
        for half in range(2):
            z = _splitmix64(sequences[i] if half == 0 else sequences[i] ^ _LOW_SALT)
            for k in range(8):
                byte = (z >> np.uint64(56 - 8 * k)) & np.uint64(255)
                out[at] = byte_hex[byte, 0]
                out[at + 1] = byte_hex[byte, 1]
                at += 2


@kernel
def write_ids16(sequences, hex16, out16, width16, start16):
    # The 32 hex digits of row i as 16 two-digit pairs at out16[i * width16 + start16 ...]
    # (the ARN's head is written by the caller); hex16[b] holds byte b's two digits.
    for i in range(sequences.shape[0]):
        at = i * width16 + start16
        for half in range(2):
            z = _splitmix64(sequences[i] if half == 0 else sequences[i] ^ _LOW_SALT)
            for k in range(8):
                out16[at + k] = hex16[(z >> np.uint64(56 - 8 * k)) & np.uint64(255)]
            at += 8
