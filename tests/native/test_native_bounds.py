"""The C core checks what it is handed and answers with a status, never a crash.

Each case builds a valid call to ``qm_place``, breaks one argument, and checks
the status code (and that ``native.check`` turns it into NativeError).
"""

from __future__ import annotations

import numpy as np
import pytest

from quaymaster.errors import NativeError
from quaymaster.keys import splitmix64, seed_state, tie_keys
from quaymaster.native import check, ffi, lib, ptr, version

N = 4


def valid_call():
    """The pieces of a valid call on N empty instances; arrays kept alive in the dict."""
    keep = {
        "prefilter": np.full(N, lib.QM_STAGE_CPU, np.uint8),
        "cpu": np.full(N, 1024, np.int64), "memory": np.full(N, 1024, np.int64),
        "gpu": np.zeros(N, np.int64), "eni_limit": np.full(N, -1, np.int64),
        "eni_used": np.zeros(N, np.int64), "member_ok": np.ones(N, np.uint8),
        "group": np.zeros(N, np.int64), "running": np.zeros(N, np.int64), "tie": tie_keys(0, N),
        "bucket": np.array([0, 1, 0, 1], np.int32), "bucket_count": np.zeros(2, np.int64),
        "static": np.array([80], np.int32), "base": np.empty(0, np.int64),
        "added": np.zeros(64, np.int64), "positions": np.zeros(8, np.int64),
        "tcp": np.zeros(64, np.int32), "udp": np.zeros(64, np.int32),
    }
    view = ffi.new("qm_instances *")
    view.n = N
    for field, key in (("prefilter", "prefilter"), ("cpu_remaining", "cpu"), ("memory_remaining", "memory"),
                       ("gpu_remaining", "gpu"), ("eni_limit", "eni_limit"), ("eni_used", "eni_used"),
                       ("member_ok", "member_ok"), ("group_count", "group"), ("running_tasks", "running"),
                       ("tie_key", "tie")):
        setattr(view, field, ptr(keep[key]))
    strategies = ffi.new("qm_strategy[]", 1)
    strategies[0].kind = lib.QM_SPREAD_ATTRIBUTE
    strategies[0].bucket = ptr(keep["bucket"])
    strategies[0].bucket_count = ptr(keep["bucket_count"])
    strategies[0].n_buckets = 2
    rq = ffi.new("qm_request *")
    rq.cpu, rq.memory = 256, 256
    rq.static_tcp, rq.n_static_tcp = ptr(keep["static"]), 1
    rq.seed_state = seed_state(0)
    rq.fast_paths = lib.QM_PATH_ALL
    ports = ffi.new("qm_ports *")
    ports.base, ports.n_base = ptr(keep["base"]), 0
    ports.added, ports.added_capacity = ptr(keep["added"]), 64
    result = ffi.new("qm_result *")
    result.position = ptr(keep["positions"])
    result.ports_tcp, result.ports_udp = ptr(keep["tcp"]), ptr(keep["udp"])
    return {"view": view, "strategies": strategies, "rq": rq, "ports": ports, "result": result,
            "keep": keep, "count": 4}


def call(c, n_strategies=1):
    return lib.qm_place(c["view"], c["strategies"], n_strategies, c["rq"], c["ports"], c["count"], 0, 1,
                        ffi.NULL, c["result"])


def test_a_valid_call_places_one_task_per_instance_on_port_80():
    c = valid_call()
    assert call(c) == lib.QM_OK
    assert c["result"].placed == 4 and sorted(c["keep"]["positions"][:4]) == [0, 1, 2, 3]
    assert c["keep"]["cpu"].tolist() == [768] * 4


