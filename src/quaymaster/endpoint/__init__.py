"""The ECS-compatible HTTP endpoint (``quaymaster serve``): JSON 1.1 and query
protocols from botocore's models, SigV4, IAM, a durable journal, clock routes.

``create_app(Config(...), factory)`` builds the ASGI app; ``factory(region_name)``
returns a region (see ``quaymaster.endpoint.host`` for the contract).
"""

from .app import MAX_BODY, Config, create_app

__all__ = ["MAX_BODY", "Config", "create_app"]
