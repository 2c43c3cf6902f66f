"""Typed, read-only views of the container definitions of a checked document.

Built after ``parse.check_shape`` has passed, so every field already has its
botocore type; defaults are filled here the way ECS fills them (``essential``
true, ``protocol`` tcp, ``cpu`` 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from quaymaster.taskdef.parse import child, item


@dataclass(frozen=True)
class PortMapping:
    """One ``portMappings`` entry; ``path`` is its JSON path in the definition."""

    path: str
    container_port: int | None
    host_port: int | None
    protocol: str
    container_port_range: str | None


@dataclass(frozen=True)
class ResourceRequirement:
    """One ``resourceRequirements`` entry (``GPU`` or ``InferenceAccelerator``)."""

    path: str
    type: str
    value: str


@dataclass(frozen=True)
class Container:
    """The fields of one container definition that the rules and placement read."""

    index: int
    name: str | None
    image: str | None
    cpu: int
    memory: int | None
    memory_reservation: int | None
    essential: bool
    links: tuple[str, ...]
    port_mappings: tuple[PortMapping, ...]
    resource_requirements: tuple[ResourceRequirement, ...]
    depends_on: tuple[str, ...]

    @property
    def path(self) -> str:
        """JSON path of this container definition: ``containerDefinitions[i]``."""
        return item("containerDefinitions", self.index)

    def field(self, name: str) -> str:
        """JSON path of one of this container's fields."""
        return child(self.path, name)

    @property
    def reserved_memory(self) -> int:
        """The MiB this container takes from an instance: memoryReservation, else memory."""
        if self.memory_reservation is not None:
            return self.memory_reservation
        return self.memory or 0

    @property
    def gpu(self) -> int:
        """Physical GPUs reserved for this container (sum of its GPU requirements)."""
        return sum(int(r.value) for r in self.resource_requirements if r.type == "GPU")


def read_containers(document: dict) -> tuple[Container, ...]:
    """The container views of a shape-checked definition, in definition order."""
    return tuple(_read_container(index, raw)
                 for index, raw in enumerate(document.get("containerDefinitions") or ()))


def _read_container(index: int, raw: dict) -> Container:
    path = item("containerDefinitions", index)
    mappings = tuple(
        PortMapping(path=item(child(path, "portMappings"), j),
                    container_port=m.get("containerPort"), host_port=m.get("hostPort"),
                    protocol=m.get("protocol") or "tcp",
                    container_port_range=m.get("containerPortRange"))
        for j, m in enumerate(raw.get("portMappings") or ()))
    requirements = tuple(
        ResourceRequirement(path=item(child(path, "resourceRequirements"), j),
                            type=r["type"], value=r["value"])
        for j, r in enumerate(raw.get("resourceRequirements") or ()))
    essential = raw.get("essential")
    return Container(
        index=index, name=raw.get("name"), image=raw.get("image"),
        cpu=raw.get("cpu") or 0, memory=raw.get("memory"),
        memory_reservation=raw.get("memoryReservation"),
        essential=True if essential is None else essential,
        links=tuple(raw.get("links") or ()), port_mappings=mappings,
        resource_requirements=requirements,
        depends_on=tuple(d["containerName"] for d in raw.get("dependsOn") or ()),
    )
