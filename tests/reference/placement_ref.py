"""A naive, obviously-right reference of task placement (spec: placement.md).

Pure Python, one task at a time, one instance at a time, written straight from
the spec so the native engine can be checked against it on random inputs.
Nothing here is fast on purpose. Nothing here imports the engine: only the
library's exception classes (so both refuse bad input with the same types),
and memberOf goes through the CQL reference ``cql_ref`` (which shares the
library's parser and builds a row's static part with its schema coercion).

Where the spec is terse, the choices made here (each one is also in the
docstring of the function that makes it):

- A null entry in an optional instance column means the column's default
  (``status`` ACTIVE, ``agent_connected`` true, ``gpu_registered`` 0,
  ``reserved_ports`` the agent's five, ``reserved_ports_udp`` empty,
  ``eni_limit`` no limit, ``*_remaining`` derived from the live tasks).
- Every row of the tasks table is a live task (the spec keeps STOPPED tasks
  out of it). A task whose ``ec2_instance_id`` is null (Fargate) is on no
  instance: it holds nothing on any instance and counts for no spread.
- The ENI stage only concerns tasks that need an ENI: it passes when the task
  needs none, else when ``eni_in_use + eni <= eni_limit`` (``eni_in_use`` =
  the sum of the live tasks' ``eni`` on the instance).
- A placed task's ``host_ports`` are its static ports in request order, then
  its dynamic ports in ascending order; the same for UDP. A request's static
  ports are taken to be distinct (the task definition parser's job).
- With ACTIVE instances absent but the table not empty, every task fails with
  reason ``NO ACTIVE INSTANCES``, arn None and detail
  ``0 of N instances: N not ACTIVE``. An empty table raises ClientError.
- memberOf expressions are evaluated once on instance 0 before anything is
  placed, so a bad one is refused even if no instance reaches that stage.
- Scale-in: see :func:`choose_scale_in_reference`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from quaymaster.errors import ClientError, InvalidParameterError

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- keys (section 6)

def splitmix64(x: int) -> int:
    """splitmix64 with every step reduced modulo 2^64 (Python ints, so exact)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def tie_key(seed: int, position: int) -> int:
    """k(p) = splitmix64(s ^ p), s = splitmix64(seed)."""
    return splitmix64(splitmix64(seed & MASK64) ^ position)


def random_draw(seed: int, t: int) -> int:
    """r(t) = splitmix64(s + t + 1), the sum modulo 2^64."""
    return splitmix64((splitmix64(seed & MASK64) + t + 1) & MASK64)


def random_index(seed: int, t: int, n: int) -> int:
    """j(t, n) = (r(t) * n) >> 64: the exact 128-bit product's high word."""
    return (random_draw(seed, t) * n) >> 64


DEFAULT_RESERVED_PORTS = (22, 2375, 2376, 51678, 51679)
DYNAMIC_PORT_FIRST, DYNAMIC_PORT_LAST = 49153, 65535
DEFAULT_REGION, DEFAULT_ACCOUNT, DEFAULT_CLUSTER = "us-east-1", "000000000000", "default"
ATTRIBUTE_PREFIX = "attribute:"

# The nine stages of placement.md section 4, in order; a stage's index is its
# position here, and its failure reason is the string.
AGENT, ATTRIBUTE, CPU, MEMORY, GPU, ENI, PORTS, MEMBER_OF, DISTINCT = range(9)
REASONS = ("AGENT", "ATTRIBUTE", "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:GPU", "RESOURCE:ENI",
           "RESOURCE:PORTS", "MemberOf placement constraint unsatisfied.",
           "DistinctInstance placement constraint unsatisfied.")
PASSED = len(REASONS)
NO_ACTIVE_INSTANCES = "NO ACTIVE INSTANCES"
NO_INSTANCES_MESSAGE = "No Container Instances were found in your cluster."

#: The default chain of a service (section 6) and of scale-in (section 7).
DEFAULT_SERVICE_STRATEGY = ({"type": "spread", "field": "attribute:ecs.availability-zone"},
                            {"type": "spread", "field": "instanceId"})


