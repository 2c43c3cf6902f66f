"""RunTask, StartTask and StopTask on a cluster."""

from __future__ import annotations


class PlacementAPI:
    """Mixin of :class:`quaymaster.Cluster`: the operations that place and stop tasks."""
