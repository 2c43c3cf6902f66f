"""quaymaster: Amazon ECS's scheduling brain, exact and fast."""

from importlib.metadata import PackageNotFoundError, version as _dist_version

try:
    __version__ = _dist_version("quaymaster")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from quaymaster.cluster import Cluster  # noqa: E402
from quaymaster.errors import (  # noqa: E402
    CQLError,
    InvalidInputError,
    InvalidParameterError,
    QuaymasterError,
    SchemaError,
    TaskDefinitionError,
)

__all__ = [
    "__version__",
    "Cluster",
    "CQLError",
    "InvalidInputError",
    "InvalidParameterError",
    "QuaymasterError",
    "SchemaError",
    "TaskDefinitionError",
]
