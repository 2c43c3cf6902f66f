"""The canonical Arrow schemas of the cluster state (the columns docs/semantics.md lists).

This module owns the column names, types and defaults; ``coerce.py`` turns
whatever a user hands in into tables of exactly these schemas.
"""

from __future__ import annotations

import re

import pyarrow as pa

ATTRIBUTE_PREFIX = "attribute:"

#: Instance status values and the small integer codes the kernels use.
INSTANCE_STATUSES = ("ACTIVE", "DRAINING", "INACTIVE", "REGISTERING", "DEREGISTERING",
                     "REGISTRATION_FAILED")
STATUS_CODE = {name: code for code, name in enumerate(INSTANCE_STATUSES)}
ACTIVE, DRAINING, INACTIVE = STATUS_CODE["ACTIVE"], STATUS_CODE["DRAINING"], STATUS_CODE["INACTIVE"]

#: Ports the ECS agent reserves on every instance unless told otherwise.
DEFAULT_RESERVED_PORTS = (22, 2375, 2376, 51678, 51679)
DEFAULT_AGENT_VERSION = "1.0.0"

#: The largest value of the int64 resource columns (and of what a task may ask for).
INT64_MAX = 2**63 - 1
TIMESTAMP = pa.timestamp("us", tz="UTC")
PORT_LIST = pa.list_(pa.int32())
#: A host or container port is 1..65535 (0 is not a port: in a hostPort it asks for a dynamic one).
MIN_PORT, MAX_PORT = 1, 65535

#: Built-in attributes ECS sets on every container instance.
BUILTIN_ATTRIBUTES = (
    "ecs.availability-zone", "ecs.instance-type", "ecs.os-type", "ecs.os-family",
    "ecs.cpu-architecture", "ecs.ami-id", "ecs.vpc-id", "ecs.subnet-id",
)

# name, type, required. Attribute columns (string) come after these.
INSTANCE_FIELDS = (
    ("ec2_instance_id", pa.string(), True),
    ("container_instance_arn", pa.string(), False),
    ("status", pa.string(), False),
    ("agent_connected", pa.bool_(), False),
    ("agent_version", pa.string(), False),
    ("registered_at", TIMESTAMP, False),
    ("cpu_registered", pa.int64(), True),
    ("memory_registered", pa.int64(), True),
    ("gpu_registered", pa.int64(), False),
    ("eni_limit", pa.int64(), False),
    ("cpu_remaining", pa.int64(), False),
    ("memory_remaining", pa.int64(), False),
    ("gpu_remaining", pa.int64(), False),
    ("reserved_ports", PORT_LIST, False),
    ("reserved_ports_udp", PORT_LIST, False),
    ("capacity_provider", pa.string(), False),
)

# The tasks table. `eni` is quaymaster's addition (ENIs the task holds, 1 for
# awsvpc); absent means 0, which is what the spec's table implies.
TASK_FIELDS = (
    ("task_arn", pa.string(), True),
    ("ec2_instance_id", pa.string(), False),
    ("group", pa.string(), True),
    ("cpu", pa.int64(), False),
    ("memory", pa.int64(), False),
    ("gpu", pa.int64(), False),
    ("host_ports", PORT_LIST, False),
    ("host_ports_udp", PORT_LIST, False),
    ("last_status", pa.string(), False),
    ("daemon", pa.bool_(), False),
    ("eni", pa.int64(), False),
)

TASK_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
                 "STOPPING", "DEPROVISIONING")
DEFAULT_TASK_STATUS = "RUNNING"


def instance_schema(attribute_names=()) -> pa.Schema:
    """The instance schema with one string column per attribute name (without prefix)."""
    fields = [pa.field(name, typ, nullable=not required) for name, typ, required in INSTANCE_FIELDS]
    fields += [pa.field(ATTRIBUTE_PREFIX + name, pa.string()) for name in attribute_names]
    return pa.schema(fields)


def instance_rows_table(rows: list[dict]) -> pa.Table:
    """Instance rows (all with the same fields given) as a table in the instance schema's types;
    fields the first row leaves None are left out (coerce fills them)."""
    attributes = sorted(name[len(ATTRIBUTE_PREFIX):] for name in rows[0] if name.startswith(ATTRIBUTE_PREFIX))
    schema = instance_schema(attributes)
    return pa.table({name: pa.array([row[name] for row in rows], schema.field(name).type)
                     for name, value in rows[0].items() if value is not None})


def task_schema() -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=not required)
                      for name, typ, required in TASK_FIELDS])


#: The region and account parts of an ARN (full match; ASCII digits only, as AWS writes them):
#: ``us-east-1``, ``us-gov-west-1``, ``000000000000``.
REGION_RE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-[0-9]+")
ACCOUNT_RE = re.compile(r"[0-9]{12}")


def instance_arn(region: str, account: str, cluster: str, ec2_instance_id: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:container-instance/{cluster}/{ec2_instance_id}"
