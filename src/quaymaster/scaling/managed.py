"""Managed scaling of a capacity provider: CapacityProviderReservation and the ASG's desired count.

Pure functions over what the region knows each minute: how many of the
provider's instances run (N), how many of them run a non-daemon task, what
the provider's PROVISIONING tasks need, and the provider's settings. The
rules are the cluster auto scaling ones of docs/semantics.md, "Scaling".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from quaymaster.errors import ServiceError
from quaymaster.fleet.catalog import InstanceType

SCALE_IN_MINUTES = 15          # minutes below target before a scale-in, and after a scale-out
MINUTE_MS = 60_000
FIRST_STEP = 2                 # ECS starts a provider with no instances at two
_LIMITS = {"targetCapacity": (1, 100, 100), "minimumScalingStepSize": (1, 10_000, 1),
           "maximumScalingStepSize": (1, 10_000, 10_000), "instanceWarmupPeriod": (0, 10_000, 300)}


@dataclass(frozen=True)
class ManagedScaling:
    target_capacity: int = 100
    minimum_scaling_step_size: int = 1
    maximum_scaling_step_size: int = 10_000
    instance_warmup_period: int = 300   # seconds
    managed_termination_protection: bool = False
    enabled: bool = True                # managedScaling.status

    @classmethod
    def from_request(cls, managed_scaling: Mapping | None, termination_protection: str | None = None,
                     field: str = "autoScalingGroupProvider") -> "ManagedScaling":
        """ECS's ``managedScaling`` and ``managedTerminationProtection`` members, checked.

        Managed scaling is on when ``managedScaling`` is given with status
        ENABLED or no status, off when it is left out or DISABLED; managed
        termination protection needs it on, as in ECS.
        """
        status = (managed_scaling or {}).get("status", "ENABLED" if managed_scaling else "DISABLED")
        if status not in ("ENABLED", "DISABLED"):
            raise ServiceError("InvalidParameterException",
                               f"{field}.managedScaling.status must be ENABLED or DISABLED (got {status!r})")
        values = {}
        for key, (low, high, default) in _LIMITS.items():
            value = (managed_scaling or {}).get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ServiceError("InvalidParameterException",
                                   f"{field}.managedScaling.{key} must be an integer from {low} to "
                                   f"{high} (got {value!r})")
            values[key] = value
        if values["minimumScalingStepSize"] > values["maximumScalingStepSize"]:
            raise ServiceError("InvalidParameterException",
                               f"{field}.managedScaling.minimumScalingStepSize "
                               f"({values['minimumScalingStepSize']}) must not exceed "
                               f"maximumScalingStepSize ({values['maximumScalingStepSize']})")
        if termination_protection not in (None, "ENABLED", "DISABLED"):
            raise ServiceError("InvalidParameterException",
                               f"{field}.managedTerminationProtection must be ENABLED or DISABLED "
                               f"(got {termination_protection!r})")
        if termination_protection == "ENABLED" and status != "ENABLED":
            raise ServiceError("InvalidParameterException",
                               f"{field}.managedTerminationProtection: managed termination protection "
                               "requires managed scaling to be enabled")
        return cls(values["targetCapacity"], values["minimumScalingStepSize"],
                   values["maximumScalingStepSize"], values["instanceWarmupPeriod"],
                   termination_protection == "ENABLED", status == "ENABLED")


def _capacity(instance_type: InstanceType) -> np.ndarray:
    return np.array([instance_type.cpu_units, instance_type.ecs_memory_mib,
                     instance_type.eni_limit, instance_type.gpus], dtype=np.int64)


def largest_and_smallest(types: Sequence[InstanceType]) -> tuple[InstanceType, InstanceType]:
    key = lambda t: (t.cpu_units, t.ecs_memory_mib, t.eni_limit, t.gpus)  # noqa: E731
    return max(types, key=key), min(types, key=key)


def instances_for_tasks(needs: np.ndarray, types: Sequence[InstanceType], fast: bool = False) -> int:
    """Instances of the largest type a first-fit-decreasing pack of the tasks needs.

    ``needs`` is a (tasks, 4) array of CPU units, memory MiB, ENIs and GPUs in
    arrival order. Tasks are sorted by CPU then memory, largest first (ties in
    arrival order); tasks that would not fit on the smallest type are left out.
    ``fast``: the same pack by :func:`_first_fit_bins` (the plain one below is the reference).
    """
    needs = np.asarray(needs, dtype=np.int64).reshape(-1, 4)
    if len(needs) == 0:
        return 0
    largest, smallest = largest_and_smallest(types)
    fits = (needs <= _capacity(smallest)).all(axis=1)
    packed = needs[fits]
    order = np.lexsort((np.arange(len(packed)), -packed[:, 1], -packed[:, 0]))
    if fast:
        return _first_fit_bins(packed[order].tolist(), _capacity(largest).tolist())
    # free[b] is what bin b has left; one vectorised fit test over the open bins per task
    free = np.empty((len(packed), 4), dtype=np.int64)
    opened = 0
    for need in packed[order]:
        fits = (free[:opened] >= need).all(axis=1)
        first = int(fits.argmax()) if opened and fits.any() else opened
        if first == opened:
            free[opened] = _capacity(largest)
            opened += 1
        free[first] -= need
    return opened


def _first_fit_bins(needs: list, capacity: list) -> int:
    """Bins of ``capacity`` a first fit of ``needs`` (4-lists, in packing order) opens, in plain
    Python: a minute's few hundred tasks cost less so than one small numpy test per task. A
    need equal to the one before starts its search at the bin that one went to: every bin
    before it refused that need already and has only lost room since."""
    free: list = []
    start, last = 0, None
    for need in needs:
        if need != last:
            start, last = 0, need
        cpu, memory, enis, gpus = need
        for k in range(start, len(free)):
            room = free[k]
            if room[0] >= cpu and room[1] >= memory and room[2] >= enis and room[3] >= gpus:
                break
        else:
            k = len(free)
            free.append(list(capacity))
        room = free[k]
        room[0] -= cpu
        room[1] -= memory
        room[2] -= enis
        room[3] -= gpus
        start = k
    return len(free)


def reservation(n: int, m: int) -> float:
    """CapacityProviderReservation: 100 * M / N, 100 when M = N = 0, 200 when N = 0 < M."""
    if n == 0:
        return 100.0 if m == 0 else 200.0
    return 100.0 * m / n


def instances_needed(n: int, busy: int, provisioning: np.ndarray, types: Sequence[InstanceType],
                     settings: ManagedScaling, fast: bool = False) -> int:
    """M: the busy instances plus the pack of PROVISIONING tasks, at least N + step while any waits."""
    provisioning = np.asarray(provisioning, dtype=np.int64).reshape(-1, 4)
    m = busy + instances_for_tasks(provisioning, types, fast)
    if len(provisioning):
        m = max(m, n + settings.minimum_scaling_step_size)
    return m


@dataclass(frozen=True)
class ProviderState:
    minutes_below_target: int = 0
    last_scale_out_ms: int | None = None


@dataclass(frozen=True)
class ManagedScalingResult:
    reservation: float
    n: int
    m: int
    desired: int               # the ASG's new desired count (its current one when unchanged)
    cause: str | None          # None when the desired count stays
    state: ProviderState


def _scale_out(n: int, m: int, settings: ManagedScaling, asg_max: int) -> int:
    if n == 0:  # ECS starts with two instances (fewer if the maximum step says so, more if the minimum)
        first = max(settings.minimum_scaling_step_size,
                    min(FIRST_STEP, settings.maximum_scaling_step_size))
        return min(first, asg_max)
    goal = math.ceil(m * 100 / settings.target_capacity)
    desired = min(max(goal, n + settings.minimum_scaling_step_size),
                  n + settings.maximum_scaling_step_size)
    return min(desired, asg_max)


def _scale_in(n: int, m: int, idle: int, settings: ManagedScaling, asg_min: int) -> int:
    goal = math.ceil(m * 100 / settings.target_capacity)
    drop = min(n - goal, math.ceil(n / 2), settings.maximum_scaling_step_size)
    if settings.managed_termination_protection:
        drop = min(drop, idle)  # only instances without non-daemon tasks may go
    return max(asg_min, n - max(0, drop))


def managed_scaling_step(now_ms: int, *, n: int, busy: int, provisioning: np.ndarray,
                         types: Sequence[InstanceType], settings: ManagedScaling,
                         asg_desired: int, asg_min: int, asg_max: int, warming: int,
                         state: ProviderState = ProviderState(), fast: bool = False) -> ManagedScalingResult:
    """One provider's managed scaling at minute ``now_ms``.

    ``n``: the provider's instances running (registered or booting); ``busy``:
    those running at least one non-daemon task; ``provisioning``: (tasks, 4)
    needs of its PROVISIONING tasks; ``warming``: its instances launched less
    than ``instanceWarmupPeriod`` ago.
    """
    m = instances_needed(n, busy, provisioning, types, settings, fast)
    cpr = reservation(n, m)
    below = state.minutes_below_target + 1 if cpr < settings.target_capacity else 0
    state = replace(state, minutes_below_target=below)
    if cpr > settings.target_capacity:
        desired = _scale_out(n, m, settings, asg_max)
        if warming == 0 and desired > asg_desired:
            return ManagedScalingResult(cpr, n, m, desired,
                                        f"CapacityProviderReservation {cpr:g} above target "
                                        f"{settings.target_capacity}: desired capacity {desired}",
                                        replace(state, last_scale_out_ms=now_ms))
    elif below >= SCALE_IN_MINUTES and (state.last_scale_out_ms is None or
                                        now_ms - state.last_scale_out_ms >= SCALE_IN_MINUTES * MINUTE_MS):
        desired = _scale_in(n, m, n - busy, settings, asg_min)
        if desired < asg_desired:
            return ManagedScalingResult(cpr, n, m, desired,
                                        f"CapacityProviderReservation {cpr:g} below target "
                                        f"{settings.target_capacity} for {below} minutes: desired "
                                        f"capacity {desired}", state)
    return ManagedScalingResult(cpr, n, m, asg_desired, None, state)

