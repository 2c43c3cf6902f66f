"""ECR: a private registry per account and region, usable from Python and over /v2/.

- ``ECRRegistry``: ECR's API operations (botocore's ``ecr`` model shapes).
- ``BlobStore``: the content-addressed, deduplicated layer store.
- ``registry_app``: the OCI distribution API under ``/v2/`` as an ASGI app.
- ``evaluate_lifecycle_policy``: which images a lifecycle policy expires.
"""

from __future__ import annotations

from quaymaster.ecr.api_model import SettableClock
from quaymaster.ecr.blobs import BlobStore
from quaymaster.ecr.lifecycle import LifecyclePolicyError, evaluate_lifecycle_policy, parse_policy
from quaymaster.ecr.registry import ECRRegistry


def registry_app(registry, authorize, **options):
    """The ``/v2/`` ASGI app for ``registry`` (see ``quaymaster.ecr.registry_app``)."""
    from quaymaster.ecr.registry_app import registry_app as _app
    return _app(registry, authorize, **options)


__all__ = ["BlobStore", "ECRRegistry", "LifecyclePolicyError", "SettableClock",
           "evaluate_lifecycle_policy", "parse_policy", "registry_app"]
