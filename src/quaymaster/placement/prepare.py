"""Arrays the C core needs for one request, computed once per request.

Stages that cannot change while a request is placed (status, agent,
required attributes) are folded into one ``prefilter`` code per instance;
memberOf masks come from the compiled CQL; tie keys are cached per seed.
"""

from __future__ import annotations

import numpy as np

from quaymaster.keys import tie_keys
from quaymaster.model.change_log import TASKS
from quaymaster.model.schema import ACTIVE
from quaymaster.placement import reasons

_TIE_CACHE_SIZE = 8


def prefilter(state, required_attributes, capacity_provider: str | None = None,
              excluded_attribute: str | None = None, positions: np.ndarray | None = None) -> np.ndarray:
    """Per instance (or per instance of ``positions``): the static stage it stops at, or CPU
    when it goes on to the resources. Each instance's code reads only its own columns.

    With ``capacity_provider`` only that provider's instances are candidates (a task a
    capacity provider strategy assigned to an Auto Scaling group's provider); the others
    count as not ACTIVE for it. Instances with ``excluded_attribute`` (EC2 tasks skip
    ``ecs.capability.external`` instances) stop at the attribute stage.
    """
    at = slice(None) if positions is None else positions
    n = state.n if positions is None else len(positions)
    code = np.full(n, reasons.CPU, dtype=np.uint8)
    has_attributes = np.ones(n, dtype=np.bool_)
    for name, value in required_attributes:
        column = state.attributes.get(name)
        if column is None:
            has_attributes[:] = False
            break
        wanted = column.lookup(value) if value is not None else None
        if value is None:
            has_attributes &= column.codes[at] >= 0
        elif wanted < 0:  # no instance has this value
            has_attributes[:] = False
        else:
            has_attributes &= column.codes[at] == wanted
    if excluded_attribute is not None and excluded_attribute in state.attributes:
        has_attributes &= state.attributes[excluded_attribute].codes[at] < 0
    code[~has_attributes] = reasons.ATTRIBUTE
    code[~state.agent_connected[at]] = reasons.AGENT
    code[state.status[at] != ACTIVE] = reasons.NOT_ACTIVE
    if capacity_provider is not None:
        code[~_of_provider(state.capacity_provider, capacity_provider, positions)] = reasons.NOT_ACTIVE
    return code


def _of_provider(providers: list, capacity_provider: str, positions: np.ndarray | None) -> np.ndarray:
    """Whether each instance (of ``positions``) is registered with ``capacity_provider``. All of
    them: one elementwise == over an object array, not a loop; a few (the instances registered
    since a failed request): only theirs, not an object array of the whole cluster."""
    if positions is None:
        return np.asarray(providers, dtype=object) == capacity_provider
    return np.array([providers[p] == capacity_provider for p in positions.tolist()], dtype=np.bool_)


_SHARED_KEPT = 32


class _SharedPrefilter:
    """A whole-cluster prefilter and the change-log index up to which it is known current."""

    def __init__(self, log, state, log_index: int, codes: np.ndarray):
        self.log, self.state, self.log_index, self.codes = log, state, log_index, codes

    def current(self, log, state) -> bool:
        """Whether nothing a static stage reads changed since: the log holds only task rows
        since (tasks coming and going change no status, attribute or instance count)."""
        if log is not self.log or state is not self.state or len(self.codes) != state.n:
            return False
        rows = log.since(self.log_index)
        if rows is None or (len(rows[3]) and (rows[3] != TASKS).any()):
            return False
        self.log_index = log.end  # checked up to here: the next look reads only newer rows
        return True


def shared_prefilter(cluster, required_attributes, capacity_provider: str | None = None,
                     excluded_attribute: str | None = None) -> np.ndarray:
    """:func:`prefilter` of every instance, shared by the plans a cluster builds until a
    static stage may have changed (a status or attribute change or new instances, each a
    change-log row). Plans of a simulation's services are rebuilt together whenever
    instances register; each kind of static stages is computed once for all of them.
    Read-only: a plan copies it (and repairs its copy)."""
    log, state, kept = cluster.owner.log, cluster.state, cluster.caches.prefilters
    key = (required_attributes, capacity_provider, excluded_attribute)
    entry = kept.get(key)
    if entry is not None and entry.current(log, state):
        return entry.codes
    codes = prefilter(state, required_attributes, capacity_provider, excluded_attribute)
    codes.flags.writeable = False
    if key not in kept and len(kept) >= _SHARED_KEPT:
        kept.pop(next(iter(kept)))
    kept[key] = _SharedPrefilter(log, state, log.end, codes)
    return codes


