"""Task definitions are regional: one registry shared by every cluster of the region."""

from __future__ import annotations

from quaymaster.errors import ServiceError
from quaymaster.region.errors import api_errors
from quaymaster.region.paging import page


def _timestamps(document: dict) -> dict:
    import datetime as _dt

    for key in ("registeredAt", "deregisteredAt", "deleteRequestedAt"):
        value = document.get(key)
        if isinstance(value, str):
            document[key] = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return document


class TaskDefinitionOps:
    def task_definition(self, ref: str):
        """The TaskDefinition ``ref`` names (``family``, ``family:revision`` or an ARN)."""
        with api_errors("ClientException"):
            try:
                return self.task_definitions.describe(ref)
            except ServiceError:
                raise
            except KeyError:
                raise ServiceError("ClientException", "Unable to describe task definition.") from None

    def register_task_definition(self, request: dict) -> dict:
        tags = request.get("tags", [])
        self._check_tags(tags)
        with api_errors("ClientException"):
            registered = self.task_definitions.register(request)
        return {"taskDefinition": _timestamps(registered.describe_json()), "tags": list(tags)}

    def deregister_task_definition(self, request: dict) -> dict:
        with api_errors("ClientException"):
            definition = self.task_definitions.deregister(request["taskDefinition"])
        return {"taskDefinition": _timestamps(definition.describe_json())}

    def delete_task_definitions(self, request: dict) -> dict:
        definitions, failures = [], []
        deleted = self.__dict__.setdefault("_deleted_task_definitions", set())
        for ref in request["taskDefinitions"]:
            try:
                definition = self.task_definition(ref)
            except ServiceError:
                failures.append({"arn": ref, "reason": "The specified task definition does not exist."})
                continue
            if definition.status != "INACTIVE":
                failures.append({"arn": definition.arn,
                                 "reason": "The specified task definition is still in ACTIVE status."})
                continue
            deleted.add(definition.arn)
            document = _timestamps(definition.describe_json())
            document["status"] = "DELETE_IN_PROGRESS"
            definitions.append(document)
        return {"taskDefinitions": definitions, "failures": failures}

    def describe_task_definition(self, request: dict) -> dict:
        with api_errors("ClientException"):
            out = self.task_definitions.describe_task_definition(request["taskDefinition"],
                                                                 request.get("include"))
        _timestamps(out["taskDefinition"])
        if out["taskDefinition"].get("taskDefinitionArn") in self.__dict__.get("_deleted_task_definitions", ()):
            out["taskDefinition"]["status"] = "DELETE_IN_PROGRESS"
        return out

    def list_task_definitions(self, request: dict) -> dict:
        with api_errors("InvalidParameterException"):
            arns = self.task_definitions.list_task_definitions(request.get("familyPrefix"),
                                                               request.get("status", "ACTIVE"),
                                                               request.get("sort", "ASC"))
        return page(arns, request, "taskDefinitionArns")

    def list_task_definition_families(self, request: dict) -> dict:
        with api_errors("InvalidParameterException"):
            families = self.task_definitions.list_families(request.get("familyPrefix"),
                                                           request.get("status", "ALL"))
        return page(families, request, "families")
