"""The placement engine: one request, from validated input to committed tasks.

Python prepares a :class:`Plan` (prepare.py's arrays and the C structs that
point at them), the C core places the tasks one after another (csrc/place.c),
and the placed tasks are appended to the cluster's task state as one chunk.

A plan is kept in the cluster's caches and reused by the next request of the
same kind (same requirements, group, constraints, strategies). Before reuse it
reads the cluster's change log (model/state_owner.py) since its last request
and repairs what it holds: the group's spread counts move by the tasks that
came and went, the instances that changed go back into (or are re-sifted in)
their cell's heap, drains and status changes refresh the static stages. Only
a change it cannot repair (new instances, an attribute it reads) makes it
start afresh. A new seed keeps the plan as it is (the core derives tie keys
from the seed, and the cell heaps are ordered without them). Reuse is
what makes a run_task call of ten tasks cost microseconds rather than a pass
over every instance: the core's cell index carries over.

When a memberOf expression reads state that placements change
(``runningTasksCount``, ``task:group``), the core places one task per call and
the mask is re-evaluated in between.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from quaymaster.errors import InvalidParameterError
from quaymaster.keys import seed_state
from quaymaster.model.state_owner import ATTRIBUTE, STATUS, instances_view
from quaymaster.native import address, check, ffi, kept_ptr, lib, ptr
from quaymaster.placement import prepare, reasons
from quaymaster.placement.request import PlacementRequest

_KIND = {("binpack", "cpu"): lib.QM_BINPACK_CPU, ("binpack", "memory"): lib.QM_BINPACK_MEMORY,
         ("spread", "instanceId"): lib.QM_SPREAD_INSTANCE, ("random", None): lib.QM_RANDOM}
# Plans kept per cluster: at least this many, more while they fit the byte budget (a plan
# costs about _PLAN_BYTES_PER_INSTANCE per instance once its index is built). A simulation's
# services each have their own kind of request, and one evicted too soon is rebuilt.
_PLANS_KEPT = 64
_PLAN_BUDGET_BYTES = 64 << 20
_PLAN_BYTES_PER_INSTANCE = 40
_KEPT_BUFFER = 1024  # requests up to this many tasks write into buffers kept on the plan
_CHUNK = 1 << 20     # larger requests go to the core a million tasks at a time
# A new plan's first request of this few tasks scans instead of building the cell index: many
# kinds of request (a simulation's hundreds of services) come once and are evicted before they
# come again, so building an index for each would cost more than the scans it saves. The index
# is built at the plan's next request. Scan and index choose the same instance (tested).
_FIRST_REQUEST_SCAN = 16
_DYNAMIC_BATCH = 256  # one-task-per-call requests commit this many tasks at a time
_MAX_PORT = 65535
# The state arrays a plan's structs point at; a plan is used only while they are the same objects.
_STATE_COLUMNS = ("cpu_remaining", "memory_remaining", "gpu_remaining", "eni_limit", "eni_used",
                  "running_tasks")
_UNBUILT_INDEX = bytes(ffi.sizeof("qm_index_state"))  # a new plan's index struct: all zeros


@dataclass
class Outcome:
    """What the core did for one request."""

    positions: np.ndarray       # int64 [placed]
    ports_tcp: np.ndarray       # int32 [placed, tcp ports per task]
    ports_udp: np.ndarray
    failed: bool
    fail_stage: int
    fail_position: int
    fail_counts: np.ndarray | None  # int64 [N_STAGES], when a task failed
    removed: np.ndarray | None  # int64 [N_STAGES] for the first task, when explained
    first_sequence: int = 0     # task ARN sequence number of the first placed task
    task_indexes: np.ndarray | None = None  # set when placed tasks are not 0..placed-1


class Plan:
    """Arrays and C structs for one kind of request on one cluster."""

    def __init__(self, cluster, request: PlacementRequest, prefilter: np.ndarray, fast_paths: bool,
                 kept: bool = True):
        req = request.requirements
        self.request = request
        self.dynamic = request.constraints.dynamic
        self.keep: list = []  # the request's arrays the C structs point at
        self.seed = request.seed
        self.n_strategies = len(request.strategies)
        self.rq = self._request(req, request, fast_paths)
        self.n_tcp = len(req.static_tcp) + req.dynamic_tcp
        self.n_udp = len(req.static_udp) + req.dynamic_udp
        self.result = ffi.new("qm_result *")
        self.index = self._index() if kept else ffi.NULL  # one request: no index to keep
        self._buffers = None
        self.spread_reads = {s.attribute for s in request.strategies if s.attribute is not None}
        self._log_rows, self._flags = ffi.new("qm_log_rows *"), ffi.new("int32_t *")
        self._bind(cluster, prefilter)

    def _bind(self, cluster, prefilter: np.ndarray) -> None:
        """What the plan reads of the cluster, from the cluster as it is now: its live arrays
        and the group's counts, the static stages (``prefilter``, the plan's own copy), the
        memberOf mask and the spread buckets; no index yet and no request answered."""
        state = cluster.state
        self.state = state
        self.group_count = state.group_count(self.request.group)
        self.prefilter = prefilter
        self.member_ok = (prepare.member_mask(state, self.request.constraints) if self.dynamic else
                          prepare.static_member_mask(cluster, self.request.constraints).copy())
        self.bound: list = []  # arrays of this binding the C structs point at (buckets, index)
        self.buckets: list = []  # (bucket, counts) of each spread(attribute) strategy
        self.view = self._instances(state)
        self.strategies = self._strategies(cluster, self.request.strategies)
        self._index_arrays = False  # allocated at the index's first use (many plans never use it)
        self.requests = 0  # requests this plan has answered
        self.arrays = tuple(getattr(state, name) for name in _STATE_COLUMNS)
        self.owner = cluster.owner
        self.log_index = cluster.owner.log.end
        self.group_code_value = cluster.tasks.group_code(self.request.group)

    def rebind(self, cluster, request: PlacementRequest, prefilter: np.ndarray) -> None:
        """Start afresh on the cluster as it is now, exactly as a new plan of ``request``'s
        kind would (same key: same requirements, group, constraints, strategies), keeping
        only what reads the request alone (its C request, result and output buffers).
        Instances registering make every kept plan start afresh; rebinding spares each the
        allocations of a new plan and the freeing of the old one."""
        if self.index != ffi.NULL:  # back to an unbuilt index, its random draw freed
            lib.qm_index_release(self.index)
            ffi.memmove(self.index, _UNBUILT_INDEX, len(_UNBUILT_INDEX))
        self.request = request
        self._bind(cluster, prefilter)
        self.reseed(request.seed)

    def usable(self, cluster) -> bool:
        """Whether this plan still points at the cluster's live arrays (same instances)."""
        state = cluster.state
        return (state is self.state and cluster.owner is self.owner and state.n == self.view.n
                and state.group_counts.get(self.request.group) is self.group_count
                and all(a is getattr(state, name) for a, name in zip(self.arrays, _STATE_COLUMNS)))

    def repair(self, cluster) -> bool:
        """Bring the plan up to date with the changes logged since its last request.

        One core call (``qm_plan_repair``) replays the rows: the group's spread counts
        move, changed positions are repaired in the cell index. Drains and attribute
        changes then refresh the static stage codes (and static memberOf masks) at the
        positions they name. Returns False when a change cannot be repaired here (new
        instances, an attribute the plan spreads by): the caller builds afresh.
        """
        log, log_rows, flags = self.owner.log, self._log_rows, self._flags
        if not log.fill_rows(self.log_index, log_rows):
            return False
        if log_rows.n == 0:
            return True
        spread_ids = np.array([log.attribute_ids.get(a, -1) for a in self.spread_reads], np.int64)
        check(lib.qm_plan_repair(self.index, self.view, self.strategies, self.n_strategies, self.rq, log_rows,
                                 self.group_code_value, address(spread_ids) if len(spread_ids) else ffi.NULL,
                                 len(spread_ids), flags), "qm_plan_repair")
        if flags[0] & lib.QM_REPAIR_REBUILD:
            return False
        moved = None
        if flags[0] & lib.QM_REPAIR_STATIC:  # per-instance verdicts; those positions were re-sifted
            positions, _, _, kinds = log.since(self.log_index)
            changed = positions[(kinds == STATUS) | (kinds == ATTRIBUTE)]
            required = self.request.requirements.required_attributes
            provider, excluded = self.request.capacity_provider, self.request.excluded_attribute
            if len(changed) <= 16:
                for position in changed.tolist():
                    self.prefilter[position] = prepare.prefilter_of(self.state, required, position,
                                                                    provider, excluded)
            else:
                self.prefilter[changed] = prepare.prefilter(self.state, required, provider, excluded, changed)
            if self.request.constraints.member_of and not self.dynamic and (kinds == ATTRIBUTE).any():
                fresh = prepare.static_member_mask(cluster, self.request.constraints)
                moved = np.flatnonzero(fresh != self.member_ok) if self.index.random != ffi.NULL else None
                self.member_ok[:] = fresh
        if self.index.random != ffi.NULL:
            self._repair_draw(log_rows, moved)
        self.log_index = log.end
        return True

    def _repair_draw(self, log_rows, member_moved: np.ndarray | None) -> None:
        """Re-test, for the kept random draw, every position the log names and every one
        whose memberOf verdict moved (after the static stages were refreshed)."""
        positions, n = log_rows.position, log_rows.n
        if member_moved is not None and len(member_moved):
            joined = np.concatenate([np.frombuffer(ffi.buffer(positions, 8 * n), np.int64), member_moved])
            positions, n = address(joined), len(joined)
        check(lib.qm_random_repair(self.index, self.view, self.strategies, self.n_strategies, self.rq,
                                   self.owner.ports.struct, positions, n), "qm_random_repair")

    def reseed(self, seed: int) -> None:
        """Take a new seed. The core derives tie keys from the seed as it reads them and the
        cell heaps do not depend on it, so nothing else changes."""
        if seed != self.seed:
            self.rq.seed_state = seed_state(seed)
            self.seed = seed

    def _instances(self, state):
        view = instances_view(state, self.group_count)
        view.prefilter = ptr(self.prefilter)
        view.member_ok = ptr(self.member_ok)
        view.tie_key = ffi.NULL  # k(p) from the request's seed, in the core
        return view

    def _strategies(self, cluster, strategies):
        structs = ffi.new("qm_strategy[]", max(1, len(strategies)))
        for k, strategy in enumerate(strategies):
            if strategy.attribute is not None:
                bucket, counts = prepare.shared_buckets(cluster, strategy.attribute, self.group_count)
                self.bound += [bucket, counts]
                self.buckets.append((bucket, counts))
                structs[k].kind = lib.QM_SPREAD_ATTRIBUTE
                structs[k].bucket = kept_ptr(bucket)  # shared by the plans until instances change
                structs[k].bucket_count = ptr(counts)
                structs[k].n_buckets = len(counts)
            else:
                structs[k].kind = _KIND[(strategy.type, strategy.field)]
        return structs

    def _request(self, req, request: PlacementRequest, fast_paths: bool):
        static_tcp = np.asarray(req.static_tcp, dtype=np.int32)
        static_udp = np.asarray(req.static_udp, dtype=np.int32)
        self.keep += [static_tcp, static_udp]
        rq = ffi.new("qm_request *")
        rq.cpu, rq.memory, rq.gpu, rq.eni = req.cpu, req.memory, req.gpu, req.eni
        rq.static_tcp, rq.n_static_tcp = ptr(static_tcp), len(static_tcp)
        rq.static_udp, rq.n_static_udp = ptr(static_udp), len(static_udp)
        rq.dynamic_tcp, rq.dynamic_udp = req.dynamic_tcp, req.dynamic_udp
        rq.distinct_instance = int(request.constraints.distinct_instance)
        rq.seed_state = seed_state(request.seed)
        rq.fast_paths = lib.QM_PATH_ALL if fast_paths else 0
        return rq

    def _index(self):
        """The kept index's struct, unbuilt and without its arrays (capacity 0): repairs of an
        unbuilt index change nothing, so the arrays can wait for :meth:`_used_index`."""
        index = ffi.new("qm_index_state *")
        weakref.finalize(self, lib.qm_index_release, index)  # the core's random draw behind it
        return index

    def _used_index(self):
        """The kept index, its arrays allocated (sized for the plan's instances) before the
        core first gets it."""
        if not self._index_arrays and self.index != ffi.NULL:
            n, index = self.view.n, self.index
            arrays = {name: np.zeros(length, dtype) for name, length, dtype in (
                ("heap", n, np.int32), ("slot", n, np.int32), ("cell_of", n, np.int32),
                ("start", n + 1, np.int64), ("size", n + 1, np.int64), ("top_ok", n + 1, np.uint8))}
            for name, array in arrays.items():
                setattr(index, name, ptr(array))
            self.bound += list(arrays.values())
            index.capacity = n
            self._index_arrays = True
        return self.index

    def _outputs(self, count: int):
        """Arrays the core writes the placed tasks to, and their addresses.

        Small requests (the common, latency-bound case) write into buffers
        kept on the plan and get copies; large ones get arrays of their own.
        """
        if count > _KEPT_BUFFER:
            arrays = (np.empty(count, np.int64), np.empty((count, self.n_tcp), np.int32),
                      np.empty((count, self.n_udp), np.int32))
            return arrays, tuple(a.__array_interface__["data"][0] for a in arrays), False
        if self._buffers is None:
            arrays = (np.empty(_KEPT_BUFFER, np.int64), np.empty((_KEPT_BUFFER, self.n_tcp), np.int32),
                      np.empty((_KEPT_BUFFER, self.n_udp), np.int32))
            self._buffers = arrays, tuple(a.__array_interface__["data"][0] for a in arrays)
        return (*self._buffers, True)

    def run(self, cluster, count: int, explain: bool) -> Outcome:
        """Place ``count`` tasks and commit them to the cluster as they are placed.

        Large requests go to the core a chunk at a time and each chunk is
        committed before the next starts, so memory follows the tasks placed
        (not the count asked for) and an error between chunks leaves a
        consistent cluster. Host ports go straight into the cluster's port set,
        grown before a call so that the call's tasks fit. A memberOf that reads
        live state gets one task per call, its mask refreshed in between, and
        commits every few hundred.
        """
        if not self.dynamic and count <= _KEPT_BUFFER and count <= self._most_placeable():
            return self._run_small(cluster, count, explain)
        self.requests += 1
        result, rq, owner = self.result, self.rq, cluster.owner
        granule = _DYNAMIC_BATCH if self.dynamic else min(count, _CHUNK)  # tasks per commit
        per_task = self.n_tcp + self.n_udp
        if self.dynamic:
            self.member_ok[:] = prepare.member_mask(self.state, self.request.constraints)
        removed, parts, pending, done, first_sequence = None, [], [], 0, None
        while done < count:
            step = 1 if self.dynamic else min(count - done, _CHUNK, self._most_placeable())
            if per_task:  # grow with what was placed: the port set follows the tasks, not the count
                step = min(step, max(_KEPT_BUFFER, 2 * done))
            if per_task:
                owner.ports.ensure_room(step * per_task)
            arrays, (at_positions, at_tcp, at_udp), kept = self._outputs(step)
            rq.first_task = done
            result.position = ffi.cast("int64_t *", at_positions)
            result.ports_tcp = ffi.cast("int32_t *", at_tcp)
            result.ports_udp = ffi.cast("int32_t *", at_udp)
            check(lib.qm_place(self.view, self.strategies, self.n_strategies, rq, owner.ports.struct, step,
                               int(self.dynamic), int(explain and done == 0), self._used_index(), result),
                  "qm_place")
            if done == 0 and result.explained:
                removed = np.frombuffer(ffi.buffer(result.removed), dtype=np.int64).copy()
            placed = result.placed
            parts.append(tuple(a[:placed].copy() if kept else a[:placed] for a in arrays))
            pending.append(parts[-1])
            done += placed
            finished = bool(result.failed) or done >= count
            if finished or sum(len(part[0]) for part in pending) >= granule:
                sequence = owner.commit_placed(self.request, *_joined(pending))
                first_sequence = sequence if first_sequence is None else first_sequence
                pending = []
            if finished:
                break
            if self.dynamic:
                self.member_ok[:] = prepare.member_mask(self.state, self.request.constraints)
        positions, ports_tcp, ports_udp = _joined(parts)
        failed = bool(result.failed)
        fail_counts = np.frombuffer(ffi.buffer(result.fail_counts), dtype=np.int64).copy() if failed else None
        return Outcome(positions, ports_tcp, ports_udp, failed, result.fail_stage, result.fail_position,
                       fail_counts, removed, first_sequence or 0)

    def _run_small(self, cluster, count: int, explain: bool) -> Outcome:
        """:meth:`run` of a request that fits the kept buffers in one core call (the
        latency-bound case: one call, one commit, no chunk bookkeeping)."""
        result, owner = self.result, cluster.owner
        if self.n_tcp + self.n_udp:
            owner.ports.ensure_room(count * (self.n_tcp + self.n_udp))
        arrays, (at_positions, at_tcp, at_udp), _ = self._outputs(count)
        index = self._used_index() if self.requests or count > _FIRST_REQUEST_SCAN else ffi.NULL
        self.requests += 1
        self.rq.first_task = 0
        result.position = ffi.cast("int64_t *", at_positions)
        result.ports_tcp = ffi.cast("int32_t *", at_tcp)
        result.ports_udp = ffi.cast("int32_t *", at_udp)
        check(lib.qm_place(self.view, self.strategies, self.n_strategies, self.rq, owner.ports.struct, count,
                           0, int(explain), index, result), "qm_place")
        removed = np.frombuffer(ffi.buffer(result.removed), dtype=np.int64).copy() if result.explained else None
        placed = result.placed
        positions, ports_tcp, ports_udp = (a[:placed].copy() for a in arrays)
        first_sequence = owner.commit_placed(self.request, positions, ports_tcp, ports_udp)
        failed = bool(result.failed)
        fail_counts = np.frombuffer(ffi.buffer(result.fail_counts), dtype=np.int64).copy() if failed else None
        return Outcome(positions, ports_tcp, ports_udp, failed, result.fail_stage, result.fail_position,
                       fail_counts, removed, first_sequence or 0)

    def _most_placeable(self) -> int:
        """An upper bound on the tasks one call can place: with host ports, no instance
        holds more tasks than its 65,535 ports of a protocol allow (so buffers and the
        port set are sized by what can be placed, not by the count asked for)."""
        widest = max(self.n_tcp, self.n_udp)
        if widest == 0:
            return _CHUNK
        return max(1, self.state.n * (_MAX_PORT // widest))


def _plan_for(cluster, request: PlacementRequest, fast_paths: bool) -> Plan:
    """The cluster's kept plan for this kind of request, repaired; or a new one."""
    plans = cluster.caches.plans
    key = (request.requirements, request.group, request.strategies,
           tuple(q.text for q in request.constraints.member_of),
           request.constraints.distinct_instance, request.capacity_provider, request.excluded_attribute,
           fast_paths)
    plan = plans.get(key)
    if plan is not None and plan.usable(cluster) and plan.repair(cluster):
        plan.reseed(request.seed)
        return plan
    static = prepare.shared_prefilter(cluster, request.requirements.required_attributes,
                                      request.capacity_provider, request.excluded_attribute)
    if plan is not None and fast_paths:  # a plain run builds anew: the reference rebinding is tested against
        plan.rebind(cluster, request, static.copy())
    else:
        plan = Plan(cluster, request, static.copy(), fast_paths)
    plans.pop(key, None)
    if len(plans) >= max(_PLANS_KEPT, _PLAN_BUDGET_BYTES // (_PLAN_BYTES_PER_INSTANCE * max(1, cluster.state.n))):
        plans.pop(next(iter(plans)))
    plans[key] = plan
    return plan


def _forget(cluster, plan: Plan) -> None:
    """Drop a kept plan from the cluster's caches (the next request builds afresh)."""
    plans = cluster.caches.plans
    for key in [key for key, kept in plans.items() if kept is plan]:
        del plans[key]


def _joined(parts):
    """Positions and port rows of several placement calls, as one of each."""
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(column) for column in zip(*parts))


MAX_LIVE_TASKS = 1 << 26  # tasks that hold nothing are bounded by this, not by the instances


def check_placeable(cluster, request: PlacementRequest) -> None:
    """Refuse, before anything changes, a request on no instances or one nothing bounds."""
    if cluster.state.n == 0:
        raise InvalidParameterError(reasons.NO_CONTAINER_INSTANCES, field="cluster", value=cluster.name)
    req = request.requirements
    holds_nothing = not (req.cpu or req.memory or req.gpu or req.eni or request.ports_per_task)
    if holds_nothing and cluster.tasks.live_count() + request.count > MAX_LIVE_TASKS:
        raise InvalidParameterError(f"count: {request.count} tasks that hold no resource would take the "
                                    f"cluster past {MAX_LIVE_TASKS} live tasks", field="count",
                                    value=request.count)


def place(cluster, request: PlacementRequest, prefilter: np.ndarray | None = None,
          fast_paths: bool = True, explain: bool = False) -> Outcome:
    """Run a validated EC2/EXTERNAL request against the cluster and commit what was placed.

    ``prefilter`` overrides the static stages (StartTask names its instances);
    such a plan is not kept. ``fast_paths=False`` makes the core scan every
    instance for every task: the plain loop the fast paths are tested against.
    """
    check_placeable(cluster, request)
    if prefilter is None:
        plan = _plan_for(cluster, request, fast_paths)
    else:
        plan = Plan(cluster, request, prefilter, fast_paths, kept=False)
    try:
        outcome = plan.run(cluster, request.count, explain)
    except BaseException:  # what the core kept may describe tasks that were given back
        _forget(cluster, plan)
        raise
    plan.log_index = cluster.owner.log.end  # its own placements are already in what it holds
    cluster.owner.log.trim(cluster.state.n)
    return outcome
