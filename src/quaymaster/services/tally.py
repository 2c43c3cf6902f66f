"""Counters of a deployment's tasks, kept as the tasks change.

A scheduler pass and a minute's metrics read how many of a service's tasks
are running, pending, healthy, live...; walking every task for that made each
pass cost the size of the service. Instead every deployment keeps a
:class:`Tally`, changed only where a task changes, so reading it costs
nothing and a pass costs what it does.

A task is counted by its *class*, a small int made of exactly what the
counters read of it: the group of its last status, whether its desired status
is RUNNING, whether it has become healthy and whether its instance is
DRAINING. Whoever changes one of those on a task of a deployment calls
:meth:`Deployment.retally` (the region's lifecycle listener does it for
every lifecycle change, draining an instance does it for the instance's
tasks); tasks join and leave a deployment through ``Deployment.add_task`` /
``drop_task``. :func:`recount` is the plain walk the counters always equal
(tests/services/test_tally.py checks it over random histories).
"""

from __future__ import annotations

UNCOUNTED = -1   # the class of a task no deployment counts

# The group of a last status: live before RUNNING, RUNNING, stopping, STOPPED.
_BEFORE_RUNNING, _RUNNING, _STOPPING, _STOPPED = range(4)
_GROUP = {"PROVISIONING": _BEFORE_RUNNING, "PENDING": _BEFORE_RUNNING, "ACTIVATING": _BEFORE_RUNNING,
          "RUNNING": _RUNNING, "DEACTIVATING": _STOPPING, "STOPPING": _STOPPING,
          "DEPROVISIONING": _STOPPING, "STOPPED": _STOPPED}
_DESIRED_RUNNING, _HEALTHY_AT, _ON_DRAINING = 4, 8, 16

# The counters (slots of Tally.counts).
RUNNING = 0    # desired RUNNING and RUNNING (ECS's runningCount)
PENDING = 1    # desired RUNNING and not RUNNING (ECS's pendingCount)
HEALTHY = 2    # live and healthy
PRESENT = 3    # not yet STOPPED
LIVE = 4       # desired RUNNING and not yet past RUNNING (Task.live)
STOPPING = 5   # desired STOPPED (being stopped, or STOPPED and not yet dropped)
SLOTS = 6


def task_class(task) -> int:
    """What the counters read of ``task``, as one int."""
    code = _GROUP[task.last_status]
    if task.desired_status == "RUNNING":
        code |= _DESIRED_RUNNING
    if task.healthy_at is not None:
        code |= _HEALTHY_AT
    if task.on_draining:
        code |= _ON_DRAINING
    return code


def _contribution(code: int) -> tuple:
    """(what a task of this class adds to each counter, whether it is live, live on a DRAINING instance)."""
    if code == UNCOUNTED:
        return (0,) * SLOTS, False, False
    group, desired = code & 3, bool(code & _DESIRED_RUNNING)
    live = desired and group in (_BEFORE_RUNNING, _RUNNING)
    counts = [0] * SLOTS
    counts[RUNNING] = int(desired and group == _RUNNING)
    counts[PENDING] = int(desired and group != _RUNNING)
    counts[HEALTHY] = int(live and bool(code & _HEALTHY_AT))
    counts[PRESENT] = int(group != _STOPPED)
    counts[LIVE] = int(live)
    counts[STOPPING] = int(not desired)
    return tuple(counts), live, live and bool(code & _ON_DRAINING)


def _changes() -> dict:
    """(old class, new class) -> (the counters that change and by how much, live change, draining change)."""
    codes = [UNCOUNTED, *range(32)]
    out = {}
    for old in codes:
        before, was_live, was_draining = _contribution(old)
        for new in codes:
            after, is_live, is_draining = _contribution(new)
            deltas = tuple((slot, after[slot] - before[slot]) for slot in range(SLOTS) if after[slot] != before[slot])
            out[old, new] = (deltas, is_live - was_live, is_draining - was_draining)
    return out


_CHANGES = _changes()


class Tally:
    """One deployment's counters; ``draining``: its live tasks on DRAINING instances (ARN -> task);
    ``by_provider``: its live tasks per capacity provider (providers holding none left out)."""

    __slots__ = ("counts", "draining", "by_provider")

    def __init__(self):
        self.counts = [0] * SLOTS
        self.draining: dict = {}
        self.by_provider: dict = {}

    def move(self, task, new: int) -> None:
        """Count ``task`` as of class ``new`` instead of the class it was counted as."""
        deltas, live, draining = _CHANGES[task.tally_class, new]
        task.tally_class = new
        counts = self.counts
        for slot, delta in deltas:
            counts[slot] += delta
        if live and task.capacity_provider is not None:
            held = self.by_provider.get(task.capacity_provider, 0) + live
            if held:
                self.by_provider[task.capacity_provider] = held
            else:
                del self.by_provider[task.capacity_provider]
        if draining > 0:
            self.draining[task.arn] = task
        elif draining < 0:
            del self.draining[task.arn]


def recount(tasks) -> Tally:
    """The plain walk: a Tally of ``tasks`` counted from scratch from the tasks' own fields
    (what the kept one must always equal)."""
    tally = Tally()
    counts = tally.counts
    for task in tasks:
        desired = task.desired_status == "RUNNING"
        counts[RUNNING] += desired and task.last_status == "RUNNING"
        counts[PENDING] += desired and task.last_status != "RUNNING"
        counts[HEALTHY] += task.healthy
        counts[PRESENT] += task.last_status != "STOPPED"
        counts[LIVE] += task.live
        counts[STOPPING] += not desired
        if task.live and task.capacity_provider is not None:
            tally.by_provider[task.capacity_provider] = tally.by_provider.get(task.capacity_provider, 0) + 1
        if task.live and task.on_draining:
            tally.draining[task.arn] = task
    return tally