@dataclass
class InstanceState:
    """One instance as the placement sees it, updated as tasks are placed."""

    position: int
    ec2_instance_id: str
    arn: str
    status: str
    agent_connected: bool
    attributes: dict[str, str]                   # only the attributes the instance has
    remaining: dict[str, int]                    # "cpu", "memory", "gpu"
    eni_limit: int | None                        # None: no limit
    eni_in_use: int                              # ENIs the live tasks hold
    reserved_tcp: set[int]                       # reserved ports and live tasks' ports
    reserved_udp: set[int]
    running_tasks: int = 0
    group_counts: Counter = field(default_factory=Counter)


@dataclass
class RefResult:
    """What :func:`place_reference` returns (see its docstring)."""

    placements: list[dict]
    failures: list[dict]
    instances_after: pa.Table
    tasks_after: list[dict]


# ---------------------------------------------------------------- loading

def _value(row: dict, name: str, default):
    value = row.get(name)
    return default if value is None else value


def normalize_task(row: dict) -> dict:
    """A tasks-table row with every column present and its default applied."""
    defaults = {"cpu": 0, "memory": 0, "gpu": 0, "eni": 0, "host_ports": [], "host_ports_udp": [],
                "last_status": "RUNNING", "daemon": False}
    task = {"task_arn": row["task_arn"], "ec2_instance_id": row.get("ec2_instance_id"), "group": row["group"]}
    task.update({name: _value(row, name, default) for name, default in defaults.items()})
    task["host_ports"], task["host_ports_udp"] = list(task["host_ports"]), list(task["host_ports_udp"])
    return task


def _instance_state(position: int, row: dict, held: list[dict]) -> InstanceState:
    """Defaults of section 1; remaining = registered - holdings unless given."""
    instance_id = row["ec2_instance_id"]
    registered = {"cpu": row["cpu_registered"], "memory": row["memory_registered"],
                  "gpu": _value(row, "gpu_registered", 0)}
    remaining = {key: _value(row, f"{key}_remaining", registered[key] - sum(t[key] for t in held))
                 for key in registered}
    reserved_tcp = set(_value(row, "reserved_ports", DEFAULT_RESERVED_PORTS))
    reserved_udp = set(_value(row, "reserved_ports_udp", ()))
    for task in held:
        reserved_tcp.update(task["host_ports"])
        reserved_udp.update(task["host_ports_udp"])
    default_arn = (f"arn:aws:ecs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:container-instance/"
                   f"{DEFAULT_CLUSTER}/{instance_id}")
    return InstanceState(
        position=position, ec2_instance_id=instance_id,
        arn=_value(row, "container_instance_arn", default_arn),
        status=_value(row, "status", "ACTIVE"),
        agent_connected=bool(_value(row, "agent_connected", True)),
        attributes={name[len(ATTRIBUTE_PREFIX):]: value for name, value in row.items()
                    if name.startswith(ATTRIBUTE_PREFIX) and value is not None},
        remaining=remaining, eni_limit=row.get("eni_limit"),
        eni_in_use=sum(t["eni"] for t in held),
        reserved_tcp=reserved_tcp, reserved_udp=reserved_udp,
        running_tasks=len(held), group_counts=Counter(t["group"] for t in held))


def load_state(instances: pa.Table, tasks: pa.Table | None) -> tuple[list[InstanceState], list[dict]]:
    """The instances (by position) and the live tasks (by row) of the two tables."""
    live = [normalize_task(r) for r in tasks.to_pylist()] if tasks is not None else []
    held_by: dict[str, list[dict]] = {}
    for task in live:
        if task["ec2_instance_id"] is not None:
            held_by.setdefault(task["ec2_instance_id"], []).append(task)
    states = [_instance_state(p, row, held_by.get(row["ec2_instance_id"], []))
              for p, row in enumerate(instances.to_pylist())]
    return states, live


