"""Property tests: random valid definitions, and mutations that break one rule each."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef import TaskDefinitionRegistry, parse_task_definition, requirements_of
from taskdef_strategies import (ANY_DEFINITION, FARGATE_TABLE, Generated, ec2_definitions,
                                fargate_definitions, reference_requirements)

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@SETTINGS
@given(ANY_DEFINITION)
def test_requirements_match_independent_sums(generated):
    requirements = parse_task_definition(generated.document).requirements()
    for field, value in reference_requirements(generated).items():
        assert getattr(requirements, field) == value, field
    assert requirements.family == generated.document["family"]


@SETTINGS
@given(ANY_DEFINITION)
def test_json_round_trip_and_describe_keep_requirements(generated):
    parsed = parse_task_definition(generated.document)
    assert parsed.to_json() == generated.document
    assert parse_task_definition(json.dumps(parsed.to_json())) == parsed
    described = parsed.describe_json()
    assert parse_task_definition(described).requirements() == parsed.requirements()
    registered = TaskDefinitionRegistry().register(generated.document)
    assert requirements_of(registered.describe_json()) == parsed.requirements()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fargate_definitions())
def test_fargate_definitions_are_fargate_compatible(generated):
    parsed = parse_task_definition(generated.document)
    assert "FARGATE" in parsed.compatibilities
    assert parsed.requirements().eni == 1


# -- mutations: each breaks exactly one rule and names the path it must report -------------

def _containers(document):
    return document["containerDefinitions"]


def _path(i, *rest):
    text = f"containerDefinitions[{i}]"
    for step in rest:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _mappings(document, *, with_port=False):
    """(container index, mapping index, mapping) of every mapping, in definition order."""
    found = []
    for i, container in enumerate(_containers(document)):
        for j, mapping in enumerate(container.get("portMappings", [])):
            if not with_port or "containerPort" in mapping:
                found.append((i, j, mapping))
    return found


def mutation(applies=lambda gen: True, strategy=ANY_DEFINITION):
    """Mark a mutation: ``applies(gen)`` says whether it can break ``gen``;
    ``strategy`` generates definitions it mostly applies to."""
    def mark(function):
        function.applies = applies
        function.strategy = strategy
        return function
    return mark


def _fargate(gen):
    return "FARGATE" in gen.document.get("requiresCompatibilities", [])


def _with_memory(gen):
    return [i for i, c in enumerate(gen.containers) if "memory" in c]


@mutation(lambda gen: len(gen.containers) >= 2)
def duplicate_name(draw, gen: Generated):
    j = draw(st.integers(1, len(gen.containers) - 1))
    i = draw(st.integers(0, j - 1))
    gen.containers[j]["name"] = gen.containers[i]["name"]
    return _path(j, "name")


@mutation()
def empty_image(draw, gen):
    i = draw(st.integers(0, len(gen.containers) - 1))
    gen.containers[i]["image"] = ""
    return _path(i, "image")


@mutation()
def no_essential(draw, gen):
    for container in gen.containers:
        container["essential"] = False
    return "containerDefinitions"


@mutation(_with_memory)
def reservation_above_memory(draw, gen):
    i = draw(st.sampled_from(_with_memory(gen)))
    gen.containers[i]["memoryReservation"] = gen.containers[i]["memory"] + draw(st.integers(1, 99))
    return _path(i, "memoryReservation")


@mutation(_with_memory)
def memory_below_minimum(draw, gen):
    i = draw(st.sampled_from(_with_memory(gen)))
    gen.containers[i]["memory"] = draw(st.integers(-5, 0))
    return _path(i, "memory")


@mutation(lambda gen: gen.task_memory is None, ec2_definitions(task_memory=False))
def drop_memory(draw, gen):
    i = draw(st.integers(0, len(gen.containers) - 1))
    gen.containers[i].pop("memory", None)
    gen.containers[i].pop("memoryReservation", None)
    return _path(i, "memory")


@mutation()
def bad_network_mode(draw, gen):
    gen.document["networkMode"] = draw(st.sampled_from(["nat", "Bridge", "default", ""]))
    return "networkMode"


@mutation(lambda gen: gen.mode in ("host", "awsvpc") and _mappings(gen.document, with_port=True),
          ec2_definitions(modes=("host", "awsvpc")))
def host_port_mismatch(draw, gen):
    i, j, mapping = draw(st.sampled_from(_mappings(gen.document, with_port=True)))
    mapping["hostPort"] = draw(st.sampled_from([0, 65536, mapping["containerPort"] + 1,
                                                mapping["containerPort"] - 1]))
    return _path(i, "portMappings", j, "hostPort")


@mutation(lambda gen: _mappings(gen.document) and not _fargate(gen))
def mappings_with_none(draw, gen):
    first = _mappings(gen.document)[0][0]
    gen.document["networkMode"] = "none"
    for container in gen.containers:
        container.pop("links", None)  # links are refused before port mappings
    return _path(first, "portMappings")


@mutation(lambda gen: _mappings(gen.document, with_port=True))
def container_port_out_of_range(draw, gen):
    i, j, mapping = draw(st.sampled_from(_mappings(gen.document, with_port=True)))
    mapping["containerPort"] = draw(st.sampled_from([0, -1, 65536, 100000]))
    return _path(i, "portMappings", j, "containerPort")


@mutation(lambda gen: gen.mode == "bridge", ec2_definitions(modes=("bridge",)))
def unknown_link(draw, gen):
    i = draw(st.integers(0, len(gen.containers) - 1))
    links = gen.containers[i].setdefault("links", [])
    links.append("no-such-container-here-x")  # 24 characters: longer than any generated name
    return _path(i, "links", len(links) - 1)


@mutation(lambda gen: gen.mode != "bridge" and len(gen.containers) >= 2,
          ec2_definitions(modes=("host", "awsvpc", "none")))
def link_outside_bridge(draw, gen):
    i = draw(st.integers(0, len(gen.containers) - 1))
    gen.containers[i]["links"] = [gen.containers[i - 1]["name"]]
    return _path(i, "links")


@mutation()
def wrong_type(draw, gen):
    i = draw(st.integers(0, len(gen.containers) - 1))
    field, value = draw(st.sampled_from([
        ("cpu", "10"), ("memory", "512"), ("essential", "true"), ("image", 5), ("name", 7),
        ("links", "web"), ("portMappings", {}), ("memoryReservation", 1.5)]))
    gen.containers[i][field] = value
    return _path(i, field)


@mutation(lambda gen: _mappings(gen.document))
def bad_protocol(draw, gen):
    i, j, mapping = draw(st.sampled_from(_mappings(gen.document)))
    mapping["protocol"] = draw(st.sampled_from(["sctp", "TCP", ""]))
    return _path(i, "portMappings", j, "protocol")


@mutation()
def too_many_containers(draw, gen):
    while len(gen.containers) <= 10:
        gen.containers.append(copy.deepcopy(gen.containers[-1]))
    return "containerDefinitions"


@mutation(lambda gen: gen.task_cpu is not None and not _fargate(gen),
          ec2_definitions(task_cpu=True))
def cpu_over_task_cpu(draw, gen):
    total = sum(c.get("cpu", 0) for c in gen.containers)
    last = gen.containers[-1]
    last["cpu"] = last.get("cpu", 0) + gen.task_cpu - total + draw(st.integers(1, 100))
    return _path(len(gen.containers) - 1, "cpu")


def _static_pairs(gen):
    """(A, B) mapping pairs where B, later than static A, can be given A's host port."""
    if gen.mode not in ("bridge", "host"):
        return []
    mappings = _mappings(gen.document, with_port=True)
    pairs = []
    for a in mappings:
        if gen.mode == "bridge" and not a[2].get("hostPort"):
            continue
        for b in mappings:
            if (b[0], b[1]) <= (a[0], a[1]):
                continue
            # host mode: B's container must not already map A's port (any protocol)
            siblings = gen.containers[b[0]].get("portMappings", [])
            if gen.mode == "host" and (b[0] == a[0] or any(
                    m.get("containerPort") == a[2]["containerPort"] or "containerPortRange" in m
                    for m in siblings)):
                continue
            pairs.append((a, b))
    return pairs


