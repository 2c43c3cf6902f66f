"""The regions behind the endpoint, their journal and their clock.

Everything here runs on one thread (the app's region executor), so calls that
change state are applied one at a time in arrival order and a region is never
touched by two threads. The contract with the region (docs/endpoint.md):

- ``factory(name) -> region``; ``region.handle(service, operation, request)``
  answers or raises ``ServiceError``; ``region.clock.now`` is the virtual time
  in epoch milliseconds (``quaymaster.clock.Clock``); ``region.advance(seconds)``
  runs it on. A region with an ``ecr`` registry gets a resolver to the other
  regions' registries (replication) and ECR calls carry the caller's ARN.
- Optional, for snapshots: ``region.export_state() -> dict`` (pyarrow tables
  and JSON values) and ``region.import_state(state)`` on a fresh region. A
  region without them is rebuilt by replaying the whole journal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Any, Callable

from quaymaster.errors import ServiceError

from . import jsoncodec
from .journal import Journal
from .services import services

CLOCK = "_clock"
# Registry writes of /v2/ traffic (quaymaster.ecr.writes): pushes, deletes, pulled-through images.
REGISTRY = "_ecr_registry"
# Answer members a region draws at random (not from its seed): the journal keeps the
# value handed out, under DRAWN_KEY, and a replay maps it to the value drawn anew
# wherever a later request carries it (an ECR upload id, in UploadLayerPart ...).
DRAWN = {("ecr", "InitiateLayerUpload"): "uploadId"}
DRAWN_KEY = "_quaymasterDrawn"
IMPLICIT_CLUSTER = "default"   # the cluster ECS creates when a call names it (or no cluster)


def clock_datetime(region: Any) -> dt.datetime:
    """The region's virtual time: ``region.clock.now`` is epoch milliseconds."""
    return dt.datetime.fromtimestamp(region.clock.now / 1000, dt.timezone.utc)


