"""What one task of a definition needs from an instance (docs/semantics.md: placement, ECS contract section 2).

- CPU = the task-level cpu if given, else the sum of the containers' cpu (missing = 0).
- Memory = the task-level memory if given, else the sum over containers of
  memoryReservation if set, else memory.
- GPU = the sum of the containers' ``GPU`` resource requirements.
- ENI = 1 for the awsvpc network mode, else 0.
- Host ports per mapping, by network mode (``ports.py``).
- Required attributes from ``requiresAttributes``; memberOf expressions from
  the definition's ``placementConstraints``.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster.errors import InvalidInputError
from quaymaster.model.schema import INT64_MAX, MAX_PORT, MIN_PORT
from quaymaster.taskdef.ports import host_ports
from quaymaster.taskdef.shapes import COMPATIBILITIES, NETWORK_MODES

_COUNTS = ("cpu", "memory", "gpu", "eni", "dynamic_tcp", "dynamic_udp")


@dataclass(frozen=True)
class TaskRequirements:
    """The resources, ports, attributes and constraints one task needs.

    Lists given to the constructor are stored as tuples; bad values raise
    ``InvalidInputError`` naming the field, so a hand-built value is as safe
    to place as one computed from a task definition. ``family`` (optional)
    names the definition's family, for the default task group.
    """

    cpu: int = 0
    memory: int = 0
    gpu: int = 0
    eni: int = 0
    network_mode: str = "bridge"
    static_tcp: tuple[int, ...] = ()
    static_udp: tuple[int, ...] = ()
    dynamic_tcp: int = 0
    dynamic_udp: int = 0
    required_attributes: tuple[tuple[str, str | None], ...] = ()
    member_of: tuple[str, ...] = ()
    requires_compatibilities: tuple[str, ...] = ()
    family: str | None = None

    def __post_init__(self) -> None:
        for name in _COUNTS:
            value = getattr(self, name)
            # Placement keeps these in int64 columns.
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
                raise InvalidInputError(f"{name} must be a non-negative integer (at most {INT64_MAX}), "
                                        f"got {value!r}", field=name, value=value)
        if self.network_mode not in NETWORK_MODES:
            raise InvalidInputError(f"network_mode must be one of {'|'.join(NETWORK_MODES)}, "
                                    f"got {self.network_mode!r}", field="network_mode",
                                    value=self.network_mode)
        for name in ("static_tcp", "static_udp"):
            ports = _sequence(getattr(self, name), name)
            for port in ports:
                if isinstance(port, bool) or not isinstance(port, int) or \
                        not MIN_PORT <= port <= MAX_PORT:
                    raise InvalidInputError(f"{name} holds {port!r}, not a port "
                                            f"{MIN_PORT}..{MAX_PORT}", field=name, value=port)
            if len(set(ports)) != len(ports):
                # As in a task definition: one task cannot hold the same host port twice.
                repeated = next(p for p in ports if ports.count(p) > 1)
                raise InvalidInputError(f"{name} lists port {repeated} twice", field=name, value=repeated)
            object.__setattr__(self, name, ports)
        object.__setattr__(self, "required_attributes", _attribute_pairs(self.required_attributes))
        object.__setattr__(self, "member_of", _strings(self.member_of, "member_of"))
        compatibilities = _strings(self.requires_compatibilities, "requires_compatibilities")
        for value in compatibilities:
            if value not in COMPATIBILITIES:
                raise InvalidInputError(f"requires_compatibilities holds {value!r}, not one of "
                                        f"{'|'.join(COMPATIBILITIES)}",
                                        field="requires_compatibilities", value=value)
        object.__setattr__(self, "requires_compatibilities", compatibilities)
        if self.family is not None and not isinstance(self.family, str):
            raise InvalidInputError(f"family must be a string or None, got {self.family!r}",
                                    field="family", value=self.family)

    @property
    def host_port_count(self) -> int:
        """Every host port a task takes, static and dynamic, both protocols."""
        return len(self.static_tcp) + len(self.static_udp) + self.dynamic_tcp + self.dynamic_udp


def _sequence(values, field: str) -> tuple:
    """``values`` as a tuple; a single string or a non-iterable is refused."""
    if isinstance(values, (str, bytes)):
        raise InvalidInputError(f"{field} must be a list, got the single value {values!r}", field=field,
                                value=values)
    try:
        return tuple(values)
    except TypeError:
        raise InvalidInputError(f"{field} must be a list, got {values!r}", field=field,
                                value=values) from None


def _strings(values, field: str) -> tuple[str, ...]:
    values = _sequence(values, field)
    for value in values:
        if not isinstance(value, str):
            raise InvalidInputError(f"{field} holds {value!r}, not a string", field=field,
                                    value=value)
    return values


def _attribute_pairs(values) -> tuple[tuple[str, str | None], ...]:
    pairs = []
    for given in _sequence(values, "required_attributes"):
        pair = tuple(given) if isinstance(given, (tuple, list)) else ()
        if len(pair) != 2 or not isinstance(pair[0], str) or \
                not (pair[1] is None or isinstance(pair[1], str)):
            raise InvalidInputError(f"required_attributes holds {given!r}, not (name, value or "
                                    "None)", field="required_attributes", value=given)
        pairs.append(pair)
    return tuple(pairs)


def compute_requirements(definition) -> TaskRequirements:
    """The requirements of a validated ``TaskDefinition`` (see the module docstring)."""
    containers = definition.containers
    cpu = definition.task_cpu
    if cpu is None:
        cpu = sum(container.cpu for container in containers)
    memory = definition.task_memory
    if memory is None:
        memory = sum(container.reserved_memory for container in containers)
    ports = host_ports(containers, definition.network_mode)
    return TaskRequirements(
        cpu=cpu, memory=memory, gpu=sum(container.gpu for container in containers),
        eni=1 if definition.network_mode == "awsvpc" else 0,
        network_mode=definition.network_mode,
        static_tcp=ports.static_tcp, static_udp=ports.static_udp,
        dynamic_tcp=ports.dynamic_tcp, dynamic_udp=ports.dynamic_udp,
        required_attributes=definition.required_attributes,
        member_of=definition.member_of,
        requires_compatibilities=definition.requires_compatibilities,
        family=definition.family,
    )