def instances_after_table(instances: pa.Table, states: list[InstanceState]) -> pa.Table:
    """The instance table with the defaults filled and the live state written in.

    ``*_remaining`` hold what is left, ``reserved_ports*`` the sorted union of
    the reserved ports and the live tasks' ports. Fed back to
    :func:`place_reference` with ``tasks_after`` it describes the same state.
    """
    columns = {name: instances.column(name) for name in instances.column_names}
    columns["container_instance_arn"] = pa.array([s.arn for s in states], pa.string())
    columns["status"] = pa.array([s.status for s in states], pa.string())
    columns["agent_connected"] = pa.array([s.agent_connected for s in states], pa.bool_())
    for key in ("cpu", "memory", "gpu"):
        columns[f"{key}_remaining"] = pa.array([s.remaining[key] for s in states], pa.int64())
    columns["reserved_ports"] = pa.array([sorted(s.reserved_tcp) for s in states], pa.list_(pa.int32()))
    columns["reserved_ports_udp"] = pa.array([sorted(s.reserved_udp) for s in states],
                                             pa.list_(pa.int32()))
    return pa.table(columns)


# ---------------------------------------------------------------- requests

def _valid_rule(kind, name) -> bool:
    if kind == "binpack":
        return name in ("cpu", "memory")
    if kind == "spread":
        return isinstance(name, str) and (name in ("instanceId", "host") or (
            name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)))
    return kind == "random" and name is None


def validate_strategy(strategy) -> list[dict]:
    """The chain of section 6, refused as ECS would on an unknown type or field."""
    chain = []
    for index, item in enumerate(strategy or ()):
        kind, name = item.get("type"), item.get("field")
        if not _valid_rule(kind, name):
            where = f"placementStrategy[{index}]"
            raise InvalidParameterError(f"{where}: invalid strategy type {kind!r} with field {name!r}",
                                        field=where, value=item)
        chain.append({"type": kind, "field": name})
    return chain