class RegionHost:
    def __init__(self, factory: Callable[[str], Any], *, default_region: str, journal: Journal,
                 snapshot_every: int = 1000, clock: str = "virtual", speed: float = 1.0):
        self._factory = factory
        self.default_region = default_region
        self.journal = journal
        self.snapshot_every = snapshot_every
        self.real_time = clock == "real"
        self.speed = speed
        self.regions: dict[str, Any] = {}
        self.elapsed = 0.0          # virtual seconds advanced since the start of the journal
        self._since_snapshot = 0
        self._wall_origin = (time.monotonic(), 0.0)
        self._redrawn: dict[str, dict[str, str]] = {}   # member -> {journaled value: replayed value}
        self._replaying: dict[int, Any] | None = None    # while loading: the ECR blob stores met
        self.loaded: dict[str, float] = {}

    # --- start-up and recovery -------------------------------------------

    def load(self) -> int:
        """Latest snapshot plus the journal after it; returns how many calls were replayed.

        A replay of ``snapshot_every`` calls or more ends with a snapshot, so the next
        start does not replay them again. ``self.loaded`` says what the start cost.
        """
        self._replaying = {}
        try:
            return self._load()
        finally:
            stores, self._replaying = self._replaying, None
            for store in stores.values():
                store.end_replay()   # blobs the replay let go of, and nothing holds again
            for region in self.regions.values():
                if getattr(region, "ecr", None) is not None:
                    region.ecr.write_log = []

    def _load(self) -> int:
        began = time.perf_counter()
        self.regions, self.elapsed, self._redrawn = {}, 0.0, {}
        seq, states = self.journal.latest_snapshot()
        if states:
            kept = states.pop("_host", {})
            self.elapsed = float(kept.get("elapsed", 0.0))
            self._redrawn = kept.get("redrawn", {})
            for name, state in states.items():
                region = self._make(name)
                region.import_state(state)
                self.regions[name] = region
        self.region(self.default_region)
        snapshot_loaded = time.perf_counter()
        replayed, last = 0, seq
        for entry in self.journal.entries(after=seq):
            self._replay(entry)
            replayed, last = replayed + 1, entry.seq
        self._since_snapshot = replayed
        replay_done = time.perf_counter()
        if self.journal.durable and replayed >= self.snapshot_every:
            self._snapshot(last)
        self._wall_origin = (time.monotonic(), self.elapsed)
        self.loaded = {"snapshot_seq": seq, "snapshot_load_s": snapshot_loaded - began,
                       "replayed": replayed, "replay_s": replay_done - snapshot_loaded,
                       "snapshot_write_s": time.perf_counter() - replay_done}
        return replayed

    def _replay(self, entry) -> None:
        if entry.service == CLOCK:
            self._advance_all(float(entry.params["seconds"]))
            return
        if entry.service == REGISTRY:
            with contextlib.suppress(ServiceError):   # accepted once: accepted again
                self.region(entry.region).ecr.apply_write(entry.operation, entry.params)
            return
        operation = services()[entry.service].operation(entry.operation)
        assert operation is not None, f"journaled operation {entry.operation} left the model"
        journaled = dict(entry.params)
        drawn = journaled.pop(DRAWN_KEY, None)
        params = jsoncodec.decode_input(self._as_redrawn(journaled), operation.input_shape)
        try:
            answer = self.region(entry.region).handle(entry.service, entry.operation, params)
        except ServiceError:
            return  # it was accepted once; a deterministic region accepts it again
        for member, value in (drawn or {}).items():
            self._redrawn.setdefault(member, {})[value] = answer[member]

    def _as_redrawn(self, params: dict) -> dict:
        """``params`` with values drawn before a restart replaced by those drawn on replay."""
        for member, renamed in self._redrawn.items():
            if isinstance(params.get(member), str) and params[member] in renamed:
                params = dict(params, **{member: renamed[params[member]]})
        return params

    # --- calls --------------------------------------------------------------

    def _make(self, name: str) -> Any:
        region = self._factory(name)
        ecr = getattr(region, "ecr", None)
        if ecr is not None:
            ecr.resolver = lambda other: self.region(other).ecr
            ecr.peer = lambda other: self.regions[other].ecr if other in self.regions else None
            if self._replaying is None:
                ecr.write_log = []
            elif id(ecr.blobs) not in self._replaying:   # a store shared by regions: once
                self._replaying[id(ecr.blobs)] = ecr.blobs
                ecr.blobs.begin_replay()
        return region

    def region(self, name: str) -> Any:
        if name not in self.regions:
            region = self._make(name)
            if self.elapsed:
                region.advance(self.elapsed)  # regions share one clock
            self.regions[name] = region
        return self.regions[name]

    def call(self, region: str, service: str, operation: str, params: dict, mutating: bool,
             principal: str | None = None) -> dict:
        self.follow_wall()
        extra = {"principal": principal} if service == "ecr" else {}
        target = self.region(region)
        no_default = _lacks_default(target)
        # The journal keeps what the client sent: its replay maps the values again.
        try:
            answer = target.handle(service, operation, self._as_redrawn(params), **extra)
        except ServiceError:
            if no_default:
                self._journal_implicit_cluster(region, target)
            raise
        finally:  # a read can write too: BatchGetImage caching a pulled-through image
            if service == "ecr":
                self._journal_writes(region)
        if no_default and not mutating:
            self._journal_implicit_cluster(region, target)
        if mutating:
            model = services()[service].operation(operation)
            shape = model.input_shape if model is not None else None
            record = jsoncodec.encode_output(params, shape) or {}
            drawn = DRAWN.get((service, operation))
            if drawn is not None:
                record[DRAWN_KEY] = {drawn: answer[drawn]}
            self._record(region, service, operation, record)
        return answer

    def registry_writes(self, region: str, writes: list[tuple[str, dict]]) -> list:
        """Apply /v2/ registry writes to ``region``'s registry and journal them, in order."""
        try:
            return self.region(region).ecr.apply_writes(writes)
        finally:  # those applied before a refusal stay applied: journal them
            self._journal_writes(region)

    def _journal_writes(self, region: str) -> None:
        for operation, params in self.region(region).ecr.take_writes():
            self._record(region, REGISTRY, operation, params)

    def _journal_implicit_cluster(self, region: str, target: Any) -> None:
        """ECS makes the ``default`` cluster when a call names it, reads and refused calls
        too: a call the journal does not keep made it, so the journal keeps its creation
        (the same record CreateCluster makes), in its place among the calls."""
        if IMPLICIT_CLUSTER in target.clusters:
            self._record(region, "ecs", "CreateCluster", {"clusterName": IMPLICIT_CLUSTER})

    def lookup(self, region: str, service: str, operation: str, params: dict) -> dict:
        """A read on behalf of authorization (resource tags, repository policies)."""
        target = self.region(region)
        no_default = _lacks_default(target)
        try:
            return target.handle(service, operation, params)
        finally:
            if no_default:
                self._journal_implicit_cluster(region, target)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ServiceError("InvalidParameterException", "seconds must not be negative")
        self._advance_all(seconds)
        self._record(self.default_region, CLOCK, "advance", {"seconds": seconds})

    def _advance_all(self, seconds: float) -> None:
        self.region(self.default_region)
        for region in self.regions.values():
            region.advance(seconds)
        self.elapsed += seconds

    def follow_wall(self) -> None:
        """In real-time mode, bring the virtual clock up to wall time times the speed."""
        if not self.real_time:
            return
        origin_wall, origin_elapsed = self._wall_origin
        behind = origin_elapsed + (time.monotonic() - origin_wall) * self.speed - self.elapsed
        if behind >= 0.001:
            self.advance(behind)

    def now(self) -> dt.datetime:
        return clock_datetime(self.region(self.default_region))

    def _record(self, region: str, service: str, operation: str, params: dict) -> None:
        seq = self.journal.append(self.now().timestamp(), region, service, operation, params)
        self._since_snapshot += 1
        if self.journal.durable and self._since_snapshot >= self.snapshot_every:
            self._snapshot(seq)

    def _snapshot(self, seq: int) -> None:
        regions = list(self.regions.items())
        if not all(hasattr(r, "export_state") and hasattr(r, "import_state") for _, r in regions):
            return
        states = {name: region.export_state() for name, region in regions}
        states["_host"] = {"elapsed": self.elapsed, "redrawn": self._redrawn}
        self.journal.write_snapshot(seq, states)
        self._since_snapshot = 0


def _lacks_default(region: Any) -> bool:
    """Whether ``region`` (a Region, or any region without clusters: never) lacks ``default``."""
    return IMPLICIT_CLUSTER not in getattr(region, "clusters", {IMPLICIT_CLUSTER: None})
