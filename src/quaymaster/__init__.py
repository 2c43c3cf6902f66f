"""quaymaster: Amazon ECS's scheduling brain, exact and fast.

What a scheduler importing the library needs is exported here::

    import quaymaster as qm

    cluster = qm.Cluster.from_parquet("fleet.parquet")
    result: qm.PlacementResult = cluster.run_task(qm.TaskDefinition.from_json(body), count=10)
    try:
        cluster.stop_task("no-such-task")
    except qm.NotFoundError:
        ...

``import quaymaster`` itself stays cheap: the errors are imported with the
package, everything else (numpy, pyarrow, the native core) on first access of
its name (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from quaymaster.errors import (
    AttributeLimitExceededError,
    ClientError,
    CQLError,
    InvalidInputError,
    InvalidParameterError,
    NativeError,
    NotFoundError,
    QuaymasterError,
    SchemaError,
    ServiceError,
    SnapshotError,
    TaskDefinitionError,
)

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from quaymaster import cql
    from quaymaster.cluster import Cluster
    from quaymaster.fleet import generate_fleet
    from quaymaster.placement.result import Failures, PlacementResult
    from quaymaster.taskdef import (
        TaskDefinition,
        TaskDefinitionRegistry,
        TaskRequirements,
        parse_task_definition,
    )

    __version__: str

#: name -> module that defines it, imported on first access.
_LAZY = {
    "Cluster": "quaymaster.cluster",
    "PlacementResult": "quaymaster.placement.result",
    "Failures": "quaymaster.placement.result",
    "TaskDefinition": "quaymaster.taskdef",
    "TaskDefinitionRegistry": "quaymaster.taskdef",
    "TaskRequirements": "quaymaster.taskdef",
    "parse_task_definition": "quaymaster.taskdef",
    "generate_fleet": "quaymaster.fleet",
}
_LAZY_MODULES = ("cql",)

__all__ = [
    "__version__",
    # the cluster and what its operations take and return
    "Cluster",
    "Failures",
    "PlacementResult",
    "TaskDefinition",
    "TaskDefinitionRegistry",
    "TaskRequirements",
    "cql",
    "generate_fleet",
    "parse_task_definition",
    # errors
    "AttributeLimitExceededError",
    "CQLError",
    "ClientError",
    "InvalidInputError",
    "InvalidParameterError",
    "NativeError",
    "NotFoundError",
    "QuaymasterError",
    "SchemaError",
    "ServiceError",
    "SnapshotError",
    "TaskDefinitionError",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quaymaster")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"quaymaster.{name}")
    else:
        raise AttributeError(f"module 'quaymaster' has no attribute {name!r}")
    globals()[name] = value  # later accesses are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