def prefilter_of(state, required_attributes, position: int, capacity_provider: str | None = None,
                 excluded_attribute: str | None = None) -> int:
    """:func:`prefilter`'s code of one instance, with Python scalars (a kept plan refreshes
    the few instances a drain or an attribute change touched)."""
    if state.status[position] != ACTIVE:
        return reasons.NOT_ACTIVE
    if capacity_provider is not None and state.capacity_provider[position] != capacity_provider:
        return reasons.NOT_ACTIVE
    if not state.agent_connected[position]:
        return reasons.AGENT
    for name, value in required_attributes:
        column = state.attributes.get(name)
        if column is None:
            return reasons.ATTRIBUTE
        code = column.codes[position]
        if (code < 0) if value is None else (code != column.lookup(value) or code < 0):
            return reasons.ATTRIBUTE
    if excluded_attribute is not None and excluded_attribute in state.attributes \
            and state.attributes[excluded_attribute].codes[position] >= 0:
        return reasons.ATTRIBUTE
    return reasons.CPU


def member_mask(state, constraints) -> np.ndarray:
    """1 where every memberOf expression holds, as the C core wants it (uint8)."""
    ok = np.ones(state.n, dtype=np.bool_)
    for query in constraints.member_of:
        ok &= query.mask(state)
    return ok.view(np.uint8)


_MEMBER_MASKS_KEPT = 32


def static_member_mask(cluster, constraints) -> np.ndarray:
    """:func:`member_mask` of expressions that read no live state, shared by the plans of a
    cluster until an attribute changes or instances come (the only changes such an
    expression reads; a drain does not). Read-only: callers copy it."""
    log, masks = cluster.owner.log, cluster.caches.member_masks
    key = tuple(query.text for query in constraints.member_of)
    kept = masks.get(key)
    if kept is not None and kept[0] is log and kept[1] == log.attribute_epoch and len(kept[2]) == cluster.state.n:
        return kept[2]
    mask = member_mask(cluster.state, constraints)
    mask.flags.writeable = False
    if key not in masks and len(masks) >= _MEMBER_MASKS_KEPT:
        masks.pop(next(iter(masks)))
    masks[key] = (log, log.attribute_epoch, mask)
    return mask


def cached_tie_keys(cluster, seed: int) -> np.ndarray:
    """k(p) for every position, kept per cluster for the last few seeds."""
    cache = cluster.caches.tie_keys
    keys = cache.get(seed)
    if keys is None or len(keys) != cluster.state.n:
        if len(cache) >= _TIE_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        keys = cache[seed] = tie_keys(seed, cluster.state.n)
    return keys


def spread_buckets(state, attribute: str, group_count: np.ndarray,
                   bucket: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bucket per instance (its attribute value; lacking it is one more bucket) and the
    group's live tasks per bucket, over every instance of the cluster. ``bucket``: the
    buckets already known (:func:`shared_buckets`)."""
    column = state.attribute(attribute)
    missing_bucket = len(column.values)
    if bucket is None:
        bucket = np.where(column.codes < 0, missing_bucket, column.codes).astype(np.int32)
    counts = np.bincount(bucket, weights=group_count, minlength=missing_bucket + 1)
    return bucket, counts.astype(np.int64)


def shared_buckets(cluster, attribute: str, group_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`spread_buckets`, the bucket of each instance shared by the cluster's plans
    until an attribute changes or instances come (what the buckets read; the core only
    reads them). The group's counts are the caller's own."""
    log, state, kept = cluster.owner.log, cluster.state, cluster.caches.spread_buckets
    entry = kept.get(attribute)
    if entry is not None and entry[0] is log and entry[1] == log.attribute_epoch and entry[2] is state \
            and len(entry[3]) == state.n:
        return spread_buckets(state, attribute, group_count, entry[3])
    bucket, counts = spread_buckets(state, attribute, group_count)
    bucket.flags.writeable = False
    if attribute not in kept and len(kept) >= _SHARED_KEPT:
        kept.pop(next(iter(kept)))
    kept[attribute] = (log, log.attribute_epoch, state, bucket)
    return bucket, counts


def next_power_of_two(x: int) -> int:
    return 1 << max(4, (int(x) - 1).bit_length())
