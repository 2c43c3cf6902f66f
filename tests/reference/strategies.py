"""Hypothesis generators of fleets and placement requests (placement.md).

The fleet-level shape (size, which optional columns exist, how many instances
are not ACTIVE, how small the instances are) is drawn by hypothesis so it
shrinks; the per-row values come from a ``random.Random`` seeded by one drawn
integer, because a 300-row table drawn value by value would overflow
hypothesis's per-example buffer and be slow to generate.

Every table generated is valid input for the engine: unique ids, resources and
ports in range, live tasks that fit the instance they are on (so derived
``*_remaining`` are never negative), no port held twice on an instance.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import strategies as st

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
INSTANCE_TYPES = ("t2.small", "t2.medium", "m5.large", "g2.2xlarge")
STACKS = ("prod", "dev")
GROUPS = ("service:web", "service:api", "family:batch", "family:wordpress")
NOT_ACTIVE = ("DRAINING", "INACTIVE", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED")
DEFAULT_RESERVED = [22, 2375, 2376, 51678, 51679]
RESERVED_TCP_CHOICES = (None, DEFAULT_RESERVED, DEFAULT_RESERVED + [80], [22], [],
                        [22, 49153, 49154], [80, 443, 8080])
RESERVED_UDP_CHOICES = (None, [], [53], [49153], [53, 49153, 49155])
AGENT_VERSIONS = ("1.14.5", "1.20.0", "1.68.2", None)
EPOCH = datetime(2018, 1, 1, tzinfo=timezone.utc)
MAX_UINT64 = 2**64 - 1

#: Valid CQL over the generated attributes and state, for memberOf.
MEMBER_OF_POOL = (
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "attribute:ecs.availability-zone == us-east-1c",
    "attribute:ecs.instance-type =~ t2.*",
    "attribute:stack != prod",
    "not(attribute:stack == prod)",
    "attribute:stack exists",
    "attribute:absent !exists",
    "runningTasksCount < 3",
    "runningTasksCount == 0",
    "runningTasksCount >= 1",
    "task:group == service:web",
    "not(task:group == family:batch)",
    "task:group != service:api",
    "attribute:ecs.instance-type in [t2.small, t2.medium] or attribute:ecs.availability-zone == us-east-1c",
    "agentVersion >= 1.20.0",
    "registeredAt < 2018-06-18",
    "agentConnected == true",
)
REQUIRED_ATTRIBUTE_POOL = (
    ("ecs.availability-zone", None), ("ecs.availability-zone", None), ("ecs.availability-zone", "us-east-1a"),
    ("stack", "prod"), ("stack", None), ("ecs.instance-type", None), ("absent", None),
)
STRATEGY_POOL = (
    {"type": "binpack", "field": "cpu"},
    {"type": "binpack", "field": "memory"},
    {"type": "spread", "field": "instanceId"},
    {"type": "spread", "field": "host"},
    {"type": "spread", "field": "attribute:ecs.availability-zone"},
    {"type": "spread", "field": "attribute:stack"},
    {"type": "spread", "field": "attribute:absent"},
    {"type": "random", "field": None},
)


def seeds():
    """Seeds over the whole unsigned 64-bit range, with the edges and 0 often."""
    return st.one_of(st.just(0), st.sampled_from([1, MAX_UINT64, 2**63]), st.integers(0, MAX_UINT64))


# ---------------------------------------------------------------- fleets

def _optional(rng: random.Random, value, null_rate: float):
    return None if rng.random() < null_rate else value


def _instance_rows(rng: random.Random, n: int, shape: dict) -> dict[str, list]:
    columns: dict[str, list] = {
        "ec2_instance_id": [f"i-{rng.getrandbits(40):010x}{p:04x}" for p in range(n)],
        "registered_at": [EPOCH + timedelta(days=rng.randrange(365)) for _ in range(n)],
        "cpu_registered": [rng.choice(shape["cpu_sizes"]) for _ in range(n)],
        "memory_registered": [rng.choice(shape["memory_sizes"]) for _ in range(n)],
    }
    if shape["status"]:
        rate = shape["not_active_rate"]
        columns["status"] = [rng.choice(NOT_ACTIVE) if rng.random() < rate
                             else _optional(rng, "ACTIVE", 0.05) for _ in range(n)]
    if shape["agent"]:
        columns["agent_connected"] = [_optional(rng, rng.random() >= 0.1, 0.05) for _ in range(n)]
    if shape["arn"]:
        columns["container_instance_arn"] = [
            _optional(rng, f"arn:aws:ecs:eu-west-1:123456789012:container-instance/c/{i}", 0.2)
            for i in columns["ec2_instance_id"]]
    if shape["agent_version"]:
        columns["agent_version"] = [rng.choice(AGENT_VERSIONS) for _ in range(n)]
    if shape["gpu"]:
        columns["gpu_registered"] = [_optional(rng, rng.choice((0, 0, 1, 2, 4)), 0.1) for _ in range(n)]
    if shape["eni"]:
        columns["eni_limit"] = [rng.choice((None, 0, 1, 2, 3)) for _ in range(n)]
    if shape["ports"]:
        columns["reserved_ports"] = [rng.choice(RESERVED_TCP_CHOICES) for _ in range(n)]
        columns["reserved_ports_udp"] = [rng.choice(RESERVED_UDP_CHOICES) for _ in range(n)]
    attribute_values = {"ecs.availability-zone": (ZONES[:shape["zones"]], 0.1),
                        "ecs.instance-type": (INSTANCE_TYPES, 0.1), "stack": (STACKS, 0.3)}
    for name in shape["attributes"]:
        values, null_rate = attribute_values[name]
        columns["attribute:" + name] = [_optional(rng, rng.choice(values), null_rate) for _ in range(n)]
    return columns


def _task_rows(rng: random.Random, columns: dict[str, list], shape: dict) -> tuple[list[dict], list[dict]]:
    """Live tasks that fit their instance (resources, ports and ENIs tracked),
    and what each instance has free after them."""
    n = len(columns["ec2_instance_id"])
    free = [{"cpu": columns["cpu_registered"][p], "memory": columns["memory_registered"][p],
             "gpu": (columns.get("gpu_registered") or [0] * n)[p] or 0,
             "eni": (columns.get("eni_limit") or [None] * n)[p]} for p in range(n)]
    tcp_given = columns.get("reserved_ports") or [None] * n
    udp_given = columns.get("reserved_ports_udp") or [None] * n
    used_tcp = [set(DEFAULT_RESERVED if tcp_given[p] is None else tcp_given[p]) for p in range(n)]
    used_udp = [set(udp_given[p] or ()) for p in range(n)]
    rows = []
    for index in range(shape["task_count"]):
        p = rng.randrange(n)
        need = {"cpu": rng.choice((0, 64, 128, 256)), "memory": rng.choice((0, 128, 256, 512)),
                "gpu": 1 if rng.random() < 0.1 else 0, "eni": 1 if rng.random() < 0.2 else 0}
        tcp = [port for port in rng.choice(([], [], [80], [8080], [49153], [49154, 49155]))
               if port not in used_tcp[p]]
        udp = [port for port in rng.choice(([], [], [53], [49153])) if port not in used_udp[p]]
        fargate = rng.random() < shape["fargate_rate"]  # on no instance: holds nothing on p
        if not fargate:
            if any(need[k] > free[p][k] for k in ("cpu", "memory", "gpu")) or (
                    need["eni"] and free[p]["eni"] is not None and free[p]["eni"] < 1):
                continue
            for key in ("cpu", "memory", "gpu"):
                free[p][key] -= need[key]
            if need["eni"] and free[p]["eni"] is not None:
                free[p]["eni"] -= 1
            used_tcp[p].update(tcp)
            used_udp[p].update(udp)
        rows.append({"task_arn": f"arn:aws:ecs:us-east-1:000000000000:task/default/{index:08x}"
                                 f"{rng.getrandbits(32):08x}",
                     "ec2_instance_id": None if fargate else columns["ec2_instance_id"][p],
                     "group": rng.choice(GROUPS), "cpu": need["cpu"], "memory": need["memory"],
                     "gpu": need["gpu"], "eni": need["eni"], "host_ports": tcp, "host_ports_udp": udp,
                     "last_status": rng.choice(("RUNNING", "RUNNING", "PENDING", "ACTIVATING")),
                     "daemon": rng.random() < 0.1})
    return rows, free


INSTANCE_TYPES_ARROW = {
    "ec2_instance_id": pa.string(), "container_instance_arn": pa.string(), "status": pa.string(),
    "agent_connected": pa.bool_(), "agent_version": pa.string(),
    "registered_at": pa.timestamp("us", tz="UTC"), "cpu_registered": pa.int64(),
    "memory_registered": pa.int64(), "gpu_registered": pa.int64(), "eni_limit": pa.int64(),
    "cpu_remaining": pa.int64(), "memory_remaining": pa.int64(), "gpu_remaining": pa.int64(),
    "reserved_ports": pa.list_(pa.int32()), "reserved_ports_udp": pa.list_(pa.int32()),
}
TASK_COLUMNS_ARROW = {
    "task_arn": pa.string(), "ec2_instance_id": pa.string(), "group": pa.string(),
    "cpu": pa.int64(), "memory": pa.int64(), "gpu": pa.int64(), "eni": pa.int64(),
    "host_ports": pa.list_(pa.int32()), "host_ports_udp": pa.list_(pa.int32()),
    "last_status": pa.string(), "daemon": pa.bool_(),
}


def _remaining_columns(rng: random.Random, columns: dict[str, list], free: list[dict], mode: str) -> None:
    """Remaining columns given (authoritative, at most what is free), partly null, or absent."""
    if mode == "derived":
        return
    for key in ("cpu", "memory", "gpu"):
        values = [max(0, f[key] - rng.choice((0, 0, 0, 64, 256))) for f in free]
        if mode == "partial":
            values = [_optional(rng, v, 0.5) for v in values]
        columns[f"{key}_remaining"] = values


@st.composite
def fleets(draw, max_instances: int = 300):
    """(instances pa.Table, tasks pa.Table | None): a cluster as placement.md section 1."""
    size_cap = draw(st.sampled_from([4, 12, 40, 40, max_instances]))
    n = draw(st.integers(1, max(1, min(size_cap, max_instances))))
    shape = {
        "status": draw(st.booleans()),
        "not_active_rate": draw(st.sampled_from([0.0] * 4 + [0.1] * 4 + [0.3] * 3 + [1.0])),
        "agent": draw(st.booleans()), "arn": draw(st.booleans()),
        "agent_version": draw(st.booleans()), "gpu": draw(st.booleans()),
        "eni": draw(st.booleans()), "ports": draw(st.booleans()),
        "zones": draw(st.integers(1, 3)),
        "attributes": [name for name in ("ecs.availability-zone", "ecs.instance-type", "stack")
                       if draw(st.integers(0, 4))],  # each present 4 times in 5
        "cpu_sizes": draw(st.sampled_from([(256, 512), (512, 1024, 2048), (1024, 4096)])),
        "memory_sizes": draw(st.sampled_from([(256, 512), (512, 1024, 2048), (2048, 8192)])),
        "task_count": draw(st.sampled_from([0, 0, 1, min(100, 3 * n), min(300, 6 * n)])),
        "fargate_rate": draw(st.sampled_from([0.0, 0.0, 0.05])),
    }
    with_tasks = draw(st.booleans()) or shape["task_count"] > 0
    remaining_mode = draw(st.sampled_from(["derived", "derived", "given", "partial"]))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    columns = _instance_rows(rng, n, shape)
    task_rows, free = _task_rows(rng, columns, shape)
    _remaining_columns(rng, columns, free, remaining_mode)
    instances = pa.table({name: pa.array(values, INSTANCE_TYPES_ARROW.get(name, pa.string()))
                          for name, values in columns.items()})
    if not with_tasks:
        return instances, None
    # A dropped holding column means its default (0 held, no ports): the
    # instances just have more room, so the table stays valid.
    optional = draw(st.lists(st.sampled_from(["cpu", "memory", "gpu", "eni", "host_ports", "host_ports_udp",
                                              "last_status", "daemon"]), unique=True))
    kept = ["task_arn", "ec2_instance_id", "group"] + sorted(optional)
    tasks = pa.table({name: pa.array([row[name] for row in task_rows], TASK_COLUMNS_ARROW[name])
                      for name in kept})
    return instances, tasks


# ---------------------------------------------------------------- requests

@st.composite
def requests(draw):
    """A request dict of plain requirements (placement_ref.place_reference's shape)."""
    mode = draw(st.sampled_from(["bridge", "bridge", "host", "awsvpc", "none"]))
    static_tcp = static_udp = []
    dynamic_tcp = dynamic_udp = 0
    if mode in ("bridge", "host") and draw(st.booleans()):
        # 22, 2375 and 51678 collide with the agent's reserved ports, 49153
        # with the first dynamic port.
        static_tcp = draw(st.lists(st.sampled_from([80, 80, 443, 8080, 8080, 22, 2375, 49153, 51678]),
                                   unique=True, max_size=3))
        static_udp = draw(st.lists(st.sampled_from([53, 123, 49153]), unique=True, max_size=2))
    if mode == "bridge":
        dynamic_tcp = draw(st.integers(0, 3))
        dynamic_udp = draw(st.integers(0, 2))
    strategy = draw(st.lists(st.sampled_from(STRATEGY_POOL), max_size=5))
    required = []
    if draw(st.integers(0, 3)) == 0:
        two = draw(st.integers(0, 3)) == 0
        required = draw(st.lists(st.sampled_from(REQUIRED_ATTRIBUTE_POOL), unique=True, min_size=1,
                                 max_size=2 if two else 1))
    return {
        "cpu": draw(st.sampled_from([0, 64, 128, 128, 256, 256, 512, 1024])),
        "memory": draw(st.sampled_from([0, 64, 128, 128, 256, 256, 512, 1024])),
        "gpu": draw(st.sampled_from([0] * 12 + [1, 2])),
        "eni": 1 if mode == "awsvpc" else 0,
        "static_tcp": static_tcp, "static_udp": static_udp,
        "dynamic_tcp": dynamic_tcp, "dynamic_udp": dynamic_udp,
        "required_attributes": [list(pair) for pair in required],
        "member_of": draw(st.lists(st.sampled_from(MEMBER_OF_POOL), unique=True, max_size=3)),
        "distinct_instance": draw(st.booleans()) and draw(st.booleans()),
        "count": draw(st.one_of(st.integers(1, 10), st.integers(1, 100))),
        "group": draw(st.sampled_from(GROUPS + ("family:fresh",))),
        "strategy": [dict(rule) for rule in strategy],
    }


@st.composite
def placement_cases(draw, max_instances: int = 300):
    """(instances, tasks, request, seed) for place_reference and the engine."""
    instances, tasks = draw(fleets(max_instances))
    return instances, tasks, draw(requests()), draw(seeds())


@st.composite
def scale_in_cases(draw, max_instances: int = 40):
    """(instances, tasks, service_group, strategy, count, seed) for scale-in.

    The fleet has a tasks table (a few tasks may be on Fargate); the count may
    exceed the group's size.
    """
    instances, tasks = draw(fleets(max_instances).filter(lambda fleet: fleet[1] is not None))
    group = draw(st.sampled_from(GROUPS))
    strategy = [dict(rule) for rule in draw(st.lists(st.sampled_from(STRATEGY_POOL), max_size=3))]
    return instances, tasks, group, strategy, draw(st.integers(0, 20)), draw(seeds())
