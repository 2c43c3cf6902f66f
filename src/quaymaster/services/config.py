"""Checking a CreateService/UpdateService request before anything changes (ECS's errors)."""

from __future__ import annotations

from quaymaster.errors import InvalidInputError
from quaymaster.placement.constraints import parse_constraints
from quaymaster.placement.strategy import parse_strategies
from quaymaster.region.errors import invalid
from quaymaster.scaling.fargate import check_no_placement

DESIRED_COUNT_LIMIT = 5000
REPLICA_DEFAULTS = (100, 200)     # (minimumHealthyPercent, maximumPercent)
DAEMON_DEFAULTS = (0, 100)


def check_placement(request: dict, task_definition, launch_type: str, scheduling: str) -> tuple[list, list]:
    constraints = list(request.get("placementConstraints", []))
    strategy = list(request.get("placementStrategy", []))
    if launch_type == "FARGATE":
        check_no_placement(strategy, constraints)
    if scheduling == "DAEMON" and strategy:
        raise invalid("Placement strategies are not supported with the DAEMON scheduling strategy.")
    try:
        parse_strategies(strategy or None)
        parse_constraints(constraints or None, tuple(task_definition.member_of))
    except InvalidInputError as error:
        raise invalid(str(error)) from error
    return constraints, strategy


def check_desired_count(value, scheduling: str) -> int:
    if scheduling == "DAEMON":
        if value is not None:
            raise invalid("The daemon scheduling strategy does not support a desired count for services.")
        return 0
    value = 0 if value is None else value
    if not 0 <= value <= DESIRED_COUNT_LIMIT:
        raise invalid(f"desiredCount must be between 0 and {DESIRED_COUNT_LIMIT}.")
    return value


def check_deployment_configuration(config: dict | None, scheduling: str,
                                   current: tuple | None = None) -> tuple[int, int, bool, bool]:
    """(minimumHealthyPercent, maximumPercent, breaker enable, breaker rollback)."""
    config = config or {}
    defaults = current or ((*DAEMON_DEFAULTS, False, False) if scheduling == "DAEMON"
                           else (*REPLICA_DEFAULTS, False, False))
    minimum = config.get("minimumHealthyPercent", defaults[0])
    maximum = config.get("maximumPercent", defaults[1])
    breaker = config.get("deploymentCircuitBreaker")
    enable, rollback = (breaker["enable"], breaker["rollback"]) if breaker else defaults[2:]
    if "strategy" in config and config["strategy"] != "ROLLING":
        raise invalid(f"deploymentConfiguration.strategy {config['strategy']} is not supported yet; use ROLLING.")
    if not 0 <= minimum <= 100:
        raise invalid("deploymentConfiguration.minimumHealthyPercent must be between 0 and 100.")
    if scheduling == "DAEMON" and maximum != 100:
        raise invalid("The daemon scheduling strategy requires a maximumPercent of 100.")
    if maximum < 100 and scheduling != "DAEMON":
        raise invalid("deploymentConfiguration.maximumPercent must be at least 100.")
    if minimum > maximum:
        raise invalid("deploymentConfiguration.minimumHealthyPercent must not exceed maximumPercent.")
    return minimum, maximum, enable, rollback


def check_controller(request: dict) -> None:
    controller = (request.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        raise invalid(f"Deployment controller {controller} is not supported yet; use ECS.")


def check_launch_type(request: dict) -> str:
    if request.get("capacityProviderStrategy"):
        raise invalid("capacityProviderStrategy is not supported yet; use launchType EC2 or EXTERNAL.")
    launch_type = request.get("launchType", "EC2")
    if launch_type not in ("EC2", "EXTERNAL", "FARGATE"):
        raise invalid(f"launchType {launch_type} is not valid.")
    return launch_type
