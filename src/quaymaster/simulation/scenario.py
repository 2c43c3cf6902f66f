"""Loading and checking a scenario (JSON or YAML) before anything runs; errors name the JSON path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from quaymaster.api_models import check_request
from quaymaster.clock import DEFAULT_START, parse_duration, parse_instant
from quaymaster.errors import InvalidInputError, InvalidParameterError, ServiceError
from quaymaster.lifecycle import TaskTimings
from quaymaster.ecr import ECRRegistry
from quaymaster.region.dispatch import SUPPORTED
from quaymaster.region.fargate_host import DEFAULT_SPOT_INTERRUPTIONS_PER_HOUR
from quaymaster.scaling.autoscaling_api import split_extension
from quaymaster.simulation.cost import parse_prices
from quaymaster.workloads import parse_workload

TOP_KEYS = ("region", "account", "seed", "start", "duration", "tick", "calls", "fleets", "workloads",
            "outputs", "timings", "prices", "fargate")
FARGATE_KEYS = ("spotInterruptionsPerHour", "subnets")
OUTPUTS = ("metrics", "events", "tasks", "activities")
# The region's registry takes every ECR operation but the layer upload steps, whose requests name
# the uploadId an earlier response gave (a scenario's requests are fixed in advance), and
# GetAuthorizationToken, which only serves a registry client (docs/semantics.md).
ECR_CALLS = frozenset(ECRRegistry.OPERATIONS) - {"InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload",
                                                 "GetAuthorizationToken"}


class ScenarioError(InvalidInputError):
    """An invalid scenario; ``field`` is the JSON path of the problem."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}", field=path)
        self.path = path


@dataclass
class Call:
    index: int
    at_ms: int                # offset from the start
    service: str
    operation: str
    request: dict


@dataclass
class Scenario:
    region: str = "us-east-1"
    account: str = "123456789012"
    seed: int = 0
    start_ms: int = 0
    duration_ms: int = 86_400_000
    tick_ms: int = 15_000
    calls: list = field(default_factory=list)
    fleets: list = field(default_factory=list)       # (cluster, path)
    workloads: list = field(default_factory=list)    # dicts, checked
    outputs: tuple = OUTPUTS
    timings: dict = field(default_factory=dict)      # family (or "*") -> TaskTimings
    prices: dict = field(default_factory=dict)       # instance type -> USD per hour (simulation/cost.py)
    fargate: dict = field(default_factory=dict)      # spotInterruptionsPerHour, subnets (id -> zone)
    base_dir: Path = Path(".")


def load_scenario(source, *, base_dir=None) -> Scenario:
    """A Scenario from a path (.json/.yaml/.yml) or an already-parsed mapping."""
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and source.lstrip().startswith("{")):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as error:
            raise ScenarioError("$", f"cannot read {path}: {error.strerror}") from None
        base_dir = base_dir or path.parent
        document = parse_text(text, yaml=path.suffix.lower() in (".yaml", ".yml"))
    elif isinstance(source, str):
        document = parse_text(source, yaml=False)
    else:
        document = source
    return check_scenario(document, base_dir=Path(base_dir or "."))


def parse_text(text: str, *, yaml: bool):
    """A scenario document from JSON (or YAML) text; an invalid document is a ScenarioError at ``$``."""
    try:
        if yaml:
            import yaml as _yaml
            return _yaml.safe_load(text)
        return json.loads(text)
    except Exception as error:  # both parsers' errors: the document is not valid
        raise ScenarioError("$", f"not valid {'YAML' if yaml else 'JSON'}: {error}") from None


def _at(path: str, check, value):
    try:
        return check(value)
    except InvalidParameterError as error:
        raise ScenarioError(path, str(error).split(": ", 1)[-1]) from None


def check_scenario(document, *, base_dir: Path = Path(".")) -> Scenario:
    if not isinstance(document, dict):
        raise ScenarioError("$", "a scenario is a JSON object")
    for key in document:
        if key not in TOP_KEYS:
            raise ScenarioError(f"$.{key}", f"unknown key (known: {', '.join(TOP_KEYS)})")
    s = Scenario(base_dir=base_dir)
    for key in ("region", "account"):
        if key in document:
            if not isinstance(document[key], str):
                raise ScenarioError(f"$.{key}", "must be a string")
            setattr(s, key, document[key])
    seed = document.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ScenarioError("$.seed", f"an unsigned 64-bit integer, found {seed!r}")
    s.seed = seed
    s.start_ms = _at("$.start", parse_instant, document.get("start", DEFAULT_START))
    s.duration_ms = _at("$.duration", parse_duration, document.get("duration", "24h"))
    s.tick_ms = _at("$.tick", parse_duration, document.get("tick", "15s"))
    if s.tick_ms <= 0:
        raise ScenarioError("$.tick", "must be positive")
    s.calls = [_call(i, c, s.start_ms) for i, c in enumerate(_list(document, "calls"))]
    s.fleets = [_fleet(i, f, base_dir) for i, f in enumerate(_list(document, "fleets"))]
    s.workloads = [_workload(i, w, s.start_ms) for i, w in enumerate(_list(document, "workloads"))]
    outputs = document.get("outputs", list(OUTPUTS))
    if not isinstance(outputs, list) or any(o not in OUTPUTS for o in outputs):
        raise ScenarioError("$.outputs", f"a list of {', '.join(OUTPUTS)}")
    s.outputs = tuple(outputs)
    timings = document.get("timings", {})
    if not isinstance(timings, dict):
        raise ScenarioError("$.timings", "a mapping of task definition family (or *) to timings")
    for family, spec in timings.items():
        try:
            s.timings[family] = TaskTimings.from_json(spec, path=f"$.timings.{family}")
        except InvalidParameterError as error:
            raise ScenarioError(error.field or "$.timings", str(error).split(": ", 1)[-1]) from None
    s.prices = parse_prices(document.get("prices"))
    s.fargate = _fargate(document.get("fargate", {}))
    return s


