"""Shared pieces of the /v2/ app: OCI error responses, request context, authorization."""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable

from starlette.responses import JSONResponse

from quaymaster.ecr.names import repository_arn

# OCI distribution spec error codes and their HTTP statuses.
STATUS = {"BLOB_UNKNOWN": 404, "BLOB_UPLOAD_INVALID": 400, "BLOB_UPLOAD_UNKNOWN": 404,
          "DIGEST_INVALID": 400, "MANIFEST_BLOB_UNKNOWN": 400, "MANIFEST_INVALID": 400,
          "MANIFEST_UNKNOWN": 404, "NAME_INVALID": 400, "NAME_UNKNOWN": 404, "SIZE_INVALID": 400,
          "UNAUTHORIZED": 401, "DENIED": 403, "UNSUPPORTED": 405, "TOOMANYREQUESTS": 429,
          "TAG_INVALID": 400, "RANGE_INVALID": 416}

Authorize = Callable[[str, str, str], bool]
# writer(registry, writes) applies registry writes (quaymaster.ecr.writes) and answers their results.
Writer = Callable[[Any, list], Awaitable[list]]


async def apply_directly(registry, writes: list) -> list:
    """The writer of a registry nobody journals: apply under its lock, on the event loop."""
    return registry.apply_writes(writes)


class RegistryError(Exception):
    def __init__(self, code: str, message: str, detail=None, headers=None, status=None):
        super().__init__(message)
        self.code, self.message, self.detail = code, message, detail
        self.headers = headers or {}
        self.status = status or STATUS[code]

    def response(self) -> JSONResponse:
        body = {"errors": [{"code": self.code, "message": self.message,
                            "detail": self.detail if self.detail is not None else {}}]}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


# ECR's ServiceError codes as the registry protocol reports them.
SERVICE_TO_OCI = {"RepositoryNotFoundException": "NAME_UNKNOWN",
                  "ImageNotFoundException": "MANIFEST_UNKNOWN",
                  "LayersNotFoundException": "MANIFEST_BLOB_UNKNOWN",
                  "ReferencedImagesNotFoundException": "MANIFEST_BLOB_UNKNOWN",
                  "ImageTagAlreadyExistsException": "TAG_INVALID",
                  "InvalidParameterException": "MANIFEST_INVALID",
                  "UnableToGetUpstreamImageException": "MANIFEST_UNKNOWN"}


@dataclasses.dataclass
class Context:
    """One request's registry, principal, the authorization callback and the writer."""
    registry: Any   # an ECRRegistry (not imported: it imports nothing of the app)
    principal: str
    authorize: Authorize
    writer: Writer = apply_directly
    challenge: "RegistryError | None" = None   # set for an anonymous principal: its refusals ask to log in

    async def write(self, *writes: tuple[str, dict]) -> list:
        """Apply registry writes in order (journaled when the writer journals); their results."""
        return await self.writer(self.registry, list(writes))

    def arn(self, name: str) -> str:
        return repository_arn(self.registry.region, self.registry.account, name)

    def require(self, action: str, name: str) -> None:
        """DENIED unless the callback allows ``action`` on repository ``name``."""
        arn = self.arn(name)
        if not self.authorize(self.principal, action, arn):
            if self.challenge is not None:
                raise self.challenge
            raise RegistryError("DENIED", f"User: {self.principal} is not authorized to perform: "
                                          f"{action} on resource: {arn}")

    def repository(self, name: str):
        repo = self.registry.repositories.get(name)
        if repo is None:
            raise RegistryError("NAME_UNKNOWN", f"The repository with name '{name}' does not exist "
                                                f"in the registry with id '{self.registry.account}'",
                                detail={"name": name})
        return repo
