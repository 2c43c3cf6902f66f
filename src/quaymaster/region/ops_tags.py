"""TagResource, UntagResource, ListTagsForResource for clusters, services, tasks, task definitions."""

from __future__ import annotations

import re

from quaymaster.errors import ServiceError
from quaymaster.region.errors import invalid

TAGS_PER_RESOURCE = 50
_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[^:]*:[^:]*:(?P<kind>[a-z-]+)/(?P<rest>.+)$")


class TagOps:
    def _check_tags(self, tags: list) -> None:
        if len(tags) > TAGS_PER_RESOURCE:
            raise invalid(f"Too many tags: at most {TAGS_PER_RESOURCE} per resource.")
        keys = [t.get("key") for t in tags]
        if len(set(keys)) != len(keys):
            raise invalid("Tag keys must be unique.")
        for tag in tags:
            if not 1 <= len(tag.get("key", "")) <= 128 or len(tag.get("value", "")) > 256:
                raise invalid("A tag key is 1 to 128 characters and its value at most 256.")

    def _tag_owner(self, arn: str):
        """The object whose ``tags`` list an ARN names."""
        match = _ARN.match(arn)
        if not match:
            raise invalid(f"The ARN {arn} is not a valid ECS resource ARN.")
        kind, rest = match.group("kind"), match.group("rest")
        parts = rest.split("/")
        try:
            if kind == "cluster":
                return self.record(parts[0], create_default=False)
            if kind == "service" and len(parts) == 2:
                return self.find_service(self.record(parts[0], create_default=False), parts[1], active=False)
            if kind == "task" and len(parts) == 2:
                return self._task(self.record(parts[0], create_default=False), arn)
            if kind == "task-definition":
                self.task_definition(arn)
                return self.resource_tags.setdefault(arn, [])
        except ServiceError:
            pass
        raise ServiceError("ResourceNotFoundException", "The specified resource could not be found.")

    def _tags_of(self, owner) -> list:
        return owner if isinstance(owner, list) else owner.tags

    def tag_resource(self, request: dict) -> dict:
        tags = self._tags_of(self._tag_owner(request["resourceArn"]))
        merged = {t["key"]: t for t in tags}
        for tag in request["tags"]:
            merged[tag["key"]] = dict(tag)
        self._check_tags(list(merged.values()))
        tags[:] = list(merged.values())
        return {}

    def untag_resource(self, request: dict) -> dict:
        tags = self._tags_of(self._tag_owner(request["resourceArn"]))
        drop = set(request["tagKeys"])
        tags[:] = [t for t in tags if t["key"] not in drop]
        return {}

    def list_tags_for_resource(self, request: dict) -> dict:
        return {"tags": list(self._tags_of(self._tag_owner(request["resourceArn"])))}
