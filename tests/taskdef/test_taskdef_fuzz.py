"""Randomly mutated task definitions only ever raise InvalidInputError subclasses:
parsing, the requirements placement reads, describing and placing them."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quaymaster import Cluster
from quaymaster.errors import InvalidInputError
from quaymaster.taskdef import parse_task_definition
from taskdef_builders import load_case

SEEDS = [load_case("gpu_worker.json"), load_case("wordpress_seed.json"), {
    "family": "web", "cpu": "0.5 vCPU", "memory": "1 GB", "networkMode": "bridge",
    "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128, "cpu": 64,
                              "portMappings": [{"containerPort": 80, "hostPort": 0},
                                               {"containerPortRange": "8000-8003"}],
                              "resourceRequirements": [{"type": "GPU", "value": "1"}]}],
    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]}]

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.sampled_from(["1" + "0" * 400 + ".5", "\ud800", "0.1 vCPU", "9" * 30, "",
                                          "tcp", "udp", "awsvpc", "host", "8000-7999", "1-65535",
                                          "attribute:x =~ '(a)\\1'", "GPU", "-1"]),
    st.lists(st.integers(-5, 70000), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.builds(lambda: {1: 2}), st.builds(lambda: [{"containerPort": 80}]))
KEYS = st.sampled_from(["family", "cpu", "memory", "networkMode", "containerDefinitions", "name", "image",
                        "portMappings", "containerPort", "hostPort", "protocol", "containerPortRange",
                        "resourceRequirements", "type", "value", "placementConstraints", "expression",
                        "requiresAttributes", "memoryReservation", "links", "familly", "revision", "\udc00"])


def _containers(value, path=()):
    """Every (path) to a dict or list inside value."""
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, element in items:
        if isinstance(element, (dict, list)):
            yield from _containers(element, (*path, key))


@st.composite
def mutated(draw):
    document = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_containers(document))
        target = document
        for key in draw(st.sampled_from(paths)):
            target = target[key]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(target, dict):
            if action == "delete" and target:
                del target[draw(st.sampled_from(sorted(target, key=str)))]
            else:
                key = draw(st.sampled_from(sorted(target, key=str))) if action == "set" and target else draw(KEYS)
                target[key] = draw(ODD_VALUES)
        elif isinstance(target, list):
            if action == "delete" and target:
                target.pop(draw(st.integers(0, len(target) - 1)))
            elif action == "set" and target:
                target[draw(st.integers(0, len(target) - 1))] = draw(ODD_VALUES)
            else:
                target.append(draw(ODD_VALUES))
    return document


def place(definition) -> None:
    cluster = Cluster.from_arrow({"ec2_instance_id": ["i-0", "i-1"], "cpu_registered": [4096] * 2,
                                  "memory_registered": [8192] * 2, "gpu_registered": [2, 0],
                                  "attribute:ecs.os-type": ["linux", "linux"]})
    cluster.run_task(definition, count=3)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["dict", "json"]))
def test_mutated_definitions_raise_only_invalid_input_errors(document, form):
    try:
        source = document if form == "dict" else json.dumps(document)
    except (TypeError, ValueError):  # not JSON (a non-string key or a lone surrogate): pass the dict
        source = document
    try:
        parsed = parse_task_definition(source)
        parsed.requirements()
        parsed.to_json()
        place(parsed)
    except InvalidInputError:
        pass