@mutation(_static_pairs, ec2_definitions(modes=("bridge", "host")))
def duplicate_static_port(draw, gen):
    (_, _, a), (i, j, b) = draw(st.sampled_from(_static_pairs(gen)))
    b["protocol"] = a.get("protocol", "tcp")
    if gen.mode == "bridge":
        b["hostPort"] = a["hostPort"]
        return _path(i, "portMappings", j, "hostPort")
    b["containerPort"] = a["containerPort"]
    b.pop("hostPort", None)
    return _path(i, "portMappings", j, "containerPort")


@mutation(_fargate, fargate_definitions())
def fargate_bad_size(draw, gen):
    largest = max(FARGATE_TABLE[gen.task_cpu])
    gen.document["memory"] = str(largest + draw(st.sampled_from([512, 1024])))
    return "cpu"


def _with_gpu(gen):
    return [i for i, c in enumerate(gen.containers) if c.get("resourceRequirements")]


@mutation(_with_gpu)
def bad_gpu_value(draw, gen):
    i = draw(st.sampled_from(_with_gpu(gen)))
    gen.containers[i]["resourceRequirements"][0]["value"] = draw(
        st.sampled_from(["0", "-1", "1.5", "two", ""]))
    return _path(i, "resourceRequirements", 0, "value")


