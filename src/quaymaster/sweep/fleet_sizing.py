"""Sizing a capacity provider's fleet: per instance type, the smallest Auto Scaling group meeting a
constraint, then the type the objective prefers.

The scenario's ``ecs:CreateCapacityProvider`` call named NAME points at an
``autoscaling:CreateAutoScalingGroup`` call. For each instance type T and size N
the group is rewritten to launch only T with ``MaxSize = N`` (``MinSize`` and
``DesiredCapacity`` capped at N). With managed scaling ENABLED the provider
then scales the group inside [MinSize, N]; without it the group simply runs
N instances (``DesiredCapacity = N``). Each type is searched exactly as
:class:`quaymaster.sweep.search.Search` does (assuming a bigger group never
serves less, checked at the boundary: N passes and N - 1 was simulated and
fails), the rounds of all types simulated together. The objective picks
among the types that pass within the bounds:
``instances``, the fewest instances (the smallest N; ties by cost, then the
order given); ``cost``, the least cost of the passing run (simulation/cost.py:
the scenario's ``prices``; ties by N, then order).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from quaymaster.fleet.catalog import load_catalog
from quaymaster.simulation.cost import parse_prices
from quaymaster.simulation.scenario import ScenarioError
from quaymaster.sweep.engine import dask_client, read_document
from quaymaster.sweep.paths import SweepError
from quaymaster.sweep.search import Search, checked_builder, run_searches
from quaymaster.sweep.sizing import check_bounds, constraint_check, failing_lines, with_metrics

OBJECTIVES = ("instances", "cost")
_GROUP_CHANGES = ("UpdateAutoScalingGroup", "SetDesiredCapacity", "DeleteAutoScalingGroup")


@dataclass
class TypeSizing:
    instance_type: str
    size: int | None                 # the smallest group meeting the constraint; None: not even high
    cost: float | None = None        # of the run at ``size`` (None without prices)
    instance_hours: float | None = None
    failing: dict | None = None      # why size - 1 fails (None when size is the lowest searched)
    simulated: dict = field(default_factory=dict)   # size -> {"unserved": total, "passes": bool}

    def to_json(self) -> dict:
        return {"instanceType": self.instance_type, "size": self.size, "cost": self.cost,
                "instanceHours": self.instance_hours, "failing": self.failing,
                "simulated": {str(k): v for k, v in sorted(self.simulated.items())}}


@dataclass
class FleetSizing:
    capacity_provider: str
    group: str
    objective: str
    constraint: str
    low: int
    high: int
    choice: str                      # the instance type the objective picks
    types: dict = field(default_factory=dict)   # instance type -> TypeSizing, in the order given

    @property
    def chosen(self) -> TypeSizing:
        return self.types[self.choice]

    def to_json(self) -> dict:
        return {"capacityProvider": self.capacity_provider, "autoScalingGroup": self.group,
                "objective": self.objective, "constraint": self.constraint, "min": self.low,
                "max": self.high, "choice": self.choice, "size": self.chosen.size,
                "cost": self.chosen.cost, "types": [t.to_json() for t in self.types.values()]}

    def explain(self) -> str:
        best = self.chosen
        lines = [f"capacity provider {self.capacity_provider} (group {self.group}), {self.constraint}, "
                 f"objective {self.objective}: {best.size} x {best.instance_type}{_money(best.cost)}"]
        for sizing in self.types.values():
            tried = ", ".join(str(s) for s in sorted(sizing.simulated))
            if sizing.size is None:
                lines.append(f"- {sizing.instance_type}: fails even at {self.high} (simulated {tried})")
                continue
            lines.append(f"- {sizing.instance_type}: {sizing.size} instances{_money(sizing.cost)} "
                         f"(simulated {tried})")
            if sizing.failing is None:
                lines.append(f"    {sizing.size} is the lowest size searched")
            else:
                lines += failing_lines(sizing.failing, indent="    ")
        return "\n".join(lines)


def _money(cost: float | None) -> str:
    return "" if cost is None else f", ${cost:.4f}"


def provider_calls(document: dict, name: str) -> tuple[int, str, bool]:
    """(index of the CreateAutoScalingGroup call, its group name, managed scaling enabled) of the
    capacity provider ``name`` the scenario creates."""
    calls = document.get("calls", []) if isinstance(document, dict) else []
    calls = calls if isinstance(calls, list) else []
    provider = next((c["request"] for c in calls if isinstance(c, dict)
                     and c.get("operation") == "ecs:CreateCapacityProvider"
                     and isinstance(c.get("request"), dict) and c["request"].get("name") == name), None)
    if provider is None:
        raise SweepError(f"--capacity-provider {name}: the scenario has no ecs:CreateCapacityProvider call "
                         f"named {name!r}", field="capacity-provider", value=name)
    asg = provider.get("autoScalingGroupProvider", {})
    group = str(asg.get("autoScalingGroupArn", "")).rsplit("autoScalingGroupName/", 1)[-1]
    managed = bool(asg.get("managedScaling", {}).get("status", "ENABLED") == "ENABLED")
    index = next((i for i, c in enumerate(calls) if isinstance(c, dict)
                  and c.get("operation") == "autoscaling:CreateAutoScalingGroup"
                  and isinstance(c.get("request"), dict)
                  and c["request"].get("AutoScalingGroupName") == group), None)
    if index is None:
        raise SweepError(f"--capacity-provider {name}: its Auto Scaling group {group!r} is not created by "
                         f"an autoscaling:CreateAutoScalingGroup call of the scenario",
                         field="capacity-provider", value=name)
    for i, call in enumerate(calls):
        operation = str(call.get("operation", "")) if isinstance(call, dict) else ""
        request = call.get("request", {}) if isinstance(call, dict) else {}
        if operation.partition(":")[2] in _GROUP_CHANGES and isinstance(request, dict) \
                and request.get("AutoScalingGroupName") == group:
            raise SweepError(f"$.calls[{i}]: {operation} changes group {group!r}, whose size the sizing sets; "
                             f"remove the call to size the group", field=f"$.calls[{i}]", value=group)
    return index, group, managed


def set_group(document: dict, index: int, managed: bool, instance_type: str, size: int) -> dict:
    """A copy of ``document`` whose group call ``index`` launches only ``instance_type``, at most
    ``size`` instances."""
    variant = copy.deepcopy(document)
    request = variant["calls"][index]["request"]
    mixed = request.get("MixedInstancesPolicy", {}).get("LaunchTemplate")
    template = request.get("LaunchTemplate") if isinstance(request.get("LaunchTemplate"), dict) else None
    if isinstance(mixed, dict):
        mixed["Overrides"] = [{"InstanceType": instance_type}]
        if template is not None:
            template.pop("Overrides", None)
            template.pop("InstanceType", None)
    elif template is not None:
        template.pop("Overrides", None)
        template["InstanceType"] = instance_type
    else:
        request["LaunchTemplate"] = {"LaunchTemplateName": "quaymaster-sizing", "InstanceType": instance_type}
    request["MaxSize"] = size
    request["MinSize"] = _capped(request.get("MinSize", 0), size)
    request["DesiredCapacity"] = _capped(request.get("DesiredCapacity", request["MinSize"]), size) \
        if managed else size
    return variant


def _capped(value, size: int):
    """``min(value, size)``; a value that is not an integer stays for the API to refuse by name."""
    return min(value, size) if isinstance(value, int) and not isinstance(value, bool) else value


def _check_types(instance_types, objective: str, prices: dict) -> list[str]:
    if isinstance(instance_types, str):
        instance_types = [t.strip() for t in instance_types.split(",")]
    if not isinstance(instance_types, (list, tuple)) or not all(isinstance(t, str) for t in instance_types):
        raise SweepError(f"--instance-types: a list of instance type names, found {instance_types!r}",
                         field="instance-types", value=instance_types)
    types = list(dict.fromkeys(instance_types))
    if not types:
        raise SweepError("--instance-types: give one or more instance types (T1,T2)", field="instance-types")
    catalog = load_catalog()
    for name in types:
        if name not in catalog:
            raise SweepError(f"--instance-types: {name!r} is not an instance type of the catalog",
                             field="instance-types", value=name)
    if objective not in OBJECTIVES:
        raise SweepError(f"--objective {objective!r}: one of {', '.join(OBJECTIVES)}", field="objective",
                         value=objective)
    unpriced = [name for name in types if name not in prices]
    if objective == "cost" and unpriced:
        raise SweepError(f"--objective cost needs the scenario's prices (USD per hour) for "
                         f"{', '.join(unpriced)}: add them under $.prices", field="prices", value=unpriced)
    return types


def size_fleet(scenario, capacity_provider: str, instance_types, *, objective: str = "instances",
               constraint="unserved=0", low: int = 1, high: int | None = None, client=None,
               scheduler: str | None = None, workers: int | None = None,
               progress: bool = False) -> FleetSizing:
    """Per instance type the smallest group of ``capacity_provider`` in [low, high] (``high``: the
    group's MaxSize in the scenario) meeting ``constraint``, and the type ``objective`` picks."""
    label, passes = constraint_check(constraint)
    document, base_dir = read_document(scenario)
    try:
        prices = parse_prices(document.get("prices") if isinstance(document, dict) else None)
    except ScenarioError as error:
        raise SweepError(str(error), field=error.field) from None
    types = _check_types(instance_types, objective, prices)
    index, group, managed = provider_calls(document, capacity_provider)
    high = document["calls"][index]["request"].get("MaxSize") if high is None else high
    check_bounds(low, high)
    document = with_metrics(document)
    searches = {}
    for name in types:
        def variant_of(size: int, name: str = name) -> dict:
            return set_group(document, index, managed, name, size)
        searches[name] = Search(checked_builder(variant_of, base_dir), passes, low, high)
    with dask_client(client, scheduler, workers) as active:
        run_searches(active, base_dir, list(searches.values()), progress=progress)
    results = {name: _size_type(search, name) for name, search in searches.items()}
    return FleetSizing(capacity_provider, group, objective, label, low, high,
                       _choose(results, objective, label, high), results)


def _size_type(search: Search, name: str) -> TypeSizing:
    bounds = search.bounds
    simulated = {n: {"unserved": search.unserved[n], "passes": search.ok[n]} for n in search.ok}
    if bounds is None:
        return TypeSizing(name, None, simulated=simulated)
    summary = search.summaries[bounds[1]]
    hours = summary.get("instanceHours") or {}
    return TypeSizing(name, bounds[1], summary.get("cost"), hours.get(name), search.failing(bounds[0]),
                      simulated)


def _choose(results: dict, objective: str, label: str, high: int) -> str:
    order = {name: i for i, name in enumerate(results)}
    feasible = [r for r in results.values() if r.size is not None]
    if not feasible:
        raise SweepError(f"no instance type meets {label} with up to {high} instances "
                         f"({', '.join(results)}); raise --max", field="max", value=high)

    def money(r: TypeSizing) -> float:
        return math.inf if r.cost is None else r.cost
    if objective == "cost":
        best = min(feasible, key=lambda r: (money(r), r.size, order[r.instance_type]))
    else:
        best = min(feasible, key=lambda r: (r.size, money(r), order[r.instance_type]))
    return best.instance_type
