"""Traffic shifting of a blue/green deployment: the steps (time -> weights) and their progress.

A configuration is a list of steps ``(offset_ms, green_percent)`` from the
moment the shift starts, plus the wait after the last step before blue is
drained and removed. Sources:

- CodeDeploy's predefined configurations (``ECSAllAtOnce``,
  ``ECSLinear10PercentEvery1Minutes``, ``ECSLinear10PercentEvery3Minutes``,
  ``ECSCanary10Percent5Minutes``, ``ECSCanary10Percent15Minutes``, with or
  without the ``CodeDeployDefault.`` prefix); a linear one moves its percent
  at once and again every interval until 100; a canary one moves its percent
  at once and the rest after the interval.
- A custom CodeDeploy configuration, named in a simulation as CodeDeploy's
  ``trafficRoutingConfig`` names it: ``{"type": "TimeBasedLinear",
  "timeBasedLinear": {"linearPercentage": P, "linearInterval": MINUTES}}``,
  ``{"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": P,
  "canaryInterval": MINUTES}}`` or ``{"type": "AllAtOnce"}``.
- ECS's own ``deploymentConfiguration.strategy``: ``BLUE_GREEN`` (all at once),
  ``LINEAR`` (``linearConfiguration.stepPercent`` every
  ``stepBakeTimeInMinutes``), ``CANARY`` (``canaryConfiguration``); the wait
  after the shift is ``bakeTimeInMinutes``.

**Decision** (docs/semantics.md, "Blue/green"): a step moves only when the
previous step's bake time has passed with green steady; green not steady at a
step, or a tripped circuit breaker, moves all traffic back to blue.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from quaymaster.errors import ServiceError

MINUTE_MS = 60_000
DEFAULT_WAIT_MINUTES = 60          # CodeDeploy's default termination wait for the blue task set

_PREDEFINED = re.compile(r"^(?:CodeDeployDefault\.)?ECS(?:(AllAtOnce)|Linear(\d+)PercentEvery(\d+)Minutes?"
                         r"|Canary(\d+)Percent(\d+)Minutes?)$")
PREDEFINED = ("ECSAllAtOnce", "ECSLinear10PercentEvery1Minutes", "ECSLinear10PercentEvery3Minutes",
              "ECSCanary10Percent5Minutes", "ECSCanary10Percent15Minutes")


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


@dataclass(frozen=True)
class ShiftPlan:
    """Steps ``(offset_ms, green_percent)`` from the shift's start, and the wait after the last one."""

    steps: tuple
    wait_ms: int = DEFAULT_WAIT_MINUTES * MINUTE_MS

    @property
    def shift_ms(self) -> int:
        return self.steps[-1][0]

    def green_percent_at(self, offset_ms: int) -> float:
        """Green's weight ``offset_ms`` after the shift started, when every step moved on time."""
        percent = 0.0
        for at, green in self.steps:
            if at > offset_ms:
                break
            percent = green
        return percent


