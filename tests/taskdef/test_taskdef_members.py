"""Member names are checked against botocore's ECS model, and hostile values give
typed errors naming the field: no OverflowError, ValueError, UnicodeEncodeError or
TypeError escapes from a task definition or a reference to one."""

from __future__ import annotations

import datetime as dt

import botocore.session
import pytest

from quaymaster.errors import InvalidInputError, NotFoundError, TaskDefinitionError
from quaymaster.taskdef import parse_task_definition
from quaymaster.taskdef.registry import TaskDefinitionRegistry
from taskdef_builders import container, definition, mapping


def refused(document) -> TaskDefinitionError:
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(document)
    return caught.value


@pytest.mark.parametrize("document, path", [
    ({**definition(), "familly": "web"}, "familly"),
    (definition(container(memroy=64)), "containerDefinitions[0].memroy"),
    (definition(container(portMappings=[{"containerPort": 80, "hostPrt": 80}])),
     "containerDefinitions[0].portMappings[0].hostPrt"),
    (definition(container(resourceRequirements=[{"type": "GPU", "value": "1", "count": 1}])),
     "containerDefinitions[0].resourceRequirements[0].count"),
    ({**definition(), "placementConstraints": [{"type": "memberOf", "expresion": "x"}]},
     "placementConstraints[0].expresion"),
    (definition(container(logConfiguration={"logDriver": "awslogs", "option": {}})),
     "containerDefinitions[0].logConfiguration.option"),
    ({**definition(), "revision": 1, "revisoin": 1}, "revisoin"),
])
def test_unknown_members_are_refused_with_their_path(document, path):
    error = refused(document)
    assert error.field == path
    assert "unknown member" in str(error)


def test_the_typo_hint_names_the_member():
    assert "did you mean 'family'?" in str(refused({**definition(), "familly": "web"}))


def test_every_request_member_of_the_model_is_known():
    shape = botocore.session.get_session().get_service_model("ecs").operation_model(
        "RegisterTaskDefinition").input_shape
    known = set(shape.members)
    assert {"family", "containerDefinitions", "tags", "runtimePlatform"} <= known
    # A request may not carry what only DescribeTaskDefinition returns ...
    assert refused({**definition(), "tagz": []}).field == "tagz"


def test_a_described_definition_takes_the_output_members():
    described = {**definition(container(portMappings=[mapping(80, 80)])),
                 "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3",
                 "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"],
                 "registeredAt": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "registeredBy": "me",
                 "requiresAttributes": [{"name": "ecs.capability.docker-remote-api.1.18"}]}
    assert parse_task_definition(described).family == "web"
    assert parse_task_definition({"taskDefinition": described, "tags": []}).family == "web"


def test_map_keys_are_the_users():
    parsed = parse_task_definition(definition(container(dockerLabels={"familly": "x", "a.b/c": "y"})))
    assert parsed.family == "web"


HOSTILE = {
    "cpu with 400 digits and a fraction": ({**definition(), "cpu": "1" + "0" * 400 + ".5"}, "cpu"),
    "memory with 400 digits and a fraction": ({**definition(), "memory": "1" + "0" * 400 + ".5 GB"},
                                              "memory"),
    "lone surrogate in a value": ({**definition(), "family": "w\ud800"}, "family"),
    "lone surrogate in a nested value": (definition(container(name="a\udc00")), "containerDefinitions[0].name"),
    "lone surrogate in a map value": (definition(container(dockerLabels={"k": "\udc00"})),
                                      'containerDefinitions[0].dockerLabels.k'),
    "lone surrogate in a key": ({**definition(), "x\udc00": 1}, "$"),
    "integer key": ({**definition(), 1: 2}, "$"),
    "tuple key in a container": (definition(container(**{})) | {"containerDefinitions": [
        {"name": "a", "memory": 64, (1,): 2}]}, "containerDefinitions[0]"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_values_raise_task_definition_errors(case):
    document, field = HOSTILE[case]
    assert refused(document).field == field


def test_json_integers_past_python_digit_limit():
    text = '{"family": "web", "containerDefinitions": [{"name": "a", "memory": ' + "1" * 5000 + "}]}"
    assert refused(text).field == "$"


@pytest.mark.parametrize("ref", ["web:" + "1" * 5000, "web:" + "0" * 30 + "1" * 19,
                                 "arn:aws:ecs:us-east-1:000000000000:task-definition/web:" + "9" * 4400])
def test_huge_revisions_are_not_found(ref):
    registry = TaskDefinitionRegistry("us-east-1", "000000000000")
    registry.register(definition())
    with pytest.raises(NotFoundError):
        registry.describe(ref)


def test_zero_padded_revision_still_found():
    registry = TaskDefinitionRegistry("us-east-1", "000000000000")
    registry.register(definition())
    assert registry.describe("web:" + "0" * 40 + "1").revision == 1
    with pytest.raises(InvalidInputError):
        registry.describe("web:" + "0" * 5000)
