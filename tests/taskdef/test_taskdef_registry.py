"""The task definition registry: revisions, ARNs, ACTIVE/INACTIVE, listing."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from quaymaster.errors import (ClientError, InvalidParameterError, NotFoundError,
                               TaskDefinitionError)
from quaymaster.taskdef import TaskDefinitionRegistry, parse_task_definition
from taskdef_builders import container, definition, load_case

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def _registry(region="us-east-1", account="000000000000"):
    ticks = itertools.count()
    return TaskDefinitionRegistry(region, account,
                                  clock=lambda: EPOCH + dt.timedelta(seconds=next(ticks)))


def _web(memory=128, family="web"):
    return definition(container(memory=memory), family=family)


def test_revisions_count_from_one_per_family():
    registry = _registry()
    first, second = registry.register(_web(128)), registry.register(_web(256))
    other = registry.register(_web(64, family="worker"))
    assert (first.revision, second.revision, other.revision) == (1, 2, 1)
    assert first.arn == "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
    assert other.arn == "arn:aws:ecs:us-east-1:000000000000:task-definition/worker:1"
    assert first.status == second.status == "ACTIVE"
    assert first.registered_at == EPOCH and second.registered_at == EPOCH + dt.timedelta(seconds=1)
    assert len(registry) == 3


def test_arn_uses_region_and_account():
    registry = _registry("eu-central-1", "123456789012")
    registered = registry.register(_web())
    assert registered.arn == "arn:aws:ecs:eu-central-1:123456789012:task-definition/web:1"
    assert registry.describe(registered.arn) is registered


def test_describe_by_family_revision_and_arn():
    registry = _registry()
    first, second = registry.register(_web(128)), registry.register(_web(256))
    assert registry.describe("web") is second
    assert registry.describe("web:1") is first
    assert registry.describe(first.arn) is first
    assert registry.describe(second.arn).requirements().memory == 256


def test_deregister_makes_inactive_and_latest_active_skips_it():
    registry = _registry()
    first, second = registry.register(_web(128)), registry.register(_web(256))
    inactive = registry.deregister("web:2")
    assert inactive.status == "INACTIVE" and inactive.deregistered_at is not None
    assert second.status == "ACTIVE"  # what was handed out earlier does not change
    assert registry.describe("web") is first
    assert registry.describe("web:2").status == "INACTIVE"  # an explicit revision still works
    assert registry.describe(second.arn).status == "INACTIVE"
    assert registry.deregister(second.arn) is registry.describe("web:2")  # idempotent
    registry.deregister("web:1")
    with pytest.raises(NotFoundError) as caught:
        registry.describe("web")
    assert str(caught.value) == "Unable to describe task definition."
    # numbering goes on after deregistered revisions
    assert registry.register(_web()).revision == 3


def test_deregister_needs_a_revision():
    registry = _registry()
    registry.register(_web())
    with pytest.raises(ClientError) as caught:
        registry.deregister("web")
    assert caught.value.field == "taskDefinition"
    assert registry.describe("web").status == "ACTIVE"


@pytest.mark.parametrize("ref", [
    "nope", "web:2", "web:0", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:9",
    "arn:aws:ecs:us-west-2:000000000000:task-definition/web:1",
    "arn:aws:ecs:us-east-1:111111111111:task-definition/web:1", "arn:aws:s3:::bucket",
])
def test_unknown_references_are_not_found(ref):
    registry = _registry()
    registry.register(_web())
    with pytest.raises((NotFoundError, ClientError)) as caught:
        registry.describe(ref)
    assert caught.value.field == "taskDefinition"
    if isinstance(caught.value, NotFoundError):
        assert str(caught.value) == "Unable to describe task definition."
        assert caught.value.value == ref


@pytest.mark.parametrize("ref", ["web:x", "web:", "web:-1"])
def test_bad_revision_numbers(ref):
    registry = _registry()
    registry.register(_web())
    with pytest.raises(ClientError, match="Invalid revision number"):
        registry.describe(ref)


@pytest.mark.parametrize("ref", ["", None, 7])
def test_references_must_be_text(ref):
    with pytest.raises(InvalidParameterError):
        _registry().describe(ref)


def test_invalid_definition_registers_nothing():
    registry = _registry()
    registry.register(_web())
    with pytest.raises(TaskDefinitionError):
        registry.register(definition(container(memory=0)))
    with pytest.raises(TaskDefinitionError):
        registry.register(definition(container(memory=0), family="fresh"))
    assert len(registry) == 1
    assert registry.list_families() == ["web"]
    assert registry.register(_web()).revision == 2  # no revision number was used up


def test_list_task_definitions_orders_and_filters():
    registry = _registry()
    for family in ("b", "a", "b", "c", "a"):
        registry.register(_web(family=family))
    registry.deregister("a:1")
    arn = registry.arn
    assert registry.list_task_definitions() == [arn("a", 2), arn("b", 1), arn("b", 2),
                                                arn("c", 1)]
    assert registry.list_task_definitions(sort="DESC") == [arn("c", 1), arn("b", 2), arn("b", 1),
                                                           arn("a", 2)]
    assert registry.list_task_definitions(status="INACTIVE") == [arn("a", 1)]
    # ECS: familyPrefix is the full family name
    assert registry.list_task_definitions(family_prefix="b") == [arn("b", 1), arn("b", 2)]
    registry.register(_web(family="bb"))
    assert registry.list_task_definitions(family_prefix="b") == [arn("b", 1), arn("b", 2)]


def test_list_families_by_status_and_prefix():
    registry = _registry()
    for family in ("api", "api-worker", "batch"):
        registry.register(_web(family=family))
    registry.deregister("batch:1")
    assert registry.list_families() == ["api", "api-worker", "batch"]
    assert registry.list_families(status="ACTIVE") == ["api", "api-worker"]
    assert registry.list_families(status="INACTIVE") == ["batch"]
    assert registry.list_families(family_prefix="api") == ["api", "api-worker"]
    assert registry.list_families(family_prefix="api-", status="ACTIVE") == ["api-worker"]


@pytest.mark.parametrize(("call", "field"), [
    (lambda r: r.list_task_definitions(status="GONE"), "status"),
    (lambda r: r.list_task_definitions(sort="UP"), "sort"),
    (lambda r: r.list_families(status="DELETED"), "status"),
    (lambda r: r.describe_task_definition("web", include=["COLOR"]), "include"),
    (lambda r: r.describe_task_definition("web", include=7), "include"),
    (lambda r: r.list_families(family_prefix=7), "familyPrefix"),
    (lambda r: r.list_task_definitions(family_prefix=["web"]), "familyPrefix"),
])
def test_bad_list_parameters(call, field):
    registry = _registry()
    registry.register(_web())
    with pytest.raises(InvalidParameterError) as caught:
        call(registry)
    assert caught.value.field == field


@pytest.mark.parametrize(("region", "account"), [("mars-1", "000000000000"),
                                                 ("us-east-1", "12345"),
                                                 ("us-east-1\n", "000000000000"),
                                                 ("us-east-1", "\u0661" * 12)])  # Arabic-Indic digits
def test_registry_needs_a_region_and_account(region, account):
    with pytest.raises(InvalidParameterError):
        TaskDefinitionRegistry(region, account)


def test_registry_clock_must_be_callable():
    with pytest.raises(InvalidParameterError) as caught:
        TaskDefinitionRegistry(clock=0)
    assert caught.value.field == "clock"


def test_describe_output_shape():
    registry = _registry("eu-west-1", "123456789012")
    request = definition(container(cpu=100, memory=None, memoryReservation=200),
                         cpu="1 vCPU", memory="2GB", tags=[{"key": "team", "value": "web"}])
    registry.register(request)
    response = registry.describe_task_definition("web:1", include=["TAGS"])
    described = response["taskDefinition"]
    assert response["tags"] == [{"key": "team", "value": "web"}]
    assert "tags" not in registry.describe_task_definition("web")
    assert described["taskDefinitionArn"] == \
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1"
    assert (described["family"], described["revision"], described["status"]) == ("web", 1, "ACTIVE")
    assert (described["cpu"], described["memory"]) == ("1024", "2048")  # strings, as ECS returns
    assert described["compatibilities"] == ["EXTERNAL", "EC2"]
    assert described["registeredAt"] == EPOCH.isoformat()
    assert described["registeredBy"] == "arn:aws:iam::123456789012:root"
    assert described["containerDefinitions"][0]["memoryReservation"] == 200
    # the described definition parses back to the same requirements
    assert parse_task_definition(response).requirements() == \
        registry.describe("web").requirements()


def test_registering_a_described_definition_gets_a_new_revision():
    registry = _registry()
    described = load_case("fargate_describe_response.json")
    registered = registry.register(described)
    assert registered.revision == 1 and registered.family == "api"
    assert registered.arn == "arn:aws:ecs:us-east-1:000000000000:task-definition/api:1"
    assert registered.tags == [{"key": "team", "value": "payments"}]
    assert registered.to_json() == parse_task_definition(described).to_json()
