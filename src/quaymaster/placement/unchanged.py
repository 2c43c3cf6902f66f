"""Whether a request that placed nothing would fail alike now, without placing it again.

A request that placed no task failed at its first task, and the first task's failure (its
reason: the latest stage any instance reached, docs/semantics.md's placement failures) reads
each instance's own stage only. An instance that failed at a static stage (not ACTIVE, not
the request's capacity provider, agent, attributes) stays there whatever tasks come to it or
leave it. So the same request fails with the same reason while every change since, as the
cluster's change log records it, is tasks coming or going on such instances, or new
instances that are not candidates (another provider's). A seed changes none of this: it
only orders the instances that fit and names the closest instance of a failure.

A service waiting for capacity retries at every tick while other providers' services
place and instances register for them; those retries are answered here.
"""

from __future__ import annotations

import numpy as np

from quaymaster.model.change_log import INSTANCES, TASKS
from quaymaster.placement import prepare, reasons


class NothingPlaced:
    """What a request that placed nothing saw; :meth:`holds` says whether it still holds."""

    def __init__(self, cluster, request=None):
        """``request``: the PlacementRequest (None for a request refused before placing, which
        holds only while the log has not grown at all)."""
        log = cluster.owner.log
        self.log, self.state, self.log_end = log, cluster.state, log.end
        self.request = request
        self.static = None  # each instance's static stage, when changes elsewhere may be told apart
        if request is not None and _holds_something(request):
            self.static = prepare.shared_prefilter(cluster, request.requirements.required_attributes,
                                                   request.capacity_provider, request.excluded_attribute)

    def holds(self, cluster) -> bool:
        """Whether the same request would place nothing now, failing with the same reason."""
        log = cluster.owner.log
        if log is not self.log or cluster.state is not self.state:
            return False
        if log.end == self.log_end:
            return True
        rows = log.since(self.log_end) if self.static is not None else None
        if rows is None:
            return False
        positions, _, _, kinds = rows
        static = self._with_new_instances(cluster)
        if static is None:
            return False
        tasks = kinds == TASKS
        if not (tasks | ((kinds == INSTANCES) & (positions >= len(self.static)))).all():
            return False   # a status or attribute changed, or rows this cannot read
        if (static[positions[tasks]] == reasons.CPU).any():
            return False   # tasks came or went on a candidate
        self.static = static
        self.log_end = log.end   # what was read changes nothing: the next look reads only newer rows
        return True

    def _with_new_instances(self, cluster) -> np.ndarray | None:
        """The static stages with those of the instances registered since; None when one of
        them is a candidate (it may fit where nothing did)."""
        static, n = self.static, cluster.state.n
        if n == len(static):
            return static
        if n < len(static):
            return None
        codes = self._shared(cluster)[len(static):]
        if (codes != reasons.NOT_ACTIVE).any():
            return None
        return np.concatenate([static, codes])

    def _shared(self, cluster) -> np.ndarray:
        """The cluster's shared static stages of the request (prepare.shared_prefilter): each
        instance's code reads its own columns only, so those of the new instances are theirs
        as a prefilter of just them would give. Registrations make every waiting service look
        here, and the plans built after the registration read the same shared codes: they are
        computed once for all of them, not once per waiting service."""
        request = self.request
        return prepare.shared_prefilter(cluster, request.requirements.required_attributes,
                                        request.capacity_provider, request.excluded_attribute)


def _holds_something(request) -> bool:
    """Whether the request's tasks hold a resource (then it is never refused for the number of
    live tasks, which tasks elsewhere change)."""
    req = request.requirements
    return bool(req.cpu or req.memory or req.gpu or req.eni or request.ports_per_task)
