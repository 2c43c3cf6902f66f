"""ECS's JSON shapes for container instances, both ways.

Out: a container instance as botocore's ECS model shape ``ContainerInstance``
(DescribeContainerInstances, RegisterContainerInstance, ...), failures as
``Failure``, attributes as ``Attribute``. In: the ``Resources`` list of
RegisterContainerInstance (``totalResources``), turned into table columns.

Choices where ECS's shapes leave room (written down in the report / docs):

- ``registeredAt`` is seconds since the epoch as a float (the JSON wire form).
- ``GPU`` is listed as an ``INTEGER`` count: the library keeps how many GPUs an
  instance has, not their device ids.
- ``runningTasksCount`` counts the live tasks whose desired status is RUNNING,
  that is those in PROVISIONING..RUNNING; ``pendingTasksCount`` those in PENDING.
- Port sets are listed in ascending numeric order.

Shape member names and enums come from botocore's ECS service model
(:func:`shape_members`, :func:`shape_enum`), loaded on first use and cached,
never copied by hand: a newer botocore with a new member shows up in the
tests, not as a silent drift.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from quaymaster.errors import InvalidParameterError
from quaymaster.model.attributes import NO_VALUE
from quaymaster.model.coerce import MAX_RESERVED_PORTS
from quaymaster.model.schema import INT64_MAX, MAX_PORT, MIN_PORT


INT32_MAX = 2**31 - 1

#: Resource names the library models; other names in ``totalResources`` are refused.
NUMBER_RESOURCES = ("CPU", "MEMORY", "GPU")
PORT_RESOURCES = ("PORTS", "PORTS_UDP")
_NUMBER_TYPES = {"INTEGER": "integerValue", "LONG": "longValue", "DOUBLE": "doubleValue"}


# -- botocore's ECS model ------------------------------------------------------

@functools.cache
def ecs_model() -> dict:
    """botocore's ECS service model (``service-2``), loaded once per process."""
    from botocore.loaders import Loader

    return Loader().load_service_model("ecs", "service-2")


def shape_members(shape: str) -> tuple[str, ...]:
    """The member names of an ECS model structure, in the model's order."""
    return tuple(ecs_model()["shapes"][shape]["members"])


def shape_enum(shape: str) -> tuple[str, ...]:
    """The values of an ECS model string enum."""
    return tuple(ecs_model()["shapes"][shape]["enum"])


def __getattr__(name: str) -> Any:
    # INCLUDE_FIELDS: the ``include`` values of DescribeContainerInstances, botocore's
    # ``ContainerInstanceField`` enum; resolved on first use (loading the model costs 0.1 s).
    if name == "INCLUDE_FIELDS":
        value = shape_enum("ContainerInstanceField")
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- out ---------------------------------------------------------------------

