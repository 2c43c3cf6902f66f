"""The types of every known task definition field, after botocore's ECS model.

Transcribed from botocore's ``data/ecs/2014-11-13/service-2.json``
(``RegisterTaskDefinitionRequest``, ``TaskDefinition`` and the shapes they
use), so quaymaster checks JSON the way boto3 would, without depending on
botocore at run time. Only types, enums, required members and the few
length limits the model states are here; ECS's semantic rules live in
``validate.py`` and ``ports.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Shape:
    """One botocore shape: ``kind`` is string, integer, boolean, timestamp,
    enum, size, list, map or structure."""

    kind: str
    name: str = ""
    member: "Shape | None" = None  # list member, or map value
    members: Mapping[str, "Shape"] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    min_len: int = 0
    max_len: int | None = None


STRING = Shape("string")
INTEGER = Shape("integer")  # botocore Integer / BoxedInteger: a 32-bit signed int
BOOLEAN = Shape("boolean")
TIMESTAMP = Shape("timestamp")  # datetime, ISO 8601 text or epoch seconds
# Task-level cpu and memory: botocore says String; the spec also allows a JSON integer.
SIZE = Shape("size")


def string(*, min_len: int = 0, max_len: int | None = None) -> Shape:
    return Shape("string", min_len=min_len, max_len=max_len)


def enum(*values: str) -> Shape:
    return Shape("enum", values=values)


def list_of(member: Shape, *, max_len: int | None = None) -> Shape:
    return Shape("list", member=member, max_len=max_len)


def map_of(value: Shape) -> Shape:
    return Shape("map", member=value)


def struct(name: str, members: Mapping[str, Shape], required: tuple[str, ...] = ()) -> Shape:
    return Shape("structure", name=name, members=dict(members), required=required)


NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
COMPATIBILITIES = ("EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES")
TASK_DEFINITION_STATUSES = ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS")

_RepositoryCredentials = struct("RepositoryCredentials", {
    "credentialsParameter": STRING,
}, required=('credentialsParameter',))
_PortMapping = struct("PortMapping", {
    "containerPort": INTEGER,
    "hostPort": INTEGER,
    "protocol": enum('tcp', 'udp'),
    "name": STRING,
    "appProtocol": enum('http', 'http2', 'grpc'),
    "containerPortRange": STRING,
})
_ContainerRestartPolicy = struct("ContainerRestartPolicy", {
    "enabled": BOOLEAN,
    "ignoredExitCodes": list_of(INTEGER),
    "restartAttemptPeriod": INTEGER,
}, required=('enabled',))
_KeyValuePair = struct("KeyValuePair", {
    "name": STRING,
    "value": STRING,
})
_EnvironmentFile = struct("EnvironmentFile", {
    "value": STRING,
    "type": enum('s3'),
}, required=('value', 'type'))
_MountPoint = struct("MountPoint", {
    "sourceVolume": STRING,
    "containerPath": STRING,
    "readOnly": BOOLEAN,
})
_VolumeFrom = struct("VolumeFrom", {
    "sourceContainer": STRING,
    "readOnly": BOOLEAN,
})
_KernelCapabilities = struct("KernelCapabilities", {
    "add": list_of(STRING),
    "drop": list_of(STRING),
})
_Device = struct("Device", {
    "hostPath": STRING,
    "containerPath": STRING,
    "permissions": list_of(enum('read', 'write', 'mknod')),
}, required=('hostPath',))
_Tmpfs = struct("Tmpfs", {
    "containerPath": STRING,
    "size": INTEGER,
    "mountOptions": list_of(STRING),
}, required=('containerPath', 'size'))
_LinuxParameters = struct("LinuxParameters", {
    "capabilities": _KernelCapabilities,
    "devices": list_of(_Device),
    "initProcessEnabled": BOOLEAN,
    "sharedMemorySize": INTEGER,
    "tmpfs": list_of(_Tmpfs),
    "maxSwap": INTEGER,
    "swappiness": INTEGER,
})
_Secret = struct("Secret", {
    "name": STRING,
    "valueFrom": STRING,
}, required=('name', 'valueFrom'))
_ContainerDependency = struct("ContainerDependency", {
    "containerName": STRING,
    "condition": enum('START', 'COMPLETE', 'SUCCESS', 'HEALTHY'),
}, required=('containerName', 'condition'))
_HostEntry = struct("HostEntry", {
    "hostname": STRING,
    "ipAddress": STRING,
}, required=('hostname', 'ipAddress'))
_Ulimit = struct("Ulimit", {
    "name": enum('core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
                 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'),
    "softLimit": INTEGER,
    "hardLimit": INTEGER,
}, required=('name', 'softLimit', 'hardLimit'))
_LogConfiguration = struct("LogConfiguration", {
    "logDriver": enum('json-file', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk',
                      'awsfirelens'),
    "options": map_of(STRING),
    "secretOptions": list_of(_Secret),
}, required=('logDriver',))
_HealthCheck = struct("HealthCheck", {
    "command": list_of(STRING),
    "interval": INTEGER,
    "timeout": INTEGER,
    "retries": INTEGER,
    "startPeriod": INTEGER,
}, required=('command',))
_SystemControl = struct("SystemControl", {
    "namespace": STRING,
    "value": STRING,
})
_ResourceRequirement = struct("ResourceRequirement", {
    "value": STRING,
    "type": enum('GPU', 'InferenceAccelerator'),
}, required=('value', 'type'))
_FirelensConfiguration = struct("FirelensConfiguration", {
    "type": enum('fluentd', 'fluentbit'),
    "options": map_of(STRING),
}, required=('type',))
_ContainerDefinition = struct("ContainerDefinition", {
    "name": STRING,
    "image": STRING,
    "repositoryCredentials": _RepositoryCredentials,
    "cpu": INTEGER,
    "memory": INTEGER,
    "memoryReservation": INTEGER,
    "links": list_of(STRING),
    "portMappings": list_of(_PortMapping),
    "essential": BOOLEAN,
    "restartPolicy": _ContainerRestartPolicy,
    "entryPoint": list_of(STRING),
    "command": list_of(STRING),
    "environment": list_of(_KeyValuePair),
    "environmentFiles": list_of(_EnvironmentFile),
    "mountPoints": list_of(_MountPoint),
    "volumesFrom": list_of(_VolumeFrom),
    "linuxParameters": _LinuxParameters,
    "secrets": list_of(_Secret),
    "dependsOn": list_of(_ContainerDependency),
    "startTimeout": INTEGER,
    "stopTimeout": INTEGER,
    "versionConsistency": enum('enabled', 'disabled'),
    "hostname": STRING,
    "user": STRING,
    "workingDirectory": STRING,
    "disableNetworking": BOOLEAN,
    "privileged": BOOLEAN,
    "readonlyRootFilesystem": BOOLEAN,
    "dnsServers": list_of(STRING),
    "dnsSearchDomains": list_of(STRING),
    "extraHosts": list_of(_HostEntry),
    "dockerSecurityOptions": list_of(STRING),
    "interactive": BOOLEAN,
    "pseudoTerminal": BOOLEAN,
    "dockerLabels": map_of(STRING),
    "ulimits": list_of(_Ulimit),
    "logConfiguration": _LogConfiguration,
    "healthCheck": _HealthCheck,
    "systemControls": list_of(_SystemControl),
    "resourceRequirements": list_of(_ResourceRequirement),
    "firelensConfiguration": _FirelensConfiguration,
    "credentialSpecs": list_of(STRING),
})
_HostVolumeProperties = struct("HostVolumeProperties", {
    "sourcePath": STRING,
})
_DockerVolumeConfiguration = struct("DockerVolumeConfiguration", {
    "scope": enum('task', 'shared'),
    "autoprovision": BOOLEAN,
    "driver": STRING,
    "driverOpts": map_of(STRING),
    "labels": map_of(STRING),
})
_EFSAuthorizationConfig = struct("EFSAuthorizationConfig", {
    "accessPointId": STRING,
    "iam": enum('ENABLED', 'DISABLED'),
})
_EFSVolumeConfiguration = struct("EFSVolumeConfiguration", {
    "fileSystemId": STRING,
    "rootDirectory": STRING,
    "transitEncryption": enum('ENABLED', 'DISABLED'),
    "transitEncryptionPort": INTEGER,
    "authorizationConfig": _EFSAuthorizationConfig,
}, required=('fileSystemId',))
_S3FilesVolumeConfiguration = struct("S3FilesVolumeConfiguration", {
    "fileSystemArn": STRING,
    "rootDirectory": STRING,
    "transitEncryptionPort": INTEGER,
    "accessPointArn": STRING,
}, required=('fileSystemArn',))
_FSxWindowsFileServerAuthorizationConfig = struct("FSxWindowsFileServerAuthorizationConfig", {
    "credentialsParameter": STRING,
    "domain": STRING,
}, required=('credentialsParameter', 'domain'))
_FSxWindowsFileServerVolumeConfiguration = struct("FSxWindowsFileServerVolumeConfiguration", {
    "fileSystemId": STRING,
    "rootDirectory": STRING,
    "authorizationConfig": _FSxWindowsFileServerAuthorizationConfig,
}, required=('fileSystemId', 'rootDirectory', 'authorizationConfig'))
_Volume = struct("Volume", {
    "name": STRING,
    "host": _HostVolumeProperties,
    "dockerVolumeConfiguration": _DockerVolumeConfiguration,
    "efsVolumeConfiguration": _EFSVolumeConfiguration,
    "s3filesVolumeConfiguration": _S3FilesVolumeConfiguration,
    "fsxWindowsFileServerVolumeConfiguration": _FSxWindowsFileServerVolumeConfiguration,
    "configuredAtLaunch": BOOLEAN,
})
_TaskDefinitionPlacementConstraint = struct("TaskDefinitionPlacementConstraint", {
    "type": enum('memberOf'),
    "expression": STRING,
})
_Tag = struct("Tag", {
    "key": string(min_len=1, max_len=128),
    "value": string(min_len=0, max_len=256),
})
_ProxyConfiguration = struct("ProxyConfiguration", {
    "type": enum('APPMESH'),
    "containerName": STRING,
    "properties": list_of(_KeyValuePair),
}, required=('containerName',))
_InferenceAccelerator = struct("InferenceAccelerator", {
    "deviceName": STRING,
    "deviceType": STRING,
}, required=('deviceName', 'deviceType'))
_EphemeralStorage = struct("EphemeralStorage", {
    "sizeInGiB": INTEGER,
}, required=('sizeInGiB',))
_RuntimePlatform = struct("RuntimePlatform", {
    "cpuArchitecture": enum('X86_64', 'ARM64'),
    "operatingSystemFamily": enum(
        'WINDOWS_SERVER_2019_FULL', 'WINDOWS_SERVER_2019_CORE', 'WINDOWS_SERVER_2016_FULL',
        'WINDOWS_SERVER_2004_CORE', 'WINDOWS_SERVER_2022_CORE', 'WINDOWS_SERVER_2022_FULL',
        'WINDOWS_SERVER_2025_CORE', 'WINDOWS_SERVER_2025_FULL', 'WINDOWS_SERVER_20H2_CORE',
        'LINUX'),
})
_Attribute = struct("Attribute", {
    "name": STRING,
    "value": STRING,
    "targetType": enum('container-instance'),
    "targetId": STRING,
}, required=('name',))

_COMPATIBILITY_LIST = list_of(enum(*COMPATIBILITIES))

#: Fields a RegisterTaskDefinition request carries (``tags`` included).
REQUEST_MEMBERS: dict[str, Shape] = {
    "family": STRING,
    "taskRoleArn": STRING,
    "executionRoleArn": STRING,
    "networkMode": enum(*NETWORK_MODES),
    "containerDefinitions": list_of(_ContainerDefinition),
    "volumes": list_of(_Volume),
    "placementConstraints": list_of(_TaskDefinitionPlacementConstraint),
    "requiresCompatibilities": _COMPATIBILITY_LIST,
    "cpu": SIZE,
    "memory": SIZE,
    "tags": list_of(_Tag, max_len=50),
    "pidMode": enum("host", "task"),
    "ipcMode": enum("host", "task", "none"),
    "proxyConfiguration": _ProxyConfiguration,
    "inferenceAccelerators": list_of(_InferenceAccelerator),
    "ephemeralStorage": _EphemeralStorage,
    "runtimePlatform": _RuntimePlatform,
    "enableFaultInjection": BOOLEAN,
    # Not in the request model, but in DescribeTaskDefinition output and an
    # input of placement (spec section 2), so it is part of a definition here.
    "requiresAttributes": list_of(_Attribute),
}

#: Fields only DescribeTaskDefinition returns: ECS sets them at registration.
DESCRIBE_ONLY_MEMBERS: dict[str, Shape] = {
    "taskDefinitionArn": STRING,
    "revision": INTEGER,
    "status": enum(*TASK_DEFINITION_STATUSES),
    "compatibilities": _COMPATIBILITY_LIST,
    "registeredAt": TIMESTAMP,
    "deregisteredAt": TIMESTAMP,
    "deleteRequestedAt": TIMESTAMP,
    "registeredBy": STRING,
}

#: A task definition as quaymaster reads it: a request, or a described definition.
TASK_DEFINITION = struct("TaskDefinition", {**REQUEST_MEMBERS, **DESCRIBE_ONLY_MEMBERS},
                         required=("family", "containerDefinitions"))
