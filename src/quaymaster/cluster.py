"""``quaymaster.Cluster``: the state plus every ECS operation on it."""

from __future__ import annotations

from quaymaster.model.admin import ContainerInstanceAdmin
from quaymaster.model.cluster import ClusterCore
from quaymaster.placement.api import PlacementAPI


class Cluster(ClusterCore, ContainerInstanceAdmin, PlacementAPI):
    """A cluster of container instances and live tasks.

    Build one with :meth:`from_arrow` / :meth:`from_parquet`, or empty with
    ``Cluster("name")`` and register instances. Instances and tasks are kept
    as columns; :attr:`instances` and :meth:`task_table` present them as the
    Arrow tables described in docs/semantics.md ("The instance and task tables").
    """
