"""Service and cluster auto scaling: Application Auto Scaling, capacity provider strategies,
managed scaling of capacity providers, Auto Scaling groups and Fargate launches.

Every piece is a self-contained state object or a pure function that the
region calls on each whole minute of the virtual clock (docs/semantics.md,
"Scaling"):

- :class:`ApplicationAutoScaling` (API methods; ``run_scheduled_actions`` then
  ``run_policies`` each minute) with the pure :func:`decide_target`;
- :func:`parse_strategy` and :func:`split_tasks` for capacity provider strategies;
- :class:`AutoScaling` (EC2 Auto Scaling group API; ``reconcile`` each tick);
- :class:`CapacityProviderScaling` (managed scaling each minute) over the pure
  :func:`managed_scaling_step`;
- Fargate: :func:`check_fargate_size`, :func:`spread_zones`, :func:`spot_interruptions`.
"""

from quaymaster.scaling.appautoscaling import ApplicationAutoScaling
from quaymaster.scaling.asg import AsgAction, AutoScalingGroup
from quaymaster.scaling.autoscaling_api import AutoScaling
from quaymaster.scaling.decide import Decision, TargetState, decide_target
from quaymaster.scaling.fargate import (check_fargate_size, check_no_placement, spot_interruptions,
                                        spread_zones)
from quaymaster.scaling.managed import (ManagedScaling, ManagedScalingResult, ProviderState,
                                        managed_scaling_step)
from quaymaster.scaling.providers import CapacityProviderScaling, ProviderOutcome, ProviderView
from quaymaster.scaling.records import ScalingChange, ServiceView
from quaymaster.scaling.strategy import parse_strategy, split_tasks

__all__ = ["ApplicationAutoScaling", "AsgAction", "AutoScaling", "AutoScalingGroup",
           "CapacityProviderScaling", "Decision", "ManagedScaling", "ManagedScalingResult",
           "ProviderOutcome", "ProviderState", "ProviderView", "ScalingChange", "ServiceView",
           "TargetState", "check_fargate_size", "check_no_placement", "decide_target",
           "managed_scaling_step", "parse_strategy", "spot_interruptions", "split_tasks",
           "spread_zones"]