def _fargate(settings) -> dict:
    """The region's Fargate settings: the Spot interruption rate and subnet zones."""
    if not isinstance(settings, dict):
        raise ScenarioError("$.fargate", f"an object with {', '.join(FARGATE_KEYS)}")
    for key in settings:
        if key not in FARGATE_KEYS:
            raise ScenarioError(f"$.fargate.{key}", f"unknown key (known: {', '.join(FARGATE_KEYS)})")
    rate = settings.get("spotInterruptionsPerHour", DEFAULT_SPOT_INTERRUPTIONS_PER_HOUR)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < float("inf"):
        raise ScenarioError("$.fargate.spotInterruptionsPerHour", f"a finite number >= 0, found {rate!r}")
    subnets = settings.get("subnets", {})
    if not isinstance(subnets, dict):
        raise ScenarioError("$.fargate.subnets", "an object of subnet id -> Availability Zone")
    for subnet, zone in subnets.items():
        if not isinstance(zone, str) or not zone:
            raise ScenarioError(f"$.fargate.subnets.{subnet}", f"an Availability Zone name, found {zone!r}")
    return {"spotInterruptionsPerHour": float(rate), "subnets": dict(subnets)}


def _list(document: dict, key: str) -> list:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"$.{key}", "must be a list")
    return value


def _call(i: int, call, start_ms: int) -> Call:
    path = f"$.calls[{i}]"
    if not isinstance(call, dict):
        raise ScenarioError(path, "a call is an object with at, operation and request")
    for key in call:
        if key not in ("at", "operation", "request"):
            raise ScenarioError(f"{path}.{key}", "unknown key (known: at, operation, request)")
    at = call.get("at", "0s")
    if isinstance(at, str) and "T" in at:
        offset = _at(f"{path}.at", parse_instant, at) - start_ms
        if offset < 0:
            raise ScenarioError(f"{path}.at", "is before the scenario's start")
    else:
        offset = _at(f"{path}.at", parse_duration, at)
    operation = call.get("operation")
    service, _, name = operation.partition(":") if isinstance(operation, str) else ("", "", "")
    if (service != "ecr" or name not in ECR_CALLS) and (service not in SUPPORTED or name not in SUPPORTED[service]):
        raise ScenarioError(f"{path}.operation", f"unsupported operation {operation!r} (ecs:<Operation>)")
    request = call.get("request", {})
    # the group's instance types may sit in LaunchTemplate (an extension the model lacks)
    checked = split_extension(request)[0] if service == "autoscaling" else request
    try:
        check_request(service, name, checked)
    except ServiceError as error:
        raise ScenarioError(f"{path}.request", f"call {i} ({operation}): {error.code}: {error.message}") from None
    return Call(i, offset, service, name, request)


def _fleet(i: int, fleet, base_dir: Path) -> tuple[str, Path]:
    path = f"$.fleets[{i}]"
    if not isinstance(fleet, dict) or set(fleet) - {"cluster", "instances"} or "instances" not in fleet:
        raise ScenarioError(path, "a fleet is {cluster, instances: a Parquet instance table}")
    file = Path(fleet["instances"])
    file = file if file.is_absolute() else base_dir / file
    if not file.exists():
        raise ScenarioError(f"{path}.instances", f"no such file: {file}")
    return fleet.get("cluster", "default"), file


def _workload(i: int, workload, start_ms: int):
    """A workload checked by ``quaymaster.workloads.parse_workload`` (errors name the JSON path)."""
    path = f"$.workloads[{i}]"
    try:
        parsed = parse_workload(workload, path, start_ms=start_ms)
    except InvalidInputError as error:
        raise ScenarioError(error.field or path, str(error).split(": ", 1)[-1]) from None
    if "/" not in parsed.service:
        raise ScenarioError(f"{path}.service", "cluster/service")
    return parsed