def _check_percent(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100 \
            or not math.isfinite(value):
        raise _invalid(f"{field} must be a number in (0, 100], found {value!r}.")
    return float(value)


def _check_minutes(value, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(f"{field} must be an integer of at least {minimum} minutes, found {value!r}.")
    return value


def linear(percent: float, interval_minutes: int, wait_minutes: int = DEFAULT_WAIT_MINUTES) -> ShiftPlan:
    """``percent`` at once, then ``percent`` more every interval, the last step capped at 100."""
    count = math.ceil(100 / percent)
    steps = tuple((k * interval_minutes * MINUTE_MS, min(100.0, (k + 1) * percent)) for k in range(count))
    return ShiftPlan(steps, wait_minutes * MINUTE_MS)


def canary(percent: float, interval_minutes: int, wait_minutes: int = DEFAULT_WAIT_MINUTES) -> ShiftPlan:
    """``percent`` at once, the rest after the interval."""
    if percent >= 100:
        return all_at_once(wait_minutes)
    return ShiftPlan(((0, float(percent)), (interval_minutes * MINUTE_MS, 100.0)), wait_minutes * MINUTE_MS)


def all_at_once(wait_minutes: int = DEFAULT_WAIT_MINUTES) -> ShiftPlan:
    return ShiftPlan(((0, 100.0),), wait_minutes * MINUTE_MS)


def codedeploy_plan(config, wait_minutes: int = DEFAULT_WAIT_MINUTES) -> ShiftPlan:
    """A CodeDeploy deployment configuration: a predefined name or a custom ``trafficRoutingConfig``."""
    wait_minutes = _check_minutes(wait_minutes, "terminationWaitTimeInMinutes")
    if isinstance(config, str):
        match = _PREDEFINED.match(config)
        if match is None:
            raise _invalid(f"Unknown deployment configuration {config!r}; expected one of "
                           f"{', '.join(PREDEFINED)} or a custom trafficRoutingConfig.")
        allatonce, lin_p, lin_i, can_p, can_i = match.groups()
        if allatonce:
            return all_at_once(wait_minutes)
        if lin_p is not None:
            return linear(_check_percent(int(lin_p), "linearPercentage"),
                          _check_minutes(int(lin_i), "linearInterval", minimum=1), wait_minutes)
        return canary(_check_percent(int(can_p), "canaryPercentage"),
                      _check_minutes(int(can_i), "canaryInterval", minimum=1), wait_minutes)
    if not isinstance(config, dict):
        raise _invalid(f"deploymentConfig must be a name or a trafficRoutingConfig object, found {config!r}.")
    kind = config.get("type")
    if kind == "AllAtOnce":
        return all_at_once(wait_minutes)
    if kind == "TimeBasedLinear":
        body = config.get("timeBasedLinear") or {}
        return linear(_check_percent(body.get("linearPercentage"), "timeBasedLinear.linearPercentage"),
                      _check_minutes(body.get("linearInterval"), "timeBasedLinear.linearInterval", minimum=1),
                      wait_minutes)
    if kind == "TimeBasedCanary":
        body = config.get("timeBasedCanary") or {}
        return canary(_check_percent(body.get("canaryPercentage"), "timeBasedCanary.canaryPercentage"),
                      _check_minutes(body.get("canaryInterval"), "timeBasedCanary.canaryInterval", minimum=1),
                      wait_minutes)
    raise _invalid(f"trafficRoutingConfig.type must be AllAtOnce, TimeBasedLinear or TimeBasedCanary, "
                   f"found {kind!r}.")


def ecs_strategy_plan(deployment_configuration: dict) -> ShiftPlan:
    """ECS's own ``deploymentConfiguration.strategy`` BLUE_GREEN / LINEAR / CANARY."""
    strategy = deployment_configuration.get("strategy")
    bake = _check_minutes(deployment_configuration.get("bakeTimeInMinutes", 0),
                          "deploymentConfiguration.bakeTimeInMinutes")
    if strategy == "BLUE_GREEN":
        return all_at_once(bake)
    if strategy == "LINEAR":
        body = deployment_configuration.get("linearConfiguration") or {}
        return linear(_check_percent(body.get("stepPercent"), "linearConfiguration.stepPercent"),
                      _check_minutes(body.get("stepBakeTimeInMinutes", 0),
                                     "linearConfiguration.stepBakeTimeInMinutes"), bake)
    if strategy == "CANARY":
        body = deployment_configuration.get("canaryConfiguration") or {}
        return canary(_check_percent(body.get("canaryPercent"), "canaryConfiguration.canaryPercent"),
                      _check_minutes(body.get("canaryBakeTimeInMinutes", 0),
                                     "canaryConfiguration.canaryBakeTimeInMinutes"), bake)
    raise _invalid(f"deploymentConfiguration.strategy {strategy!r} is not a traffic-shifting strategy.")


class TrafficShift:
    """The progress of one shift: call :meth:`observe` at every clock step with green's stability.

    ``state`` is ``SHIFTING`` (steps left), ``WAITING`` (all traffic on green,
    blue kept for the wait), ``DONE`` (blue may be drained and removed) or
    ``ROLLED_BACK`` (all traffic back on blue, green to be stopped).
    """

    def __init__(self, plan: ShiftPlan, started_at: int):
        self.plan = plan
        self.started_at = started_at
        self.step = 0                  # steps applied so far
        self.green = 0.0
        self.step_at = started_at      # when the last step was applied
        self.state = "SHIFTING"
        self.reason: str | None = None

    @property
    def weights(self) -> tuple[float, float]:
        """(blue, green) percent of the listener's traffic."""
        return 100.0 - self.green, self.green

    def next_due(self) -> int:
        if self.step == 0:
            return self.started_at
        previous_offset = self.plan.steps[self.step - 1][0]
        return self.step_at + self.plan.steps[self.step][0] - previous_offset

    def observe(self, now: int, green_steady: bool, breaker_tripped: bool = False) -> str:
        if self.state in ("DONE", "ROLLED_BACK"):
            return self.state
        if breaker_tripped:
            return self._roll_back("the deployment circuit breaker tripped")
        if self.state == "SHIFTING":
            while self.step < len(self.plan.steps) and now >= self.next_due():
                if not green_steady:
                    return self._roll_back("the green task set was not steady at a traffic step")
                self.step_at = self.next_due()
                self.green = self.plan.steps[self.step][1]
                self.step += 1
            if self.step == len(self.plan.steps):
                self.state = "WAITING"
        if self.state == "WAITING":
            if not green_steady:
                return self._roll_back("the green task set was not steady during the wait")
            if now >= self.step_at + self.plan.wait_ms:
                self.state = "DONE"
        return self.state

    def _roll_back(self, reason: str) -> str:
        self.green = 0.0
        self.state = "ROLLED_BACK"
        self.reason = reason
        return self.state
