"""native.kept_ptr: a pointer converted once per array object is the pointer ptr gives, for
arrays that live on and for new arrays that take a freed array's id()."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quaymaster.native import ffi, kept_ptr, ptr

DTYPES = [np.int64, np.int32, np.uint64, np.uint8, np.int8, np.bool_]


def address_of(pointer) -> int:
    return int(ffi.cast("uintptr_t", pointer))


# Each step: make a new array (of a dtype and length), drop a kept one, or ask for a kept one's
# pointer again. Freed arrays' ids are reused by new ones, which must get their own pointers.
steps = st.lists(st.one_of(
    st.tuples(st.just("new"), st.sampled_from(DTYPES), st.integers(1, 64)),
    st.tuples(st.just("drop"), st.integers(0, 1000)),
    st.tuples(st.just("again"), st.integers(0, 1000)),
), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_kept_pointer_is_the_pointer_of_the_array_as_it_is(operations):
    live: list[np.ndarray] = []
    array = None
    for operation in operations:
        if operation[0] == "new":
            live.append(np.zeros(operation[2], operation[1]))
            array = live[-1]
        elif not live:
            continue
        elif operation[0] == "drop":
            array = None
            live.pop(operation[1] % len(live))   # freed now (no other reference): its id is free
            continue
        else:
            array = live[operation[1] % len(live)]
        pointer = kept_ptr(array)
        assert ffi.typeof(pointer) is ffi.typeof(ptr(array))
        assert address_of(pointer) == address_of(ptr(array)) == array.__array_interface__["data"][0]


def test_a_freed_arrays_id_taken_by_a_new_array_gets_the_new_arrays_pointer():
    seen = set()
    for length in range(1, 200):   # allocate and free until an id comes back
        array = np.zeros(length, np.int64)
        assert address_of(kept_ptr(array)) == array.__array_interface__["data"][0]
        seen.add(id(array))
        del array
    assert len(seen) < 199   # ids were reused: the check above met them
