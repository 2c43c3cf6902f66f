"""A region's whole state as a snapshot, and back: what ``quaymaster serve --state`` keeps.

``export_state(region) -> dict`` gives (the journal writes each entry as its own file):

- ``instances.<cluster>`` / ``tasks.<cluster>``: every cluster's instance and live-task
  tables (pyarrow, written as Parquet). Loading builds the clusters from them
  (``Cluster.from_arrow``); what they do not say is in the ``clusters`` component
  (quaymaster.region.snapshot.clusters).
- one JSON value per component of the region (``clusters``, ``task_definitions``,
  ``lifecycle``, ``scheduler``, ``load_balancing``, ``provisioning``, ``scaling``,
  ``fargate``, ``capacity_providers``, ``clock``, ...; the plain counters and settings
  together in ``region``), in the typed JSON of quaymaster.region.snapshot.codec: only
  quaymaster's own classes are named and instantiated, nothing is imported from
  elsewhere, no code of the snapshot's runs.
- ``ecr``: the ECR registry (``ECRRegistry.to_state``), uploads in progress included.
- ``summary``: what a reader wants at a glance, and the order the components are read in.

A snapshot is only read by the version that wrote it (``VERSION``); another version,
another region, a missing or corrupted file, an unknown or foreign type are refused with a
:class:`SnapshotError` and the region is left as it was.
"""

from __future__ import annotations

from typing import Any

from quaymaster.region.snapshot.clusters import ClusterTables
from quaymaster.region.snapshot.codec import Encoder
from quaymaster.region.snapshot.decode import Decoder
from quaymaster.region.snapshot.errors import SnapshotError

__all__ = ["VERSION", "SnapshotError", "export_state", "import_state"]

VERSION = 4   # 4: the scaling host keeps launch tables (region/launch_table.py); 3: RecentPoints, demand roster
_KEPT_OUT = ("ecr",)           # written by the registry itself
_SCALARS = "region"            # the component holding the region's plain fields


def _roots(region) -> dict[str, Any]:
    """Objects the receiving process provides: never written, referred to by name."""
    ecr = getattr(region, "ecr", None)
    return {"region": region, "ecr": ecr, "blobs": getattr(ecr, "blobs", None)}


def export_state(region) -> dict[str, Any]:
    """The region's state: pyarrow tables and JSON values (nothing else)."""
    from quaymaster.cluster import Cluster

    tables = ClusterTables()
    roots = {id(obj): name for name, obj in _roots(region).items() if obj is not None}
    encoder = Encoder(roots, custom={Cluster: tables.encode})
    kept_out = (*_KEPT_OUT, *getattr(type(region), "_snapshot_observers", ()))
    fields = {k: v for k, v in region.__dict__.items() if k not in kept_out}
    encoded = encoder.encode_all(fields)
    plain = {k: v for k, v in encoded.items() if not isinstance(v, (dict, list)) or v in ([], {})}
    components = {k: v for k, v in encoded.items() if k not in plain}
    state: dict[str, Any] = {"version": VERSION,
                             "summary": _summary(region, [_SCALARS, *components], list(tables.tables))}
    state[_SCALARS] = plain
    for key, (instances, tasks) in tables.tables.items():
        state[f"instances.{key}"] = instances
        state[f"tasks.{key}"] = tasks
    state.update(components)
    if getattr(region, "ecr", None) is not None:
        state["ecr"] = region.ecr.to_state()
    return state


def import_state(region, state: dict[str, Any]) -> None:
    """Make ``region`` (fresh from the factory that made the exported one) the exported region.

    All or nothing: on any refusal the region keeps the state it had."""
    from quaymaster.cluster import Cluster

    summary = _checked_summary(region, state)
    tables = ClusterTables()
    for key in summary["tables"]:
        for kind in ("instances", "tasks"):
            if f"{kind}.{key}" not in state:
                raise SnapshotError(f"the snapshot has no {kind} table of cluster {key!r}",
                                    field=f"{kind}.{key}", value=key)
        tables.tables[key] = (state[f"instances.{key}"], state[f"tasks.{key}"])
    components = {}
    for name in summary["components"]:
        if name not in state:
            raise SnapshotError(f"the snapshot has no component {name!r}", field=name, value=name)
        components[name] = state[name]
    decoder = Decoder({k: v for k, v in _roots(region).items()}, custom={Cluster: tables.decode})
    decoded = decoder.decode_all(components)
    fields = decoded.pop(_SCALARS)
    if not isinstance(fields, dict):
        raise SnapshotError("the region component is not a JSON object", field=_SCALARS, value=None)
    fields.update(decoded)
    before = dict(region.__dict__)
    try:
        region.__dict__.update(fields)
        if "ecr" in state:
            region.ecr.load_state(state["ecr"])
        for hook in decoder.loaded_hooks:
            hook()
    except Exception as error:   # all or nothing: the region goes back to what it was
        region.__dict__.clear()
        region.__dict__.update(before)
        if isinstance(error, SnapshotError):
            raise
        raise SnapshotError(f"the snapshot does not load: {type(error).__name__}: {error}", field="ecr",
                            value=type(error).__name__) from error


def _checked_summary(region, state: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(state, dict) or state.get("version") != VERSION:
        found = state.get("version") if isinstance(state, dict) else None
        raise SnapshotError(f"not a region snapshot of version {VERSION} (found version {found!r})",
                            field="version", value=found)
    summary = state.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("components"), list) \
            or not isinstance(summary.get("tables"), list):
        raise SnapshotError("the snapshot's summary is missing or malformed", field="summary", value=None)
    if summary.get("name") != region.name or summary.get("account") != region.account:
        raise SnapshotError(
            f"the snapshot is of region {summary.get('name')!r} of account {summary.get('account')!r}, "
            f"not {region.name!r} of {region.account!r}", field="summary", value=summary.get("name"))
    return summary


def _summary(region, components: list[str], tables: list[str]) -> dict[str, Any]:
    return {"name": region.name, "account": region.account, "seed": region.seed,
            "clock_ms": region.clock.now, "placement_requests": region.placement_requests,
            "task_count": region.task_count, "service_count": region.service_count,
            "clusters": list(region.clusters), "components": components, "tables": tables}