def check_seed(seed) -> None:
    """A seed is an unsigned 64-bit integer (section 3)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MASK64:
        raise InvalidParameterError(f"seed must be an unsigned 64-bit integer, found {seed!r}",
                                    field="seed", value=seed)


def normalize_request(request: dict) -> dict:
    """The request with every key present (defaults: nothing needed, count 1)."""
    req = {"cpu": 0, "memory": 0, "gpu": 0, "eni": 0, "static_tcp": [], "static_udp": [],
           "dynamic_tcp": 0, "dynamic_udp": 0, "required_attributes": [], "member_of": [],
           "distinct_instance": False, "count": 1, "strategy": []}
    req.update({k: v for k, v in request.items() if v is not None})
    if "group" not in req:
        raise InvalidParameterError("the request has no group", field="group", value=None)
    if not isinstance(req["count"], int) or req["count"] < 1:
        raise InvalidParameterError(f"count must be >= 1, found {req['count']!r}",
                                    field="count", value=req["count"])
    req["strategy"] = validate_strategy(req["strategy"])
    return req


# ---------------------------------------------------------------- stages

def _ports_for(static: list[int], dynamic: int, reserved: set[int]) -> list[int] | None:
    """Static ports must be free; each dynamic mapping takes the lowest free
    port of 49153..65535 once the task's own static and earlier dynamic ports
    are taken. None when either fails."""
    if any(port in reserved for port in static):
        return None
    taken = reserved | set(static)
    dynamic_ports = []
    port = DYNAMIC_PORT_FIRST
    while len(dynamic_ports) < dynamic:
        if port > DYNAMIC_PORT_LAST:
            return None
        if port not in taken:
            dynamic_ports.append(port)
        port += 1
    return list(static) + dynamic_ports


def host_ports(inst: InstanceState, req: dict) -> tuple[list[int], list[int]] | None:
    """The (tcp, udp) host ports the task would take on the instance, or None."""
    tcp = _ports_for(req["static_tcp"], req["dynamic_tcp"], inst.reserved_tcp)
    udp = _ports_for(req["static_udp"], req["dynamic_udp"], inst.reserved_udp)
    return None if tcp is None or udp is None else (tcp, udp)


def _has_attributes(inst: InstanceState, required) -> bool:
    return all(name in inst.attributes and (value is None or inst.attributes[name] == value)
               for name, value in required)


def stage_reached(inst: InstanceState, req: dict, member_of) -> int:
    """The index of the first stage the ACTIVE instance fails, PASSED if none.

    ``member_of(inst)`` tells whether every memberOf expression holds.
    """
    if not inst.agent_connected:
        return AGENT
    if not _has_attributes(inst, req["required_attributes"]):
        return ATTRIBUTE
    for stage, key in ((CPU, "cpu"), (MEMORY, "memory"), (GPU, "gpu")):
        if inst.remaining[key] < req[key]:
            return stage
    if req["eni"] and inst.eni_limit is not None and inst.eni_in_use + req["eni"] > inst.eni_limit:
        return ENI
    if host_ports(inst, req) is None:
        return PORTS
    if req["member_of"] and not member_of(inst):
        return MEMBER_OF
    if req["distinct_instance"] and inst.group_counts[req["group"]] > 0:
        return DISTINCT
    return PASSED


class MemberOfRows:
    """CQL rows of the live state for cql_ref's ``evaluate(expression, row)``.

    The static part of a row (id, attributes, agent, registration time) comes
    from ``cql_ref.rows_from_tables`` once; ``runningTasksCount`` and
    ``groups`` (``task:group``) are read from the live state at each
    evaluation, so they see the tasks placed earlier in the same request.
    """

    def __init__(self, instances: pa.Table):
        from reference import cql_ref  # the other helper's CQL reference
        self._evaluate = cql_ref.evaluate
        self._static = cql_ref.rows_from_tables(instances, None)

    def row(self, inst: InstanceState) -> dict:
        return {**self._static[inst.position], "runningTasksCount": inst.running_tasks,
                "groups": {group for group, count in inst.group_counts.items() if count > 0}}

    def all_hold(self, expressions, inst: InstanceState) -> bool:
        row = self.row(inst)
        return all(self._evaluate(expression, row) for expression in expressions)

    def validate(self, expressions, inst: InstanceState) -> None:
        """Evaluate every expression once (no short cut), so a bad one raises
        before anything is placed, even if no instance reaches the stage."""
        row = self.row(inst)
        for expression in expressions:
            self._evaluate(expression, row)


# ---------------------------------------------------------------- strategies

def _attribute_buckets(states: list[InstanceState], name: str, group: str) -> Counter:
    """Live tasks of the group per value of the attribute over ALL instances
    (whatever their status); instances lacking it share the bucket None."""
    buckets: Counter = Counter()
    for inst in states:
        buckets[inst.attributes.get(name)] += inst.group_counts[group]
    return buckets


def _placement_score(rule: dict, states: list[InstanceState], group: str):
    """A function instance -> number, smaller is better, for one strategy."""
    kind, name = rule["type"], rule["field"]
    if kind == "binpack":
        return lambda inst: inst.remaining[name]
    if name in ("instanceId", "host"):
        return lambda inst: inst.group_counts[group]
    attribute = name[len(ATTRIBUTE_PREFIX):]
    buckets = _attribute_buckets(states, attribute, group)
    return lambda inst: buckets[inst.attributes.get(attribute)]


def choose_instance(feasible: list[InstanceState], chain: list[dict], states: list[InstanceState],
                    group: str, seed: int, t: int) -> InstanceState:
    """Apply the strategies in order (each keeps its best), random ends the
    chain, then the smallest tie key k(p) wins. An empty chain is random."""
    survivors = sorted(feasible, key=lambda inst: inst.position)
    for rule in chain or [{"type": "random", "field": None}]:
        if rule["type"] == "random":
            return survivors[random_index(seed, t, len(survivors))]
        score = _placement_score(rule, states, group)
        best = min(score(inst) for inst in survivors)
        survivors = [inst for inst in survivors if score(inst) == best]
    return min(survivors, key=lambda inst: tie_key(seed, inst.position))


# ---------------------------------------------------------------- failures

def no_active_failure(total: int) -> dict:
    """The failure when the table has instances but none is ACTIVE."""
    return {"reason": NO_ACTIVE_INSTANCES, "arn": None,
            "detail": f"0 of {total} instances: {total} not ACTIVE"}


def failure_of(states: list[InstanceState], reached: dict[int, int], seed: int) -> dict:
    """Reason = latest stage any candidate reached; arn = smallest k(p) among
    the candidates stopped there; detail counts every stage in order."""
    latest = max(reached.values())
    closest = min((p for p, stage in reached.items() if stage == latest),
                  key=lambda p: tie_key(seed, p))
    stopped = Counter(reached.values())
    parts = []
    not_active = len(states) - len(reached)
    if not_active:
        parts.append(f"{not_active} not ACTIVE")
    parts += [f"{stopped[stage]} {REASONS[stage]}" for stage in range(len(REASONS)) if stopped[stage]]
    return {"reason": REASONS[latest], "arn": states[closest].arn,
            "detail": f"0 of {len(states)} instances: " + ", ".join(parts)}


# ---------------------------------------------------------------- placing

def _new_task(req: dict, inst: InstanceState, ports, live: list[dict], t: int) -> dict:
    arns = {task["task_arn"] for task in live}
    arn = f"arn:aws:ecs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:task/{DEFAULT_CLUSTER}/reference-{len(live)}-{t}"
    while arn in arns:
        arn += "x"
    return {"task_arn": arn, "ec2_instance_id": inst.ec2_instance_id, "group": req["group"],
            "cpu": req["cpu"], "memory": req["memory"], "gpu": req["gpu"],
            "host_ports": ports[0], "host_ports_udp": ports[1], "last_status": "RUNNING",
            "daemon": False, "eni": req["eni"]}


def _apply(inst: InstanceState, task: dict) -> None:
    """What a placed task takes: resources, ports, an ENI, a running slot, a group member."""
    for key in ("cpu", "memory", "gpu"):
        inst.remaining[key] -= task[key]
    inst.reserved_tcp.update(task["host_ports"])
    inst.reserved_udp.update(task["host_ports_udp"])
    inst.eni_in_use += task["eni"]
    inst.running_tasks += 1
    inst.group_counts[task["group"]] += 1


def place_reference(instances: pa.Table, tasks: pa.Table | None, request: dict,
                    seed: int = 0) -> RefResult:
    """Place ``request["count"]`` tasks one after another (placement.md sections 3-6).

    ``request`` holds plain requirements: cpu, memory, gpu, eni (0/1),
    static_tcp, static_udp (lists), dynamic_tcp, dynamic_udp (counts),
    required_attributes ([[name, value or None]]), member_of (CQL strings),
    distinct_instance, count, group, strategy ([{"type", "field"}], empty =
    random). Returns placements ``{task_index, position, ec2_instance_id,
    host_ports, host_ports_udp}``, failures ``{task_index, reason, arn,
    detail}``, the instance table after (:func:`instances_after_table`) and
    the live tasks after (the given ones, then the placed ones).

    Once a task fails, the later tasks of the request fail with the same
    reason, arn and detail (the spec's Decision). With no ACTIVE instance the
    failure is ``NO ACTIVE INSTANCES`` with arn None and detail ``0 of N
    instances: N not ACTIVE``; an empty instance table raises ClientError.
    """
    req = normalize_request(request)
    check_seed(seed)
    if instances.num_rows == 0:
        raise ClientError(NO_INSTANCES_MESSAGE, field="instances", value=0)
    states, live = load_state(instances, tasks)
    rows = MemberOfRows(instances) if req["member_of"] else None
    if rows is not None:
        rows.validate(req["member_of"], states[0])
    member_of = (lambda inst: rows.all_hold(req["member_of"], inst)) if rows else None
    candidates = [inst for inst in states if inst.status == "ACTIVE"]
    placements, failures, failed = [], [], None
    for t in range(req["count"]):
        if failed is None and not candidates:
            failed = no_active_failure(len(states))
        if failed is None:
            reached = {inst.position: stage_reached(inst, req, member_of) for inst in candidates}
            feasible = [states[p] for p, stage in reached.items() if stage == PASSED]
            if not feasible:
                failed = failure_of(states, reached, seed)
        if failed is not None:
            failures.append({"task_index": t, **failed})
            continue
        inst = choose_instance(feasible, req["strategy"], states, req["group"], seed, t)
        ports = host_ports(inst, req)
        task = _new_task(req, inst, ports, live, t)
        _apply(inst, task)
        live.append(task)
        placements.append({"task_index": t, "position": inst.position,
                           "ec2_instance_id": inst.ec2_instance_id,
                           "host_ports": ports[0], "host_ports_udp": ports[1]})
    return RefResult(placements, failures, instances_after_table(instances, states), live)


# ---------------------------------------------------------------- scale-in (section 7)

def _scale_in_value(rule: dict, task: dict, states_by_id: dict[str, InstanceState]):
    """The task's value of a spread field; the tasks on no instance (Fargate) share one of their own."""
    inst = states_by_id[task["ec2_instance_id"]]
    if inst.ec2_instance_id is None:
        return ("no instance",)
    if rule["field"] in ("instanceId", "host"):
        return ("instance", inst.position)
    return ("attribute", inst.attributes.get(rule["field"][len(ATTRIBUTE_PREFIX):]))


def _scale_in_score(rule: dict, task: dict, states_by_id: dict[str, InstanceState],
                    service_tasks: list[dict]):
    """The number a strategy maximises for one task (bigger is better)."""
    if rule["type"] == "binpack":
        left = states_by_id[task["ec2_instance_id"]].remaining[rule["field"]]
        return left + task[rule["field"]]  # what its instance has left once it stops
    value = _scale_in_value(rule, task, states_by_id)
    return sum(1 for other in service_tasks if _scale_in_value(rule, other, states_by_id) == value)


def _choose_victim(pool: list[tuple[int, dict]], chain: list[dict], states_by_id, service_tasks,
                   seed: int, t: int) -> tuple[int, dict]:
    survivors = sorted(pool, key=lambda item: item[0])
    for rule in chain:
        if rule["type"] == "random":
            return survivors[random_index(seed, t, len(survivors))]
        scores = [_scale_in_score(rule, task, states_by_id, service_tasks) for _, task in survivors]
        best = max(scores)
        survivors = [item for item, score in zip(survivors, scores) if score == best]
    return min(survivors, key=lambda item: tie_key(seed, item[0]))


def choose_scale_in_reference(instances: pa.Table, tasks: pa.Table | None, service_group: str,
                              strategy, count: int, seed: int = 0) -> list[str]:
    """The ARNs of the ``count`` tasks of ``service_group`` to stop, in order (section 7).

    One task at a time, each choice seeing the earlier ones stopped (their
    resources back on the instance, gone from the counts). Non-daemon tasks
    first; daemon tasks only once none other is left. ``strategy`` (empty or
    None = spread(attribute:ecs.availability-zone) then spread(instanceId)) is
    applied to the tasks: binpack keeps those on the instance that will have
    the most of the field left, spread those whose value has the most live
    tasks of the service (counted over every live task of the group, daemon or
    not; instances lacking the attribute share one value), random picks index
    j(t, n) of the survivors sorted by row q (t = tasks stopped so far); then
    the smallest k(q) wins. Asking for more tasks than the group has returns
    them all. The tasks on no instance (Fargate) count as on one pseudo
    instance of their own, apart from every real one (and from "attribute
    missing"), with nothing remaining at first; stopping one of them frees its
    holding there, as on a real instance.
    """
    chain = validate_strategy(strategy) or [dict(rule) for rule in DEFAULT_SERVICE_STRATEGY]
    check_seed(seed)
    if count < 0:
        raise InvalidParameterError(f"count must be >= 0, found {count}", field="count", value=count)
    states, live = load_state(instances, tasks)
    states_by_id: dict = {inst.ec2_instance_id: inst for inst in states}
    states_by_id[None] = InstanceState(  # the Fargate pseudo instance
        position=-1, ec2_instance_id=None, arn="", status="", agent_connected=False, attributes={},
        remaining={"cpu": 0, "memory": 0, "gpu": 0}, eni_limit=None, eni_in_use=0,
        reserved_tcp=set(), reserved_udp=set())
    service = [(q, task) for q, task in enumerate(live) if task["group"] == service_group]
    stopped: list[str] = []
    while service and len(stopped) < count:
        pool = [item for item in service if not item[1]["daemon"]] or service
        q, task = _choose_victim(pool, chain, states_by_id, [t for _, t in service], seed, len(stopped))
        inst = states_by_id[task["ec2_instance_id"]]
        for key in ("cpu", "memory", "gpu"):
            inst.remaining[key] += task[key]
        service = [item for item in service if item[0] != q]
        stopped.append(task["task_arn"])
    return stopped
