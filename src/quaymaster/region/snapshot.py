"""A region's whole state as a snapshot, and back: what ``quaymaster serve --state`` keeps.

``export_state(region) -> dict`` gives:

- ``instances.<cluster>`` / ``tasks.<cluster>``: every cluster's instance and
  live-task tables (pyarrow, written as Parquet): the readable copy of the
  placement state, for pyarrow/DuckDB users; they are not read back.
- ``summary``: JSON of what a reader wants at a glance (clock, seed, the
  region's seed-stream positions and counters, cluster names).
- ``ecr``: the ECR registry as JSON (``ECRRegistry.to_state``).
- ``objects``: everything else (clusters with their seed streams, task
  definitions, services and deployments, events, task sets, lifecycle,
  scheduler, load balancing, auto scaling targets/policies/actions/activities,
  Auto Scaling groups, capacity providers, tags, the clock) as one pickle.

**Fallback, said plainly:** the object graph is pickled (with cloudpickle, as
it holds closures such as the services' event sinks) instead of being written
as JSON component by component; the Parquet tables are exported beside it.
The region itself, its ECR registry and the registry's blob store are kept out
of the pickle by reference, so ``import_state`` on a fresh region (from the
same factory) rebinds every closure to it and keeps its blob store. A snapshot
is only read by the quaymaster version that wrote it (``VERSION``); an older
one is refused with a typed error rather than half loaded.
"""

from __future__ import annotations

import io
import pickle
import threading
from typing import Any

import cloudpickle

from quaymaster.errors import InvalidInputError

VERSION = 1
_KEPT_OUT = ("region", "ecr", "blobs")   # persistent ids: the receiving region's own objects
# Locks guard a registry against threads of this process; a loaded region gets fresh ones.
_LOCKS = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


class _Pickler(cloudpickle.Pickler):
    def __init__(self, stream, region):
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self._kept_out = {id(region): "region"}
        ecr = getattr(region, "ecr", None)
        if ecr is not None:
            self._kept_out[id(ecr)] = "ecr"
            self._kept_out[id(ecr.blobs)] = "blobs"

    def persistent_id(self, obj):
        return self._kept_out.get(id(obj))

    def reducer_override(self, obj):
        fresh = _LOCKS.get(type(obj))
        if fresh is not None:
            return fresh, ()
        return super().reducer_override(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream, region):
        super().__init__(stream)
        ecr = getattr(region, "ecr", None)
        self._objects = {"region": region, "ecr": ecr, "blobs": getattr(ecr, "blobs", None)}

    def persistent_load(self, pid):
        if pid not in _KEPT_OUT:
            raise pickle.UnpicklingError(f"unknown reference {pid!r} in a region snapshot")
        return self._objects[pid]


def export_state(region) -> dict[str, Any]:
    """The region's state: pyarrow tables, JSON values and one pickle (bytes)."""
    state: dict[str, Any] = {"version": VERSION, "summary": _summary(region)}
    for name, record in region.clusters.items():
        state[f"instances.{name}"] = record.cluster.instance_table()
        state[f"tasks.{name}"] = record.cluster.task_table()
    if getattr(region, "ecr", None) is not None:
        state["ecr"] = region.ecr.to_state()
    buffer = io.BytesIO()
    _Pickler(buffer, region).dump({k: v for k, v in region.__dict__.items() if k != "ecr"})
    state["objects"] = buffer.getvalue()
    return state


def import_state(region, state: dict[str, Any]) -> None:
    """Make ``region`` (fresh from the factory that made the exported one) the exported region."""
    if state.get("version") != VERSION or not isinstance(state.get("objects"), bytes):
        raise InvalidInputError(f"not a region snapshot of version {VERSION}",
                                field="version", value=state.get("version"))
    summary = state.get("summary", {})
    if summary.get("name") != region.name or summary.get("account") != region.account:
        raise InvalidInputError(
            f"the snapshot is of region {summary.get('name')!r} of account {summary.get('account')!r}, "
            f"not {region.name!r} of {region.account!r}", field="summary", value=summary.get("name"))
    objects = _Unpickler(io.BytesIO(state["objects"]), region).load()
    region.__dict__.update(objects)
    if "ecr" in state:
        region.ecr.load_state(state["ecr"])


def _summary(region) -> dict[str, Any]:
    return {"name": region.name, "account": region.account, "seed": region.seed,
            "clock_ms": region.clock.now, "placement_requests": region.placement_requests,
            "task_count": region.task_count, "service_count": region.service_count,
            "clusters": list(region.clusters)}
