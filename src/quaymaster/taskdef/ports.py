"""Port mappings: the rules per network mode, and the host ports a task takes.

Per ``portMappings`` entry (protocol ``tcp`` by default; spec section 2):

- ``bridge``: ``hostPort`` > 0 is a static host port; 0 or absent takes one
  dynamic port. A ``containerPortRange`` takes one dynamic port per port of
  the range (ECS binds the range to free ephemeral host ports).
- ``host``: the host port is ``containerPort``; ``hostPort``, if given, must
  equal it. Port ranges are refused (ECS allows them in bridge and awsvpc only).
- ``awsvpc``: no host ports (the task has its own interface); ``hostPort``,
  if given, must equal ``containerPort``.
- ``none``: port mappings are invalid.

ECS also documents that a container port (or range member) may appear in only
one mapping of a container, whatever the protocol, that ranges have at most
100 entries per container, and that a range is ``first-last`` with
1 <= first < last <= 65535.

**Decision:** two mappings of one task definition that need the same static
host port with the same protocol are refused: no instance could ever hold
both, so such a definition could never be placed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from quaymaster.errors import TaskDefinitionError
from quaymaster.model.schema import MAX_PORT, MIN_PORT
from quaymaster.taskdef.containers import Container, PortMapping
from quaymaster.taskdef.parse import child

MAX_PORT_RANGES_PER_CONTAINER = 100
_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")


@dataclass(frozen=True)
class HostPorts:
    """Host ports a task of the definition takes on an instance, in mapping order."""

    static_tcp: tuple[int, ...]
    static_udp: tuple[int, ...]
    dynamic_tcp: int
    dynamic_udp: int


def parse_port_range(text: str, path: str) -> tuple[int, int]:
    """``(first, last)`` of a ``containerPortRange`` such as ``"8000-8010"``."""
    match = _RANGE.fullmatch(text)
    if match is None:
        raise TaskDefinitionError(f"containerPortRange {text!r} is not of the form first-last",
                                  field=path, value=text)
    first, last = int(match.group(1)), int(match.group(2))
    if not (MIN_PORT <= first < last <= MAX_PORT):
        raise TaskDefinitionError(
            f"containerPortRange {text!r} must satisfy {MIN_PORT} <= first < last <= {MAX_PORT}",
            field=path, value=text)
    return first, last


def check_port_mappings(containers: Iterable[Container], network_mode: str) -> None:
    """Raise ``TaskDefinitionError`` at the first port mapping ECS would refuse."""
    static_owner: dict[tuple[str, int], str] = {}
    for container in containers:
        if container.port_mappings and network_mode == "none":
            raise TaskDefinitionError(
                f"port mappings are invalid with network mode 'none' "
                f"({len(container.port_mappings)} given)",
                field=container.field("portMappings"), value=network_mode)
        _check_container_ports(container, network_mode)
        for mapping in container.port_mappings:
            static = _static_host_port(mapping, network_mode)
            if static is None:
                continue
            port, path = static
            earlier = static_owner.setdefault((mapping.protocol, port), path)
            if earlier != path:
                raise TaskDefinitionError(
                    f"static host port {port}/{mapping.protocol} is already taken by {earlier}; "
                    "a task of this definition could never be placed",
                    field=path, value=port)


def _check_container_ports(container: Container, network_mode: str) -> None:
    """The mappings of one container: each valid, no container port mapped twice."""
    owner: dict[int, str] = {}
    ranges = 0
    for mapping in container.port_mappings:
        ports, path = _container_ports(mapping, network_mode)
        if mapping.container_port_range is not None:
            ranges += 1
            if ranges > MAX_PORT_RANGES_PER_CONTAINER:
                raise TaskDefinitionError(
                    f"a container may have at most {MAX_PORT_RANGES_PER_CONTAINER} port ranges",
                    field=path, value=mapping.container_port_range)
        for port in ports:
            earlier = owner.setdefault(port, path)
            if earlier != path:
                raise TaskDefinitionError(
                    f"container port {port} is already mapped by {earlier} (a container port "
                    "may appear in one mapping only, whatever the protocol)",
                    field=path, value=port)


def _container_ports(mapping: PortMapping, network_mode: str) -> tuple[range, str]:
    """The container ports a valid mapping covers, and the path that names them."""
    port_path = child(mapping.path, "containerPort")
    range_path = child(mapping.path, "containerPortRange")
    host_path = child(mapping.path, "hostPort")
    if mapping.container_port_range is not None:
        if mapping.container_port is not None:
            raise TaskDefinitionError("give containerPort or containerPortRange, not both",
                                      field=range_path, value=mapping.container_port_range)
        if network_mode not in ("bridge", "awsvpc"):
            raise TaskDefinitionError(
                f"containerPortRange needs network mode bridge or awsvpc, not {network_mode!r}",
                field=range_path, value=mapping.container_port_range)
        if mapping.host_port is not None:
            raise TaskDefinitionError("hostPort must be left empty with a containerPortRange, "
                                      f"got {mapping.host_port}",
                                      field=host_path, value=mapping.host_port)
        first, last = parse_port_range(mapping.container_port_range, range_path)
        return range(first, last + 1), range_path
    port = mapping.container_port
    if port is None:
        raise TaskDefinitionError("containerPort (or containerPortRange) is required",
                                  field=port_path, value=None)
    if not MIN_PORT <= port <= MAX_PORT:
        raise TaskDefinitionError(f"containerPort {port} is outside {MIN_PORT}..{MAX_PORT}",
                                  field=port_path, value=port)
    _check_host_port(mapping, network_mode, host_path)
    return range(port, port + 1), port_path


def _check_host_port(mapping: PortMapping, network_mode: str, path: str) -> None:
    host = mapping.host_port
    if host is None:
        return
    if network_mode == "bridge":
        if not 0 <= host <= MAX_PORT:
            raise TaskDefinitionError(
                f"hostPort {host} is outside 0..{MAX_PORT} (0 asks for a dynamic port)",
                field=path, value=host)
    elif host != mapping.container_port:
        raise TaskDefinitionError(
            f"with network mode {network_mode!r} hostPort must be empty or equal containerPort "
            f"{mapping.container_port}, got {host}", field=path, value=host)


def _static_host_port(mapping: PortMapping, network_mode: str) -> tuple[int, str] | None:
    """The static host port of a valid mapping and the path that names it, if any."""
    if mapping.container_port_range is not None:
        return None
    if network_mode == "bridge" and mapping.host_port:
        return mapping.host_port, child(mapping.path, "hostPort")
    if network_mode == "host":
        named = "hostPort" if mapping.host_port is not None else "containerPort"
        return mapping.container_port, child(mapping.path, named)
    return None


def host_ports(containers: Iterable[Container], network_mode: str) -> HostPorts:
    """Static ports (mapping order) and dynamic port counts of a valid definition."""
    static = {"tcp": [], "udp": []}
    dynamic = {"tcp": 0, "udp": 0}
    if network_mode in ("bridge", "host"):
        for container in containers:
            for mapping in container.port_mappings:
                fixed = _static_host_port(mapping, network_mode)
                if fixed is not None:
                    static[mapping.protocol].append(fixed[0])
                elif mapping.container_port_range is not None:
                    first, last = parse_port_range(mapping.container_port_range, mapping.path)
                    dynamic[mapping.protocol] += last - first + 1
                else:
                    dynamic[mapping.protocol] += 1
    return HostPorts(static_tcp=tuple(static["tcp"]), static_udp=tuple(static["udp"]),
                     dynamic_tcp=dynamic["tcp"], dynamic_udp=dynamic["udp"])