@mutation()
def bad_family(draw, gen):
    gen.document["family"] = draw(st.sampled_from(["", "a b", "x" * 256, "fam/ily", "é"]))
    return "family"


@mutation(lambda gen: not _fargate(gen), ec2_definitions())
def bad_task_cpu(draw, gen):
    gen.document["cpu"] = draw(st.sampled_from(["64", "abc", "0.1 vCPU", "196609", "-1", "1 GB"]))
    return "cpu"


MUTATIONS = [
    duplicate_name, empty_image, no_essential, reservation_above_memory, memory_below_minimum,
    drop_memory, bad_network_mode, host_port_mismatch, mappings_with_none,
    container_port_out_of_range, unknown_link, link_outside_bridge, wrong_type, bad_protocol,
    too_many_containers, cpu_over_task_cpu, duplicate_static_port, fargate_bad_size,
    bad_gpu_value, bad_family, bad_task_cpu,
]


def _check_mutation(gen: Generated, mutation, draw):
    gen = Generated(copy.deepcopy(gen.document), gen.task_cpu, gen.task_memory)
    expected_path = mutation(draw, gen)
    try:
        parse_task_definition(gen.document)
    except TaskDefinitionError as error:
        assert error.field == expected_path, (mutation.__name__, str(error))
        assert str(error).startswith(f"{expected_path}: ")
    else:
        raise AssertionError(f"{mutation.__name__} was accepted: {gen.document}")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_mutations_raise_at_the_broken_field(mutation):
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(mutation.strategy.filter(mutation.applies), st.data())
    def run(generated, data):
        _check_mutation(generated, mutation, data.draw)

    run()


# Hand-built definitions that between them let every mutation apply.
FIXTURES = [
    Generated({"family": "rich", "containerDefinitions": [
        {"name": "a", "image": "x", "memory": 64, "cpu": 10,
         "portMappings": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}],
         "resourceRequirements": [{"type": "GPU", "value": "1"}]},
        {"name": "b", "image": "x", "memory": 64, "links": ["a"],
         "portMappings": [{"containerPort": 82, "hostPort": 8082, "protocol": "udp"}]}],
        "cpu": "256"}, 256, None),
    Generated({"family": "hosted", "networkMode": "host", "containerDefinitions": [
        {"name": "a", "image": "x", "memory": 64, "portMappings": [{"containerPort": 80}]},
        {"name": "b", "image": "x", "memoryReservation": 64,
         "portMappings": [{"containerPort": 90, "hostPort": 90}]}]}, None, None),
    Generated({"family": "fg", "networkMode": "awsvpc", "cpu": "512", "memory": "1024",
               "requiresCompatibilities": ["FARGATE"], "containerDefinitions": [
                   {"name": "a", "image": "x", "portMappings": [{"containerPort": 80}]}]},
              512, 1024),
]


def _fixture_runner(mutation, fixtures):
    @settings(max_examples=10, deadline=None, database=None)
    @given(st.sampled_from(fixtures), st.data())
    def run(fixture, data):
        _check_mutation(fixture, mutation, data.draw)
    return run


def test_every_mutation_applies_to_a_fixture_and_reports_its_path():
    for mutation in MUTATIONS:
        fixtures = [f for f in FIXTURES if mutation.applies(f)]
        assert fixtures, mutation.__name__
        _fixture_runner(mutation, fixtures)()


# -- fuzz: any JSON anywhere gives a definition or a TaskDefinitionError ----------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 40, 2 ** 40) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=3),
    max_leaves=8)


def _locations(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _locations(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _locations(value, prefix + (index,))


@SETTINGS
@given(ec2_definitions(), st.data(), JSON_VALUES)
def test_random_values_anywhere_never_escape_as_other_errors(generated, data, value):
    document = copy.deepcopy(generated.document)
    location = data.draw(st.sampled_from(list(_locations(document))))
    parent = document
    for step in location[:-1]:
        parent = parent[step]
    parent[location[-1]] = value
    try:
        parsed = parse_task_definition(document)
    except TaskDefinitionError as error:
        assert error.field
        return
    parsed.requirements()
    parsed.describe_json()
    assert parsed.to_json() == document
