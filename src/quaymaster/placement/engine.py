"""The placement engine: one request, from validated input to committed tasks.

Python prepares the arrays once per request (prepare.py), the C core places
the tasks one after another (csrc/place.c), and the placed tasks are appended
to the cluster's task state as one chunk. When a memberOf expression reads
state that placements change (``runningTasksCount``, ``task:group``), the core
places one task per call and the mask is re-evaluated in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quaymaster.errors import InvalidParameterError
from quaymaster.keys import seed_state
from quaymaster.model.tasks import STATUS_INDEX, TaskChunk
from quaymaster.model.cluster import TCP, UDP, port_key
from quaymaster.native import check, ffi, lib, ptr
from quaymaster.placement import prepare, reasons
from quaymaster.placement.request import PlacementRequest

_KIND = {("binpack", "cpu"): lib.QM_BINPACK_CPU, ("binpack", "memory"): lib.QM_BINPACK_MEMORY,
         ("spread", "instanceId"): lib.QM_SPREAD_INSTANCE, ("random", None): lib.QM_RANDOM}
PLACED_STATUS = STATUS_INDEX["PENDING"]  # what RunTask reports for a task it just placed


@dataclass
class Outcome:
    """What the core did for one request."""

    positions: np.ndarray       # int64 [placed]
    ports_tcp: np.ndarray       # int32 [placed, tcp ports per task]
    ports_udp: np.ndarray
    failed: bool
    fail_stage: int
    fail_position: int
    fail_counts: np.ndarray     # int64 [N_STAGES]
    removed: np.ndarray         # int64 [N_STAGES], summed over tasks
    first_sequence: int = 0     # task ARN sequence number of the first placed task
    task_indexes: np.ndarray | None = None  # set when placed tasks are not 0..placed-1


def _strategy_structs(state, strategies, group_count, keep_alive: list):
    structs = ffi.new("qm_strategy[]", max(1, len(strategies)))
    for k, strategy in enumerate(strategies):
        if strategy.attribute is not None:
            bucket, counts = prepare.spread_buckets(state, strategy.attribute, group_count)
            keep_alive += [bucket, counts]
            structs[k].kind = lib.QM_SPREAD_ATTRIBUTE
            structs[k].bucket = ptr(bucket)
            structs[k].bucket_count = ptr(counts)
            structs[k].n_buckets = len(counts)
        else:
            structs[k].kind = _KIND[(strategy.type, strategy.field)]
    return structs


def _request_struct(requirements, distinct: bool, seed: int, keep_alive: list, fast_paths: bool = True):
    static_tcp = np.asarray(requirements.static_tcp, dtype=np.int32)
    static_udp = np.asarray(requirements.static_udp, dtype=np.int32)
    keep_alive += [static_tcp, static_udp]
    rq = ffi.new("qm_request *")
    rq.cpu, rq.memory, rq.gpu, rq.eni = (requirements.cpu, requirements.memory,
                                         requirements.gpu, requirements.eni)
    rq.static_tcp, rq.n_static_tcp = ptr(static_tcp), len(static_tcp)
    rq.static_udp, rq.n_static_udp = ptr(static_udp), len(static_udp)
    rq.dynamic_tcp, rq.dynamic_udp = requirements.dynamic_tcp, requirements.dynamic_udp
    rq.distinct_instance = int(distinct)
    rq.seed_state = seed_state(seed)
    rq.fast_paths = lib.QM_PATH_ALL if fast_paths else 0
    return rq


def _instances_struct(state, prefilter, member_ok, group_count, tie):
    view = ffi.new("qm_instances *")
    view.n = state.n
    view.prefilter = ptr(prefilter)
    view.cpu_remaining = ptr(state.cpu_remaining)
    view.memory_remaining = ptr(state.memory_remaining)
    view.gpu_remaining = ptr(state.gpu_remaining)
    view.eni_limit = ptr(state.eni_limit)
    view.eni_used = ptr(state.eni_used)
    view.member_ok = ptr(member_ok)
    view.group_count = ptr(group_count)
    view.running_tasks = ptr(state.running_tasks)
    view.tie_key = ptr(tie)
    return view


def run_core(cluster, request: PlacementRequest, prefilter: np.ndarray, fast_paths: bool = True) -> Outcome:
    """Place the request's tasks with the C core; state is mutated in place.

    ``fast_paths=False`` makes the core scan every instance for every task: the
    plain per-task loop the fast paths are tested against.
    """
    state, req = cluster.state, request.requirements
    count = request.count
    group_count = state.group_count(request.group)
    member_ok = prepare.member_mask(state, request.constraints)
    keep_alive: list = [prefilter, member_ok]
    view = _instances_struct(state, prefilter, member_ok, group_count,
                             prepare.cached_tie_keys(cluster, request.seed))
    strategies = _strategy_structs(state, request.strategies, group_count, keep_alive)
    rq = _request_struct(req, request.constraints.distinct_instance, request.seed, keep_alive, fast_paths)

    n_tcp = len(req.static_tcp) + req.dynamic_tcp
    n_udp = len(req.static_udp) + req.dynamic_udp
    base = cluster.port_keys() if n_tcp + n_udp else np.empty(0, dtype=np.int64)
    added = np.zeros(prepare.next_power_of_two(2 * count * (n_tcp + n_udp) + 1)
                     if n_tcp + n_udp else 0, dtype=np.int64)
    ports = ffi.new("qm_ports *")
    ports.base, ports.n_base = ptr(base), len(base)
    ports.added, ports.added_capacity = ptr(added), len(added)

    positions = np.empty(count, dtype=np.int64)
    ports_tcp = np.zeros((count, n_tcp), dtype=np.int32)
    ports_udp = np.zeros((count, n_udp), dtype=np.int32)
    result = ffi.new("qm_result *")
    dynamic = request.constraints.dynamic
    done = 0
    while done < count:
        rq.first_task = done
        result.position = ptr(positions[done:])
        result.ports_tcp = ptr(ports_tcp[done:].reshape(-1))
        result.ports_udp = ptr(ports_udp[done:].reshape(-1))
        check(lib.qm_place(view, strategies, len(request.strategies), rq, ports, count - done,
                           int(dynamic), result), "qm_place")
        done += result.placed
        if result.failed:
            break
        if dynamic and done < count:
            member_ok[:] = prepare.member_mask(state, request.constraints)
    return Outcome(positions[:done], ports_tcp[:done], ports_udp[:done], bool(result.failed),
                   result.fail_stage, result.fail_position,
                   np.frombuffer(ffi.buffer(result.fail_counts), dtype=np.int64).copy(),
                   np.frombuffer(ffi.buffer(result.removed), dtype=np.int64).copy())


def commit(cluster, request: PlacementRequest, outcome: Outcome) -> None:
    """Append the placed tasks to the cluster's task state (counters are already updated)."""
    placed = len(outcome.positions)
    if placed == 0:
        return
    req = request.requirements
    tcp_width, udp_width = outcome.ports_tcp.shape[1], outcome.ports_udp.shape[1]
    outcome.first_sequence = cluster.tasks.reserve_sequence(placed)

    def same(value, dtype, length=placed):
        # Every task of a request holds the same: a read-only stride-0 view, not a copy.
        return np.broadcast_to(np.asarray(value, dtype=dtype), (length,))

    def offsets(width):
        if width == 0:
            return same(0, np.int64, placed + 1)
        return np.arange(placed + 1, dtype=np.int64) * width

    cluster.tasks.add(TaskChunk(
        instance_pos=outcome.positions,
        group_code=same(cluster.tasks.group_code(request.group), np.int32),
        cpu=same(req.cpu, np.int64), memory=same(req.memory, np.int64),
        gpu=same(req.gpu, np.int64), eni=same(req.eni, np.int64),
        daemon=same(False, np.bool_), status=same(PLACED_STATUS, np.int8),
        tcp_offsets=offsets(tcp_width),
        tcp_ports=outcome.ports_tcp.reshape(-1),
        udp_offsets=offsets(udp_width),
        udp_ports=outcome.ports_udp.reshape(-1),
        seq_start=outcome.first_sequence,
    ))
    if tcp_width + udp_width:
        new_keys = np.concatenate([
            port_key(np.repeat(outcome.positions, tcp_width), TCP, outcome.ports_tcp.reshape(-1)),
            port_key(np.repeat(outcome.positions, udp_width), UDP, outcome.ports_udp.reshape(-1))])
        cluster._merge_port_keys(new_keys)


def place(cluster, request: PlacementRequest, prefilter: np.ndarray | None = None,
          fast_paths: bool = True) -> Outcome:
    """Run a validated EC2/EXTERNAL request against the cluster and commit what was placed."""
    if cluster.state.n == 0:
        raise InvalidParameterError(reasons.NO_CONTAINER_INSTANCES, field="cluster", value=cluster.name)
    if prefilter is None:
        prefilter = prepare.prefilter(cluster.state, request.requirements.required_attributes)
    outcome = run_core(cluster, request, prefilter, fast_paths)
    commit(cluster, request, outcome)
    return outcome
