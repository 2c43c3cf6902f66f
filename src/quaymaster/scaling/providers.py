"""Managed scaling of every capacity provider, run on each whole minute.

:class:`CapacityProviderScaling` keeps each provider's state between minutes,
reads N from the provider's Auto Scaling group (every instance of the group is
running or booting), applies managed termination protection to the group, and
sets the group's desired count through :meth:`AutoScaling.set_desired`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.scaling.managed import ManagedScaling, ProviderState, managed_scaling_step


@dataclass(frozen=True)
class ProviderView:
    """What the region knows of one capacity provider with managed scaling this minute."""

    name: str
    group: str                          # the provider's autoScalingGroupArn (or the group's name)
    settings: ManagedScaling
    busy_instances: set[str] | frozenset[str]   # EC2 ids running a non-daemon task (read only)
    provisioning: np.ndarray            # (tasks, 4): CPU, memory, ENIs, GPUs of its PROVISIONING tasks


@dataclass(frozen=True)
class ProviderOutcome:
    """The minute's figures of one provider (the metrics table's N, M and reservation)."""

    time_ms: int
    provider: str
    group: str                          # the group's name
    reservation: float
    n: int
    m: int
    from_desired: int
    to_desired: int
    cause: str | None                   # None when the desired count stayed


class CapacityProviderScaling:
    def __init__(self, autoscaling: AutoScaling):
        self.autoscaling = autoscaling
        self.states: dict[str, ProviderState] = {}

    def forget(self, provider: str) -> None:
        """A deleted provider's state goes with it."""
        self.states.pop(provider, None)

    def run(self, now_ms: int, providers: Sequence[ProviderView], fast: bool = False) -> list[ProviderOutcome]:
        """Step 5 of the clock, capacity provider managed scaling, for each provider in order.

        Providers whose group no longer exists, or with managed scaling
        disabled, are skipped (no outcome). ``fast``: the region's fast paths (the pack of
        PROVISIONING tasks, ``managed.instances_for_tasks``).
        """
        outcomes = []
        for view in providers:
            group = self.autoscaling.find_group(view.group)
            if group is None or not view.settings.enabled:  # no group any more, or not managed
                continue
            busy_here = view.busy_instances.intersection(group.instances)
            if view.settings.managed_termination_protection:
                group.set_protection(busy_here - group.protected_ids, True)
                group.set_protection(group.protected_ids - busy_here, False)
            n, busy = len(group.instances), len(busy_here)
            result = managed_scaling_step(
                now_ms, n=n, busy=busy, provisioning=view.provisioning, types=group.instance_types,
                settings=view.settings, asg_desired=group.desired, asg_min=group.min_size,
                asg_max=group.max_size, warming=group.warming(now_ms, view.settings.instance_warmup_period),
                state=self.states.get(view.name, ProviderState()), fast=fast)
            self.states[view.name] = result.state
            before = group.desired
            if result.cause is not None:
                self.autoscaling.set_desired(group, result.desired)
            outcomes.append(ProviderOutcome(now_ms, view.name, group.name, result.reservation, result.n,
                                            result.m, before, group.desired, result.cause))
        return outcomes
