"""Container-instance administration: the ECS operations on instances and attributes."""

from __future__ import annotations


class ContainerInstanceAdmin:
    """Mixin of :class:`quaymaster.Cluster`: RegisterContainerInstance and friends."""
