"""Table cases: one task definition each, with its requirements or its error path.

Spec: placement.md section 2 and limits.md. Valid cases list the requirement
fields they pin, with the arithmetic in a comment; invalid cases name the JSON
path of the field the error must point at and a piece of its message.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef import parse_task_definition, requirements_of
from taskdef_builders import container, definition, gpu, load_case, mapping, with_family


@dataclass
class Ok:
    """Valid; the listed TaskRequirements fields must equal these values."""

    fields: dict


@dataclass
class Err:
    """Invalid; the error's field must be ``path`` and its message must contain ``text``."""

    path: str
    text: str = ""


def ok(**fields):
    return Ok(fields)


SEED = load_case("wordpress_seed.json")
SEED_WITH_MYSQL = with_family(SEED)
SEED_WITH_MYSQL["containerDefinitions"].append(
    {"name": "mysql", "image": "mysql:8", "cpu": 10, "memory": 500, "essential": True})
TWO = (container("a", cpu=512, memory=256),
       container("b", cpu=600, memory=None, memoryReservation=300))

CASES = [
    # -- the seed's wordpress definition ------------------------------------------------
    ("seed as printed has no family", SEED, Err("family", "family is required")),
    ("seed with a family links to a missing mysql", with_family(SEED),
     Err("containerDefinitions[0].links[0]", "'mysql'")),
    # cpu 10 + 10, memory 500 + 500, hostPort 80 static
    ("seed plus a mysql container", SEED_WITH_MYSQL,
     ok(cpu=20, memory=1000, gpu=0, eni=0, network_mode="bridge", static_tcp=(80,),
        static_udp=(), dynamic_tcp=0, dynamic_udp=0)),
    # -- valid definitions and their requirements -------------------------------------
    ("minimal", definition(), ok(cpu=0, memory=128, eni=0, static_tcp=(), dynamic_tcp=0)),
    # reservation 256 counts instead of memory 512; the second container adds 128
    ("memoryReservation wins over memory",
     definition(container("a", memory=512, memoryReservation=256), container("b")),
     ok(memory=384)),
    ("reservation only", definition(container(memory=None, memoryReservation=64)), ok(memory=64)),
    ("task size in vCPU and GB",
     definition(container("a", cpu=512), container("b", cpu=256, memory=None),
                cpu="1 vCPU", memory="2 GB"),
     ok(cpu=1024, memory=2048)),
    ("task size 0.25 vcpu and 2GB", definition(cpu="0.25 vcpu", memory="2GB"),
     ok(cpu=256, memory=2048)),
    ("task memory makes container memory optional",
     definition(container(memory=None), memory="512"), ok(memory=512)),
    ("EC2 task cpu lower bound", definition(cpu="128"), ok(cpu=128)),
    ("EC2 task cpu upper bound", definition(cpu="196608"), ok(cpu=196608)),
    # tcp: 80 static, 8080 dynamic; udp: 53 static, 5000 dynamic (hostPort 0)
    ("bridge static and dynamic ports",
     definition(container(portMappings=[mapping(80, 80), mapping(8080),
                                        mapping(53, 53, "udp"), mapping(5000, 0, "udp")])),
     ok(static_tcp=(80,), static_udp=(53,), dynamic_tcp=1, dynamic_udp=1)),
    ("bridge port range takes one dynamic port per port",
     definition(container(portMappings=[{"containerPortRange": "8000-8009"}])),
     ok(dynamic_tcp=10, static_tcp=())),
    ("host mode: host port is containerPort",
     definition(container(portMappings=[mapping(80), mapping(443, 443), mapping(514, None, "udp")]),
                networkMode="host"),
     ok(static_tcp=(80, 443), static_udp=(514,), dynamic_tcp=0, eni=0)),
    ("awsvpc: no host ports, one ENI",
     definition(container(portMappings=[mapping(80), mapping(8080, 8080)]), networkMode="awsvpc"),
     ok(static_tcp=(), dynamic_tcp=0, eni=1, network_mode="awsvpc")),
    ("none mode without mappings", definition(networkMode="none"), ok(eni=0, network_mode="none")),
    ("same static port, different protocols",
     definition(container("a", portMappings=[mapping(53, 53)]),
                container("b", portMappings=[mapping(53, 53, "udp")])),
     ok(static_tcp=(53,), static_udp=(53,))),
    ("GPUs add up", definition(container("a", resourceRequirements=[gpu("2")]),
                               container("b", resourceRequirements=[gpu("1")])), ok(gpu=3)),
    ("requiresAttributes and memberOf",
     definition(requiresAttributes=[{"name": "com.example.ssd"},
                                    {"name": "ecs.os-type", "value": "linux"}],
                placementConstraints=[{"type": "memberOf",
                                       "expression": "attribute:ecs.instance-type =~ t3.*"}]),
     ok(required_attributes=(("com.example.ssd", None), ("ecs.os-type", "linux")),
        member_of=("attribute:ecs.instance-type =~ t3.*",))),
    ("Fargate 256/512",
     definition(container(memory=None, cpu=128), networkMode="awsvpc", cpu="256", memory="512",
                requiresCompatibilities=["FARGATE"]),
     ok(cpu=256, memory=512, eni=1, requires_compatibilities=("FARGATE",))),
    ("one essential container is enough",
     definition(container("a", essential=False), container("b")), ok(memory=256)),
    ("link with an alias", definition(container("a", links=["b:database"]), container("b")),
     ok(memory=256)),
    # -- invalid: family and containers ---------------------------------------------------
    ("empty family", definition(family=""), Err("family", "''")),
    ("family with a space", definition(family="my web"), Err("family", "'my web'")),
    ("family of 256 characters", definition(family="f" * 256), Err("family")),
    ("family with a trailing newline", definition(family="web\n"), Err("family")),
    ("no containers", definition(containerDefinitions=[]), Err("containerDefinitions", "got 0")),
    ("eleven containers", definition(*[container(f"c{i}") for i in range(11)]),
     Err("containerDefinitions", "got 11")),
    ("duplicate container names", definition(container("a"), container("a")),
     Err("containerDefinitions[1].name", "'a'")),
    ("container name with a dot", definition(container("my.app")),
     Err("containerDefinitions[0].name", "'my.app'")),
    ("container without a name", definition({"image": "x", "memory": 64}),
     Err("containerDefinitions[0].name", "required")),
    # ECS's API requires an image; quaymaster does not (placement never reads it).
    ("container without an image", definition(container(image=None, memory=64)), ok(memory=64)),
    ("container with an empty image", definition(container(image="")),
     Err("containerDefinitions[0].image", "empty image")),
    ("no essential container",
     definition(container("a", essential=False), container("b", essential=False)),
     Err("containerDefinitions", "essential")),
    # -- invalid: memory and cpu ------------------------------------------------------------
    ("memory of 0 MiB", definition(container(memory=0)),
     Err("containerDefinitions[0].memory", "0")),
    ("memoryReservation below 1 MiB", definition(container(memory=None, memoryReservation=-4)),
     Err("containerDefinitions[0].memoryReservation", "-4")),
    ("memory of 5 MiB is placed (ECS advises 6; the spec sets no floor)",
     definition(container(memory=5)), ok(memory=5)),
    ("memoryReservation above memory", definition(container(memory=500, memoryReservation=600)),
     Err("containerDefinitions[0].memoryReservation", "600")),
    ("no memory anywhere", definition(container("a"), container("b", memory=None)),
     Err("containerDefinitions[1].memory", "'b'")),
    # 512 + 600 = 1112 > 1024, reached at the second container
    ("containers' cpu above task cpu", definition(*TWO, cpu="1024"),
     Err("containerDefinitions[1].cpu", "1112")),
    # 256 + 300 = 556 > 512, reached at the second container's reservation
    ("containers' memory above task memory", definition(*TWO, memory="512"),
     Err("containerDefinitions[1].memoryReservation", "556")),
    ("negative container cpu", definition(container(cpu=-1)), Err("containerDefinitions[0].cpu")),
    ("EC2 task cpu below 128", definition(cpu="64"), Err("cpu", "'64'")),
    ("EC2 task cpu above 196608", definition(cpu="196609"), Err("cpu", "196609")),
    ("task cpu not a number", definition(cpu="lots"), Err("cpu", "'lots'")),
    ("task cpu not whole units", definition(cpu="0.1 vCPU"), Err("cpu", "0.1 vCPU")),
    ("task cpu in GB", definition(cpu="1 GB"), Err("cpu", "1 GB")),
    ("task memory in TB", definition(memory="2 TB"), Err("memory", "2 TB")),
    ("task memory zero", definition(memory="0"), Err("memory", "'0'")),
    # -- invalid: links and dependsOn -----------------------------------------------------------
    ("link to an unknown container", definition(container("a", links=["ghost"])),
     Err("containerDefinitions[0].links[0]", "'ghost'")),
    ("links with awsvpc", definition(container("a", links=["b"]), container("b"),
                                     networkMode="awsvpc"),
     Err("containerDefinitions[0].links", "awsvpc")),
    ("links with host", definition(container("a", links=["b"]), container("b"),
                                   networkMode="host"),
     Err("containerDefinitions[0].links", "host")),
    ("malformed link", definition(container("a", links=["b:c:d"]), container("b")),
     Err("containerDefinitions[0].links[0]", "'b:c:d'")),
    ("link with an empty alias", definition(container("a", links=["b:"]), container("b")),
     Err("containerDefinitions[0].links[0]", "'b:'")),
    ("port range in non-ASCII digits",
     definition(container(portMappings=[{"containerPortRange": "\u0668\u0660-\u0668\u0661"}])),
     Err("containerDefinitions[0].portMappings[0].containerPortRange")),
    ("dependsOn an unknown container",
     definition(container(dependsOn=[{"containerName": "db", "condition": "START"}])),
     Err("containerDefinitions[0].dependsOn[0].containerName", "'db'")),
    # -- invalid: port mappings -------------------------------------------------------------------
    ("bridge hostPort above 65535", definition(container(portMappings=[mapping(80, 70000)])),
     Err("containerDefinitions[0].portMappings[0].hostPort", "70000")),
    ("bridge negative hostPort", definition(container(portMappings=[mapping(80, -1)])),
     Err("containerDefinitions[0].portMappings[0].hostPort", "-1")),
    ("containerPort 0", definition(container(portMappings=[mapping(0)])),
     Err("containerDefinitions[0].portMappings[0].containerPort", "0")),
    ("containerPort 65536", definition(container(portMappings=[mapping(65536)])),
     Err("containerDefinitions[0].portMappings[0].containerPort", "65536")),
    ("mapping without a port", definition(container(portMappings=[{"protocol": "tcp"}])),
     Err("containerDefinitions[0].portMappings[0].containerPort", "required")),
    ("host mode hostPort differs",
     definition(container(portMappings=[mapping(80, 8080)]), networkMode="host"),
     Err("containerDefinitions[0].portMappings[0].hostPort", "8080")),
    ("host mode hostPort 0", definition(container(portMappings=[mapping(80, 0)]),
                                        networkMode="host"),
     Err("containerDefinitions[0].portMappings[0].hostPort", "got 0")),
    ("awsvpc hostPort differs",
     definition(container(portMappings=[mapping(80, 81)]), networkMode="awsvpc"),
     Err("containerDefinitions[0].portMappings[0].hostPort", "81")),
    ("port mappings with none",
     definition(container(portMappings=[mapping(80)]), networkMode="none"),
     Err("containerDefinitions[0].portMappings", "none")),
    ("duplicate static host port",
     definition(container("a", portMappings=[mapping(80, 8080)]),
                container("b", portMappings=[mapping(81, 8080)])),
     Err("containerDefinitions[1].portMappings[0].hostPort", "8080")),
    ("duplicate host port in host mode",
     definition(container("a", portMappings=[mapping(80)]),
                container("b", portMappings=[mapping(80)]), networkMode="host"),
     Err("containerDefinitions[1].portMappings[0].containerPort", "80")),
    ("container port mapped twice",
     definition(container(portMappings=[mapping(80, 8080), mapping(80, 8081, "udp")])),
     Err("containerDefinitions[0].portMappings[1].containerPort", "80")),
    ("port range in host mode",
     definition(container(portMappings=[{"containerPortRange": "8000-8001"}]),
                networkMode="host"),
     Err("containerDefinitions[0].portMappings[0].containerPortRange", "host")),
    ("port range with a hostPort",
     definition(container(portMappings=[{"containerPortRange": "8000-8001", "hostPort": 9000}])),
     Err("containerDefinitions[0].portMappings[0].hostPort", "9000")),
    ("port range backwards",
     definition(container(portMappings=[{"containerPortRange": "9000-8000"}])),
     Err("containerDefinitions[0].portMappings[0].containerPortRange", "9000-8000")),
    ("port range overlapping a port",
     definition(container(portMappings=[mapping(8005), {"containerPortRange": "8000-8010"}])),
     Err("containerDefinitions[0].portMappings[1].containerPortRange", "8005")),
    # -- invalid: types and enums (botocore shapes) --------------------------------------------
    ("protocol sctp", definition(container(portMappings=[mapping(80, protocol="sctp")])),
     Err("containerDefinitions[0].portMappings[0].protocol", "'sctp'")),
    ("networkMode nat", definition(networkMode="nat"), Err("networkMode", "'nat'")),
    ("hostPort as a string", definition(container(portMappings=[mapping(80, "80")])),
     Err("containerDefinitions[0].portMappings[0].hostPort", "'80'")),
    ("container memory as a string", definition(container(memory="512")),
     Err("containerDefinitions[0].memory", "'512'")),
    ("essential as a string", definition(container(essential="yes")),
     Err("containerDefinitions[0].essential", "'yes'")),
    ("cpu as a float", definition(container(cpu=1.5)), Err("containerDefinitions[0].cpu", "1.5")),
    ("cpu beyond 32 bits", definition(container(cpu=2 ** 31)),
     Err("containerDefinitions[0].cpu", str(2 ** 31))),
    ("containerDefinitions as an object", definition(containerDefinitions={"name": "x"}),
     Err("containerDefinitions", "a list")),
    ("unknown compatibility", definition(requiresCompatibilities=["EC3"]),
     Err("requiresCompatibilities[0]", "'EC3'")),
    ("resource type TPU", definition(container(resourceRequirements=[{"type": "TPU",
                                                                       "value": "1"}])),
     Err("containerDefinitions[0].resourceRequirements[0].type", "'TPU'")),
    ("secret without valueFrom", definition(container(secrets=[{"name": "TOKEN"}])),
     Err("containerDefinitions[0].secrets[0].valueFrom", "required")),
    ("docker label not a string", definition(container(dockerLabels={"a.b": 1})),
     Err('containerDefinitions[0].dockerLabels["a.b"]', "1")),
    ("51 tags", definition(tags=[{"key": f"k{i}", "value": "v"} for i in range(51)]),
     Err("tags", "51")),
    ("empty tag key", definition(tags=[{"key": "", "value": "v"}]), Err("tags[0].key")),
    # -- invalid: constraints and attributes -------------------------------------------------
    ("eleven placement constraints",
     definition(placementConstraints=[{"type": "memberOf", "expression": "agentConnected == true"}]
                * 11), Err("placementConstraints", "11")),
    ("distinctInstance in a task definition",
     definition(placementConstraints=[{"type": "distinctInstance"}]),
     Err("placementConstraints[0].type", "'distinctInstance'")),
    ("memberOf without an expression", definition(placementConstraints=[{"type": "memberOf"}]),
     Err("placementConstraints[0].expression")),
    ("expression of 2001 characters",
     definition(placementConstraints=[{"type": "memberOf", "expression": "x" * 2001}]),
     Err("placementConstraints[0].expression", "2001")),
    ("attribute name of 129 characters", definition(requiresAttributes=[{"name": "a" * 129}]),
     Err("requiresAttributes[0].name")),
    # -- invalid: GPUs and accelerators ------------------------------------------------------
    ("GPU value 0", definition(container(resourceRequirements=[gpu("0")])),
     Err("containerDefinitions[0].resourceRequirements[0].value", "'0'")),
    ("GPU value 1.5", definition(container(resourceRequirements=[gpu("1.5")])),
     Err("containerDefinitions[0].resourceRequirements[0].value", "'1.5'")),
    ("GPU given twice", definition(container(resourceRequirements=[gpu("1"), gpu("1")])),
     Err("containerDefinitions[0].resourceRequirements[1].type", "GPU")),
    ("unknown inference accelerator",
     definition(container(resourceRequirements=[{"type": "InferenceAccelerator",
                                                  "value": "dev9"}]),
                inferenceAccelerators=[{"deviceName": "dev1", "deviceType": "eia2.medium"}]),
     Err("containerDefinitions[0].resourceRequirements[0].value", "'dev9'")),
    # -- invalid: launch types -------------------------------------------------------------------
    ("Fargate with bridge",
     definition(cpu="256", memory="512", requiresCompatibilities=["FARGATE"]),
     Err("networkMode", "Fargate only supports network mode 'awsvpc'.")),
    ("Fargate without task cpu",
     definition(memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"]),
     Err("cpu", "Invalid 'cpu' setting for task.")),
    ("Fargate without task memory",
     definition(cpu="256", networkMode="awsvpc", requiresCompatibilities=["FARGATE"]),
     Err("memory", "Invalid 'cpu' setting for task.")),
    ("Fargate pair not in the table",
     definition(cpu="256", memory="4096", networkMode="awsvpc",
                requiresCompatibilities=["EC2", "FARGATE"]),
     Err("cpu", "Invalid 'cpu' setting for task.")),
    ("Fargate with placement constraints",
     definition(cpu="256", memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                placementConstraints=[{"type": "memberOf",
                                       "expression": "agentConnected == true"}]),
     Err("placementConstraints", "Fargate")),
    ("Fargate with a GPU",
     definition(container(resourceRequirements=[gpu("1")]), cpu="1024", memory="2048",
                networkMode="awsvpc", requiresCompatibilities=["FARGATE"]),
     Err("containerDefinitions[0].resourceRequirements[0].type", "Fargate")),
    ("Fargate with privileged",
     definition(container(privileged=True), cpu="256", memory="512", networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"]),
     Err("containerDefinitions[0].privileged", "Fargate")),
    ("EXTERNAL with awsvpc",
     definition(networkMode="awsvpc", requiresCompatibilities=["EXTERNAL"]),
     Err("networkMode", "EXTERNAL")),
    # -- invalid: size -----------------------------------------------------------------------------
    ("definition above 64 KiB",
     definition(container(environment=[{"name": f"V{i}", "value": "x" * 100}
                                       for i in range(700)])),
     Err("$", "65536")),
]


def _ids():
    return [case[0] for case in CASES]


def test_there_are_enough_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(("name", "document", "expected"), CASES, ids=_ids())
def test_case(name, document, expected):
    if isinstance(expected, Err):
        with pytest.raises(TaskDefinitionError) as caught:
            parse_task_definition(document)
        error = caught.value
        assert error.field == expected.path, str(error)
        assert str(error).startswith(f"{expected.path}: ")
        assert expected.text in str(error)
        assert isinstance(error, ValueError)
    else:
        requirements = parse_task_definition(document).requirements()
        for field, value in expected.fields.items():
            assert getattr(requirements, field) == value, field
        assert requirements_of(document) == requirements