BREAKAGES = {
    "bucket out of range": (lambda c: c["keep"]["bucket"].__setitem__(2, 2), lib.QM_EBOUNDS),
    "negative bucket": (lambda c: c["keep"]["bucket"].__setitem__(0, -1), lib.QM_EBOUNDS),
    "prefilter beyond the resource stages": (lambda c: c["keep"]["prefilter"].__setitem__(1, 9), lib.QM_EINVAL),
    "unknown strategy kind": (lambda c: setattr(c["strategies"][0], "kind", 99), lib.QM_EINVAL),
    "null bucket array": (lambda c: setattr(c["strategies"][0], "bucket", ffi.NULL), lib.QM_ENULL),
    "negative count": (lambda c: c.__setitem__("count", -1), lib.QM_EINVAL),
    "negative instance count": (lambda c: setattr(c["view"], "n", -1), lib.QM_EINVAL),
    "null prefilter": (lambda c: setattr(c["view"], "prefilter", ffi.NULL), lib.QM_ENULL),
    "port 0": (lambda c: c["keep"]["static"].__setitem__(0, 0), lib.QM_EINVAL),
    "port 70000": (lambda c: c["keep"]["static"].__setitem__(0, 70000), lib.QM_EINVAL),
    "negative cpu": (lambda c: setattr(c["rq"], "cpu", -5), lib.QM_EINVAL),
    "eni of 2": (lambda c: setattr(c["rq"], "eni", 2), lib.QM_EINVAL),
    "port set too small": (lambda c: setattr(c["ports"], "added_capacity", 4), lib.QM_ECAPACITY),
    "port set not a power of two": (lambda c: setattr(c["ports"], "added_capacity", 48), lib.QM_ECAPACITY),
    "null port outputs": (lambda c: setattr(c["result"], "ports_tcp", ffi.NULL), lib.QM_ENULL),
    "null positions": (lambda c: setattr(c["result"], "position", ffi.NULL), lib.QM_ENULL),
    "negative base length": (lambda c: setattr(c["ports"], "n_base", -3), lib.QM_EINVAL),
    # 2**16 ports per task times 2**48 tasks is 2**64, which wraps to 0 in a multiplied check.
    "count times ports beyond int64": (lambda c: (setattr(c["rq"], "dynamic_tcp", 65_535),
                                                   c.__setitem__("count", 2**48)), lib.QM_ECAPACITY),
    "more dynamic ports than a protocol has": (lambda c: setattr(c["rq"], "dynamic_tcp", 65_536),
                                               lib.QM_EINVAL),
    "negative ports already added": (lambda c: setattr(c["ports"], "n_added", -1000), lib.QM_ECAPACITY),
    "port set already over half full": (lambda c: setattr(c["ports"], "n_added", 40), lib.QM_ECAPACITY),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_a_broken_argument_is_refused_and_changes_nothing(name):
    c = valid_call()
    before = {k: v.copy() for k, v in c["keep"].items()}
    breakage, status = BREAKAGES[name]
    breakage(c)
    assert call(c) == status
    with pytest.raises(NativeError):
        check(status, "qm_place")
    for key in ("cpu", "memory", "group", "running", "bucket_count", "added"):
        np.testing.assert_array_equal(c["keep"][key], before[key], err_msg=key)


def test_null_structs_are_refused():
    c = valid_call()
    assert lib.qm_place(ffi.NULL, c["strategies"], 1, c["rq"], c["ports"], 1, 0, 0, ffi.NULL,
                        c["result"]) == lib.QM_ENULL
    assert lib.qm_place(c["view"], ffi.NULL, 1, c["rq"], c["ports"], 1, 0, 0, ffi.NULL,
                        c["result"]) == lib.QM_ENULL


def test_a_corrupted_kept_index_is_dropped_not_followed():
    # An index the caller claims is built but whose heap points outside the fleet: the core
    # must rebuild or scan, and still place exactly as without it.
    plain = valid_call()
    plain["rq"].n_static_tcp = 0
    assert call(plain) == lib.QM_OK
    c = valid_call()
    c["rq"].n_static_tcp = 0
    index = ffi.new("qm_index_state *")
    arrays = {name: np.full(length, 7, dtype) for name, length, dtype in (
        ("heap", N, np.int32), ("slot", N, np.int32), ("cell_of", N, np.int32),
        ("start", N + 1, np.int64), ("size", N + 1, np.int64), ("top_ok", N + 1, np.uint8))}
    for name, array in arrays.items():
        setattr(index, name, ptr(array))
    index.capacity, index.n_cells, index.built = N, 2, 1
    status = lib.qm_place(c["view"], c["strategies"], 1, c["rq"], c["ports"], 4, 0, 0, index, c["result"])
    assert status == lib.QM_OK and c["result"].placed == 4
    assert c["keep"]["positions"][:4].tolist() == plain["keep"]["positions"][:4].tolist()


def test_splitmix_and_version_come_from_the_library():
    assert lib.qm_splitmix64(0) == splitmix64(0) == 0xE220A8397B1DCDAF
    assert version().count(".") == 2


def test_eni_count_near_int64_max_does_not_overflow_the_limit_check():
    # eni_used + 1 would wrap to a negative number and pass the ENI stage.
    c = valid_call()
    c["rq"].eni, c["rq"].n_static_tcp = 1, 0
    c["keep"]["eni_limit"][:] = 5
    c["keep"]["eni_used"][:] = 2**63 - 1
    assert call(c) == lib.QM_OK
    assert c["result"].placed == 0 and c["result"].fail_stage == lib.QM_STAGE_ENI


def test_a_static_port_listed_twice_counts_once_against_the_dynamic_range():
    # 16,383 dynamic ports, 16,380 of them taken; static 50000 (free) listed twice leaves
    # 16,382 - 16,380 = 2 for dynamic mappings, as the walk of the range finds.
    c = valid_call()
    taken = [p for p in range(49153, 65536) if p not in (50000, 60000, 60001)]
    base = np.array(sorted((i << 17) | p for i in range(N) for p in taken), np.int64)
    static = np.array([50000, 50000], np.int32)
    c["keep"].update(base=base, static=static)
    c["ports"].base, c["ports"].n_base = ptr(base), len(base)
    c["rq"].static_tcp, c["rq"].n_static_tcp, c["rq"].dynamic_tcp = ptr(static), 2, 2
    c["count"] = 1
    assert call(c) == lib.QM_OK
    assert c["result"].placed == 1
    assert c["keep"]["tcp"][:4].tolist() == [50000, 50000, 60000, 60001]
