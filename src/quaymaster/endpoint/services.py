"""The services the endpoint speaks, read from botocore's service models.

Only the list of botocore service names is ours; the JSON target prefix, the
SigV4 signing name, the protocol, the API version and the XML namespace all
come from each model's metadata, so nothing about a service is copied by hand.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import botocore.session
from botocore.model import OperationModel, ServiceModel

# botocore names of the services served (docs/endpoint.md's table, section 2).
SERVED = ("ecs", "ecr", "application-autoscaling", "autoscaling")


@dataclass(frozen=True)
class Service:
    name: str                 # botocore's service name, what Region.handle takes
    model: ServiceModel
    protocol: str             # "json" or "query"
    target_prefix: str | None
    signing_name: str

    def operation(self, name: str) -> OperationModel | None:
        if name not in self.model.operation_names:
            return None
        return self.model.operation_model(name)

    def has_error(self, code: str) -> bool:
        return any(shape.name == code for shape in self.model.error_shapes)


@functools.cache
def services() -> dict[str, Service]:
    session = botocore.session.get_session()
    table = {}
    for name in SERVED:
        model = session.get_service_model(name)
        table[name] = Service(name=name, model=model, protocol=model.protocol,
                              target_prefix=model.metadata.get("targetPrefix"),
                              signing_name=model.signing_name)
    return table


def by_signing_name(signing_name: str) -> Service | None:
    return next((s for s in services().values() if s.signing_name == signing_name), None)


def by_target_prefix(prefix: str) -> Service | None:
    return next((s for s in services().values() if s.target_prefix == prefix), None)


def query_service() -> Service:
    """The one query-protocol service, named by ``Action`` when a request is unsigned."""
    return next(s for s in services().values() if s.protocol == "query")
