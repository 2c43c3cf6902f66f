"""Hypothesis strategies: random valid task definitions, with what they must need.

Each generated definition comes with the task-level cpu and memory the
generator chose (as integers), so the tests can compute the requirements
independently of the library (``reference_requirements``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
NAMES = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=20)
MODES = [None, "bridge", "host", "awsvpc", "none"]  # None: networkMode left out (bridge)
IMAGES = ["nginx", "redis:7", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:ab12"]
# limits.md's Fargate table, written out independently of quaymaster.taskdef.fargate
FARGATE_TABLE = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


@dataclass
class Generated:
    """A valid definition and the task-level values (None = not given) it was built with."""

    document: dict
    task_cpu: int | None
    task_memory: int | None

    @property
    def mode(self) -> str:
        return self.document.get("networkMode") or "bridge"

    @property
    def containers(self) -> list[dict]:
        return self.document["containerDefinitions"]


def _draw_mapping(draw, mode: str, container_ports: set, static_used: dict) -> dict | None:
    """One mapping valid for ``mode``; None when the drawn port would collide."""
    protocol = draw(st.sampled_from([None, "tcp", "udp"]))
    proto = protocol or "tcp"
    mapping = {} if protocol is None else {"protocol": protocol}
    if mode in ("bridge", "awsvpc") and draw(st.integers(0, 5)) == 0:
        first = draw(st.integers(1, 65500))
        last = first + draw(st.integers(1, 20))
        ports = set(range(first, last + 1))
        if ports & container_ports:
            return None
        container_ports |= ports
        return {**mapping, "containerPortRange": f"{first}-{last}"}
    port = draw(st.integers(1, 65535))
    if port in container_ports or (mode == "host" and port in static_used[proto]):
        return None
    container_ports.add(port)
    mapping["containerPort"] = port
    if mode == "bridge":
        choice = draw(st.sampled_from(["absent", "zero", "static"]))
        host = draw(st.integers(1, 65535))
        if choice == "zero":
            mapping["hostPort"] = 0
        elif choice == "static" and host not in static_used[proto]:
            static_used[proto].add(host)
            mapping["hostPort"] = host
    else:
        if mode == "host":
            static_used[proto].add(port)
        if draw(st.booleans()):
            mapping["hostPort"] = port
    return mapping


def _draw_memory(draw, container: dict, cap: int, allow_neither: bool = True) -> None:
    kinds = ["memory", "reservation", "both"] + (["neither"] if allow_neither else [])
    kind = draw(st.sampled_from(kinds))
    if kind in ("memory", "both"):
        container["memory"] = draw(st.integers(6, cap))
    if kind == "reservation":
        container["memoryReservation"] = draw(st.integers(6, cap))
    if kind == "both":
        container["memoryReservation"] = draw(st.integers(6, container["memory"]))


def _draw_container(draw, name: str, others: list[str], mode: str, static_used: dict,
                    cpu_cap: int, memory_cap: int, gpus: bool, allow_neither: bool = True) -> dict:
    container = {"name": name, "image": draw(st.sampled_from(IMAGES))}
    cpu = draw(st.none() | st.integers(0, cpu_cap))
    if cpu is not None:
        container["cpu"] = cpu
    _draw_memory(draw, container, memory_cap, allow_neither)
    essential = draw(st.sampled_from([None, True, False]))
    if essential is not None:
        container["essential"] = essential
    if mode != "none":
        ports: set[int] = set()
        mappings = [_draw_mapping(draw, mode, ports, static_used)
                    for _ in range(draw(st.integers(0, 4)))]
        if mappings or draw(st.booleans()):
            container["portMappings"] = [m for m in mappings if m is not None]
    count = draw(st.integers(0, 3)) if gpus else 0
    if count:
        container["resourceRequirements"] = [{"type": "GPU", "value": str(count)}]
    if mode == "bridge" and others and draw(st.booleans()):
        links = draw(st.lists(st.sampled_from(others), max_size=2, unique=True))
        container["links"] = [f"{link}:{link}-alias" if draw(st.booleans()) else link
                              for link in links]
    return container


def _reserved(container: dict) -> int:
    return container.get("memoryReservation", container.get("memory", 0))


def _spell_cpu(draw, units: int):
    # quarter-vCPU values also in vCPU spelling; an int now and then (the spec allows it)
    spellings = [str(units), units]
    if units % 256 == 0:
        spellings += [f"{units / 1024} vCPU", f"{units / 1024}vcpu"]
    return draw(st.sampled_from(spellings))


def _spell_memory(draw, mib: int):
    spellings = [str(mib), mib]
    if mib % 512 == 0:
        spellings += [f"{mib / 1024} GB", f"{mib / 1024}gb"]
    return draw(st.sampled_from(spellings))


@st.composite
def ec2_definitions(draw, modes=tuple(MODES), task_cpu: bool | None = None,
                    task_memory: bool | None = None) -> Generated:
    """Valid definitions for EC2: every network mode, 1..10 containers, ports, GPUs, links.

    ``modes`` limits the network modes; ``task_cpu``/``task_memory`` True or
    False force the task-level value to be given or left out (None: either).
    """
    mode_given = draw(st.sampled_from(modes))
    mode = mode_given or "bridge"
    names = draw(st.lists(NAMES, min_size=1, max_size=10, unique=True))
    static_used = {"tcp": set(), "udp": set()}
    containers = [_draw_container(draw, name, [n for n in names if n != name], mode,
                                  static_used, 2048, 4096, gpus=True,
                                  allow_neither=task_memory is not False) for name in names]
    if not any(c.get("essential", True) for c in containers):
        del containers[draw(st.integers(0, len(containers) - 1))]["essential"]
    document = {"family": draw(NAMES), "containerDefinitions": containers}
    if mode_given is not None:
        document["networkMode"] = mode_given
    task_memory = task_cpu = None
    needs_memory = any("memory" not in c and "memoryReservation" not in c for c in containers)
    if needs_memory or (task_memory if task_memory is not None else draw(st.booleans())):
        task_memory = max(1, sum(_reserved(c) for c in containers) + draw(st.integers(0, 4096)))
        document["memory"] = _spell_memory(draw, task_memory)
    if task_cpu if task_cpu is not None else draw(st.booleans()):
        low = max(128, sum(c.get("cpu", 0) for c in containers))
        task_cpu = draw(st.integers(low, low + 8192))
        document["cpu"] = _spell_cpu(draw, task_cpu)
    _draw_extras(draw, document, mode)
    return Generated(document, task_cpu, task_memory)


def _draw_extras(draw, document: dict, mode: str) -> None:
    attributes = draw(st.lists(st.tuples(NAMES, st.none() | NAMES), max_size=3))
    if attributes:
        document["requiresAttributes"] = [
            {"name": name} if value is None else {"name": name, "value": value}
            for name, value in attributes]
    expressions = draw(st.lists(st.sampled_from(
        ["attribute:ecs.instance-type =~ t3.*", "agentConnected == true",
         "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"]), max_size=3))
    if expressions:
        document["placementConstraints"] = [{"type": "memberOf", "expression": e}
                                            for e in expressions]
    choices = [[], ["EC2"]] + ([["EC2", "EXTERNAL"]] if mode != "awsvpc" else [])
    compatibilities = draw(st.sampled_from(choices))
    if compatibilities:
        document["requiresCompatibilities"] = compatibilities


@st.composite
def fargate_definitions(draw) -> Generated:
    """Valid Fargate definitions: awsvpc, a size from the table, containers that fit it."""
    cpu = draw(st.sampled_from(sorted(FARGATE_TABLE)))
    memory = draw(st.sampled_from(FARGATE_TABLE[cpu]))
    names = draw(st.lists(NAMES, min_size=1, max_size=10, unique=True))
    static_used = {"tcp": set(), "udp": set()}
    share_cpu, share_memory = cpu // len(names), max(6, memory // len(names))
    containers = [_draw_container(draw, name, [], "awsvpc", static_used, share_cpu,
                                  share_memory, gpus=False) for name in names]
    if not any(c.get("essential", True) for c in containers):
        containers[0]["essential"] = True
    document = {"family": draw(NAMES), "containerDefinitions": containers,
                "networkMode": "awsvpc", "cpu": _spell_cpu(draw, cpu),
                "memory": _spell_memory(draw, memory),
                "requiresCompatibilities": draw(st.sampled_from([["FARGATE"], ["EC2", "FARGATE"]]))}
    return Generated(document, cpu, memory)


def reference_requirements(generated: Generated) -> dict:
    """The requirements spec section 2 gives, computed straight from the dict."""
    containers, mode = generated.containers, generated.mode
    cpu = generated.task_cpu
    if cpu is None:
        cpu = sum(c.get("cpu", 0) for c in containers)
    memory = generated.task_memory
    if memory is None:
        memory = sum(_reserved(c) for c in containers)
    static = {"tcp": [], "udp": []}
    dynamic = {"tcp": 0, "udp": 0}
    for c in containers:
        for m in c.get("portMappings", []):
            proto = m.get("protocol", "tcp")
            if mode == "host":
                static[proto].append(m["containerPort"])
            elif mode == "bridge" and "containerPortRange" in m:
                first, last = map(int, m["containerPortRange"].split("-"))
                dynamic[proto] += last - first + 1
            elif mode == "bridge" and m.get("hostPort"):
                static[proto].append(m["hostPort"])
            elif mode == "bridge":
                dynamic[proto] += 1
    return {
        "cpu": cpu, "memory": memory, "eni": int(mode == "awsvpc"), "network_mode": mode,
        "gpu": sum(int(r["value"]) for c in containers
                   for r in c.get("resourceRequirements", []) if r["type"] == "GPU"),
        "static_tcp": tuple(static["tcp"]), "static_udp": tuple(static["udp"]),
        "dynamic_tcp": dynamic["tcp"], "dynamic_udp": dynamic["udp"],
        "required_attributes": tuple((a["name"], a.get("value"))
                                     for a in generated.document.get("requiresAttributes", [])),
        "member_of": tuple(c["expression"]
                           for c in generated.document.get("placementConstraints", [])),
        "requires_compatibilities": tuple(generated.document.get("requiresCompatibilities", [])),
    }


ANY_DEFINITION = st.one_of(ec2_definitions(), fargate_definitions())
