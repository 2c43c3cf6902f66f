"""Where definitions come from, what is kept, and the JSON they give back."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from quaymaster.errors import InvalidInputError, TaskDefinitionError
from quaymaster.taskdef import (TaskDefinition, TaskRequirements, parse_task_definition,
                                requirements_of)
from taskdef_builders import CASES_DIR, container, definition, load_case, mapping


def test_parse_is_from_json():
    assert parse_task_definition == TaskDefinition.from_json


def test_every_input_form_gives_the_same_definition(tmp_path):
    document = load_case("gpu_worker.json")
    path = tmp_path / "def.json"
    path.write_text(json.dumps(document))
    forms = [document, json.dumps(document), json.dumps(document).encode(), str(path), path,
             {"taskDefinition": document}]
    parsed = [parse_task_definition(form) for form in forms]
    assert all(p == parsed[0] for p in parsed)
    assert all(p.requirements() == parsed[0].requirements() for p in parsed)


def test_parsing_copies_the_input():
    document = definition(container(portMappings=[mapping(80, 80)]))
    parsed = parse_task_definition(document)
    document["containerDefinitions"][0]["portMappings"][0]["hostPort"] = 81
    assert parsed.requirements().static_tcp == (80,)
    raw = parsed.raw
    raw["family"] = "changed"
    assert parsed.family == "web"


def test_round_trip_keeps_every_field():
    document = load_case("gpu_worker.json")
    parsed = parse_task_definition(document)
    assert parsed.to_json() == document
    assert parsed.unknown_fields == {}
    again = parse_task_definition(json.dumps(parsed.to_json()))
    assert again == parsed and again.to_json() == document


def test_unknown_members_are_refused_at_their_path():
    # ECS refuses members its model does not have, at any depth (tests/taskdef/test_taskdef_members.py).
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(load_case("unknown_fields.json"))
    assert caught.value.field == "xQuaymasterNote"


def test_unknown_fields_example_requirements():
    requirements = parse_task_definition(load_case("gpu_worker.json")).requirements()
    # cpu 1024 from the one container; memoryReservation 1536 counts, not memory 2048
    assert requirements == TaskRequirements(
        cpu=1024, memory=1536, gpu=2, eni=0, network_mode="bridge", static_tcp=(),
        static_udp=(), dynamic_tcp=1, dynamic_udp=0,
        required_attributes=(("ecs.capability.nvidia-gpu", None), ("ecs.os-type", "linux")),
        member_of=("attribute:ecs.instance-type =~ g5.*",), requires_compatibilities=(),
        family="batch-worker")


def test_describe_response_input():
    response = load_case("fargate_describe_response.json")
    parsed = parse_task_definition(response)
    assert (parsed.family, parsed.revision, parsed.status) == ("api", 7, "ACTIVE")
    assert parsed.arn == "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:7"
    assert parsed.tags == [{"key": "team", "value": "payments"}]
    requirements = parsed.requirements()
    assert (requirements.cpu, requirements.memory, requirements.eni) == (512, 1024, 1)
    assert requirements.static_tcp == () and requirements.dynamic_udp == 0
    assert requirements.required_attributes[-1] == ("ecs.capability.task-eni", None)
    assert parsed.compatibilities == ("EC2", "FARGATE")
    # the request shape drops what ECS set at registration, keeps the tags
    request = parsed.to_json()
    for name in ("taskDefinitionArn", "revision", "status", "compatibilities", "registeredAt",
                 "registeredBy"):
        assert name not in request
    assert request["tags"] == response["tags"]
    assert parse_task_definition(response["taskDefinition"]).requirements() == requirements


def test_describe_json_fills_ecs_defaults():
    document = definition(
        container("web", portMappings=[mapping(80), mapping(443, 443, "tcp"),
                                       {"containerPortRange": "9000-9001"}]),
        cpu="0.5 vCPU", memory="1 GB", tags=[{"key": "a", "value": "b"}])
    described = parse_task_definition(document).describe_json()
    assert described["cpu"] == "512" and described["memory"] == "1024"
    assert described["networkMode"] == "bridge"
    assert described["compatibilities"] == ["EXTERNAL", "EC2"]
    assert "tags" not in described
    web = described["containerDefinitions"][0]
    assert web["cpu"] == 0 and web["essential"] is True
    assert web["portMappings"] == [
        {"containerPort": 80, "hostPort": 0, "protocol": "tcp"},
        {"containerPort": 443, "hostPort": 443, "protocol": "tcp"},
        {"containerPortRange": "9000-9001", "protocol": "tcp"}]
    assert (web["environment"], web["mountPoints"], web["volumesFrom"]) == ([], [], [])
    assert list(described)[:3] == ["containerDefinitions", "family", "networkMode"]


def test_describe_json_of_awsvpc_fills_host_ports():
    document = definition(container(portMappings=[mapping(8080)], memory=None), cpu="256",
                          memory="512", networkMode="awsvpc")
    described = parse_task_definition(document).describe_json()
    assert described["containerDefinitions"][0]["portMappings"][0]["hostPort"] == 8080
    # passes the Fargate rules even without asking for FARGATE
    assert described["compatibilities"] == ["EC2", "FARGATE"]


def test_requirements_are_cached_and_immutable():
    parsed = parse_task_definition(definition())
    first = parsed.requirements()
    assert parsed.requirements() is first
    with pytest.raises(AttributeError):
        first.cpu = 5  # frozen dataclass


def test_task_definition_is_built_only_by_from_json():
    with pytest.raises(TypeError):
        TaskDefinition({"family": "x"})


def test_from_json_of_a_task_definition_is_itself():
    parsed = parse_task_definition(definition())
    assert TaskDefinition.from_json(parsed) is parsed


def test_requirements_of_accepts_all_forms(tmp_path):
    document = load_case("gpu_worker.json")
    expected = parse_task_definition(document).requirements()
    path = tmp_path / "d.json"
    path.write_text(json.dumps(document))
    assert requirements_of(document) == expected
    assert requirements_of(json.dumps(document)) == expected
    assert requirements_of(str(path)) == expected
    parsed = parse_task_definition(document)
    assert requirements_of(parsed) is parsed.requirements()
    assert requirements_of(expected) is expected


def test_null_fields_count_as_absent():
    document = definition(container(cpu=None, memoryReservation=None), networkMode=None)
    document["networkMode"] = None
    document["containerDefinitions"][0]["essential"] = None
    parsed = parse_task_definition(document)
    assert parsed.network_mode == "bridge" and parsed.containers[0].essential is True
    assert parsed.to_json()["networkMode"] is None  # kept as given


@pytest.mark.parametrize(("source", "text"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"taskDefinition": 3}', "family is required"),
    (42, "got int"),
    (["family"], "got list"),
    (str(CASES_DIR / "missing.json"), "cannot read"),
    ("missing\x00.json", "cannot read"),
])
def test_unreadable_sources(source, text):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(source)
    assert text in str(caught.value)
    assert caught.value.field in ("$", "family")


def test_timestamps_accept_datetime_text_and_epoch():
    base = load_case("fargate_describe_response.json")["taskDefinition"]
    for stamp in (dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), "2024-01-01T00:00:00Z",
                  1704067200.5):
        document = copy.deepcopy(base)
        document["registeredAt"] = stamp
        assert parse_task_definition(document).registered_at == stamp
    document = copy.deepcopy(base)
    document["registeredAt"] = [2024]
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(document)
    assert caught.value.field == "registeredAt"


@pytest.mark.parametrize(("fields", "field"), [
    ({"cpu": -1}, "cpu"), ({"memory": True}, "memory"), ({"network_mode": "nat"}, "network_mode"),
    ({"static_tcp": (0,)}, "static_tcp"), ({"static_udp": [70000]}, "static_udp"),
    ({"dynamic_tcp": 1.0}, "dynamic_tcp"),
    ({"required_attributes": [("a",)]}, "required_attributes"),
    ({"member_of": [3]}, "member_of"), ({"requires_compatibilities": ["EC9"]},
                                        "requires_compatibilities"),
    ({"memory": 2**63}, "memory"), ({"static_tcp": 80}, "static_tcp"), ({"member_of": "x"}, "member_of"),
    ({"required_attributes": 3}, "required_attributes"),
    ({"required_attributes": ["ab"]}, "required_attributes"),
    ({"requires_compatibilities": None}, "requires_compatibilities"), ({"family": 7}, "family"),
    ({"static_tcp": (80, 443, 80)}, "static_tcp"), ({"static_udp": [53, 53]}, "static_udp"),
])
def test_hand_built_requirements_are_checked(fields, field):
    with pytest.raises(InvalidInputError) as caught:
        TaskRequirements(**fields)
    assert caught.value.field == field


def test_hand_built_requirements_store_tuples():
    requirements = TaskRequirements(static_tcp=[80, 81], required_attributes=[["a", None]],
                                    member_of=["x"])
    assert requirements.static_tcp == (80, 81)
    assert requirements.required_attributes == (("a", None),)
    assert requirements.member_of == ("x",)
    assert requirements.host_port_count == 2
    assert requirements_of(requirements) is requirements


def test_uncopyable_or_too_deep_input_is_refused_as_a_definition_error():
    import threading

    uncopyable = definition(note=threading.Lock())
    deep = level = {}
    for _ in range(5000):
        level["x"] = {}
        level = level["x"]
    for document in (uncopyable, definition(note=deep)):
        with pytest.raises(TaskDefinitionError) as caught:
            parse_task_definition(document)
        assert caught.value.field == "$"


def test_run_task_body_with_an_inline_definition():
    body = {"taskDefinition": definition(container(portMappings=[mapping(80, 80)])), "count": 2}
    assert requirements_of(body).static_tcp == (80,)