def number_resource(name: str, value: int) -> dict:
    """A CPU / MEMORY / GPU entry, as ECS lists it (all value fields present)."""
    value = int(value)
    if value > INT32_MAX:  # integerValue is 32-bit in ECS's model
        return {"name": name, "type": "LONG", "doubleValue": 0.0, "longValue": value, "integerValue": 0}
    return {"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value}


def port_resource(name: str, ports) -> dict:
    """A PORTS / PORTS_UDP entry: the ports as strings, ascending."""
    return {"name": name, "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0, "integerValue": 0,
            "stringSetValue": [str(p) for p in sorted(int(p) for p in ports)]}


def resources_json(cpu: int, memory: int, gpu: int, tcp_ports, udp_ports, *, with_gpu: bool) -> list[dict]:
    """registeredResources / remainingResources: CPU, MEMORY, PORTS, PORTS_UDP, then GPU."""
    entries = [number_resource("CPU", cpu), number_resource("MEMORY", memory),
               port_resource("PORTS", tcp_ports), port_resource("PORTS_UDP", udp_ports)]
    if with_gpu:
        entries.append(number_resource("GPU", gpu))
    return entries


def attribute_json(name: str, value: str, target_arn: str | None = None) -> dict:
    """An ``Attribute``; a value-less attribute has no ``value`` key, as in ECS."""
    entry: dict = {"name": name}
    if value != NO_VALUE:
        entry["value"] = value
    if target_arn is not None:
        entry["targetId"] = target_arn
    return entry


def instance_attributes(state, position: int) -> list[dict]:
    """Every attribute the instance has (built-in and custom), sorted by name."""
    entries = []
    for name in sorted(state.attributes):
        value = state.attributes[name].get(position)
        if value is not None:
            entries.append(attribute_json(name, value))
    return entries


def failure(arn: str, reason: str, detail: str | None = None) -> dict:
    """A ``Failure`` entry."""
    entry = {"arn": arn, "reason": reason}
    if detail is not None:
        entry["detail"] = detail
    return entry


def task_counts(cluster) -> tuple[np.ndarray, np.ndarray]:
    """Per instance position: live tasks with desired status RUNNING, and those PENDING
    (kept by the cluster's state owner as tasks come and go)."""
    return cluster.owner.running_wanted, cluster.owner.pending


def ports_in_use(cluster, position: int) -> tuple[np.ndarray, np.ndarray]:
    """TCP and UDP host ports in use on an instance: the agent's plus the live tasks'."""
    return cluster.owner.ports.ports_of(position)


def container_instance_json(cluster, position: int, *, running: int, pending: int,
                            version: int = 1, version_extras: dict | None = None,
                            include=()) -> dict:
    """One instance as ECS's ``ContainerInstance`` JSON."""
    state = cluster.state
    p = position
    with_gpu = int(state.gpu_registered[p]) > 0
    tcp_in_use, udp_in_use = ports_in_use(cluster, p)
    entry = {
        "containerInstanceArn": state.arns[p],
        "ec2InstanceId": state.ids[p],
        "version": int(version),
        "versionInfo": {"agentVersion": state.agent_version[p], **(version_extras or {})},
        "remainingResources": resources_json(state.cpu_remaining[p], state.memory_remaining[p],
                                             state.gpu_remaining[p], tcp_in_use, udp_in_use,
                                             with_gpu=with_gpu),
        "registeredResources": resources_json(state.cpu_registered[p], state.memory_registered[p],
                                              state.gpu_registered[p], state.reserved_tcp[p],
                                              state.reserved_udp[p], with_gpu=with_gpu),
        "status": state.status_name(p),
        "agentConnected": bool(state.agent_connected[p]),
        "runningTasksCount": int(running),
        "pendingTasksCount": int(pending),
        "attributes": instance_attributes(state, p),
        "registeredAt": int(state.registered_at[p]) / 1e6,
    }
    if state.capacity_provider[p] is not None:
        entry["capacityProviderName"] = state.capacity_provider[p]
    if "TAGS" in include:
        entry["tags"] = []  # the library keeps no tags
    if "CONTAINER_INSTANCE_HEALTH" in include:
        # Runtime health is not modelled: a connected agent reports OK, a
        # disconnected one leaves ECS without data.
        entry["healthStatus"] = {"overallStatus": "OK" if entry["agentConnected"] else "INSUFFICIENT_DATA"}
    return entry


# -- in ----------------------------------------------------------------------

def parse_resources(entries, field: str = "totalResources") -> dict:
    """RegisterContainerInstance's ``totalResources`` as instance-table values.

    Returns ``cpu_registered``, ``memory_registered``, ``gpu_registered``,
    ``reserved_ports`` and ``reserved_ports_udp`` (the last two None when not
    given, so the table's defaults apply). CPU and MEMORY are required.
    """
    if not isinstance(entries, (list, tuple)):
        raise InvalidParameterError(f"{field} must be a list of resources, found {type(entries).__name__}",
                                    field=field, value=entries)
    found: dict = {}
    for i, entry in enumerate(entries):
        path = f"{field}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidParameterError(f"{path} must be a mapping", field=path, value=entry)
        name = entry.get("name")
        if name not in NUMBER_RESOURCES + PORT_RESOURCES:
            raise InvalidParameterError(f"{path}.name must be one of "
                                        f"{', '.join(NUMBER_RESOURCES + PORT_RESOURCES)}, found {name!r}",
                                        field=f"{path}.name", value=name)
        if name in found:
            raise InvalidParameterError(f"{path}.name: resource {name} is given twice", field=f"{path}.name",
                                        value=name)
        found[name] = _port_set(entry, path) if name in PORT_RESOURCES else _resource_number(entry, path)
    for name in ("CPU", "MEMORY"):
        if name not in found:
            raise InvalidParameterError(f"{field} must include {name}", field=field, value=entries)
    tcp, udp = found.get("PORTS"), found.get("PORTS_UDP")
    given = len(tcp or ()) + len(udp or ())
    if given > MAX_RESERVED_PORTS:
        raise InvalidParameterError(f"{field}: {given} reserved ports; at most {MAX_RESERVED_PORTS} may be "
                                    "given per instance", field=field, value=given)
    return {"cpu_registered": found["CPU"], "memory_registered": found["MEMORY"],
            "gpu_registered": found.get("GPU", 0), "reserved_ports": tcp, "reserved_ports_udp": udp}


def _resource_number(entry: dict, path: str) -> int:
    """CPU / MEMORY / GPU: a whole number >= 0 (GPU may also be a STRINGSET of device ids)."""
    kind = entry.get("type")
    if entry["name"] == "GPU" and (kind == "STRINGSET" or (kind is None and "stringSetValue" in entry)):
        return len(_strings(entry, path))
    if kind is not None and (not isinstance(kind, str) or kind not in _NUMBER_TYPES):
        raise InvalidParameterError(f"{path}.type must be INTEGER, LONG or DOUBLE for {entry['name']}, "
                                    f"found {kind!r}", field=f"{path}.type", value=kind)
    keys = [_NUMBER_TYPES[kind]] if kind else [k for k in _NUMBER_TYPES.values() if k in entry]
    if not keys or keys[0] not in entry:
        raise InvalidParameterError(f"{path} has no value for {entry['name']}", field=path, value=entry)
    key = keys[0]
    value = entry[key]
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 0:
        raise InvalidParameterError(f"{path}.{key} must be a whole number >= 0, found {value!r}",
                                    field=f"{path}.{key}", value=value)
    if value > INT64_MAX:
        raise InvalidParameterError(f"{path}.{key} is {value!r}; at most {INT64_MAX} fits the instance table",
                                    field=f"{path}.{key}", value=value)
    return int(value)


def _strings(entry: dict, path: str) -> list:
    values = entry.get("stringSetValue")
    if not isinstance(values, (list, tuple)):
        raise InvalidParameterError(f"{path}.stringSetValue must be a list, found {values!r}",
                                    field=f"{path}.stringSetValue", value=values)
    return list(values)


def _port_set(entry: dict, path: str) -> list[int]:
    """PORTS / PORTS_UDP: a STRINGSET of port numbers 1..65535."""
    kind = entry.get("type", "STRINGSET")
    if kind != "STRINGSET":
        raise InvalidParameterError(f"{path}.type must be STRINGSET for {entry['name']}, found {kind!r}",
                                    field=f"{path}.type", value=kind)
    ports = []
    for j, text in enumerate(_strings(entry, path)):
        port = _port_number(text)
        if port is None:
            where = f"{path}.stringSetValue[{j}]"
            raise InvalidParameterError(f"{where}: {text!r} is not a port number {MIN_PORT}..{MAX_PORT}",
                                        field=where, value=text)
        ports.append(port)
    return sorted(set(ports))


def _port_number(text) -> int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        port = text
    elif isinstance(text, str) and text.isascii() and text.isdigit():
        port = int(text)
    else:
        return None
    return port if MIN_PORT <= port <= MAX_PORT else None
