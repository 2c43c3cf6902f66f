"""The region: every ECS operation on a virtual clock (see docs/semantics.md, "Services over time")."""

from quaymaster.region.region import Region

__all__ = ["Region"]
