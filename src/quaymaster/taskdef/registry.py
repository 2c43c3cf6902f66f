"""An in-memory ECS task definition registry: revisions, ARNs, ACTIVE/INACTIVE.

As ECS does:

- revisions count from 1 per family; a deregistered revision keeps its number,
  the next registration gets the highest number plus one;
- the ARN is ``arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>``;
- a reference is ``family`` (the latest ACTIVE revision), ``family:revision``
  or an ARN; an explicit revision finds an INACTIVE one too;
- deregistering needs an explicit revision and makes it INACTIVE;
- ``list_task_definitions``' ``family_prefix`` is a *full* family name (ECS
  documents it so), while ``list_families``' is a real prefix;
- an invalid definition is refused before anything changes.

Registered definitions are immutable; deregistering stores a new INACTIVE
copy, so a definition handed out earlier still reads ACTIVE.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from typing import Callable

from quaymaster.errors import ClientError, InvalidParameterError, NotFoundError
from quaymaster.model.schema import ACCOUNT_RE, REGION_RE
from quaymaster.taskdef.model import TaskDefinition
from quaymaster.taskdef.parse import shown
from quaymaster.taskdef.shapes import TASK_DEFINITION_STATUSES

NOT_FOUND_MESSAGE = "Unable to describe task definition."
#: Revisions count up from 1 per family, so one of more digits than this was never registered.
_MAX_REVISION_DIGITS = 18
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):ecs:(?P<region>[^:]*):(?P<account>[^:]*):"
                  r"task-definition/(?P<family>[^:/]+)(?::(?P<revision>[^:]*))?$")
_FAMILY_STATUSES = ("ACTIVE", "INACTIVE", "ALL")
_SORT_ORDERS = ("ASC", "DESC")


def utc_now() -> _dt.datetime:
    """The default clock: the current time in UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


class TaskDefinitionRegistry:
    """Task definitions of one account in one region (ECS's task definition API)."""

    def __init__(self, region: str = "us-east-1", account: str = "000000000000", *,
                 clock: Callable[[], _dt.datetime] = utc_now):
        if not isinstance(region, str) or not REGION_RE.fullmatch(region):
            raise InvalidParameterError(f"region {region!r} is not an AWS region name such as "
                                        "us-east-1", field="region", value=region)
        if not isinstance(account, str) or not ACCOUNT_RE.fullmatch(account):
            raise InvalidParameterError(f"account {account!r} must be 12 digits",
                                        field="account", value=account)
        if not callable(clock):
            raise InvalidParameterError(f"clock must be a function returning a datetime, got {clock!r}",
                                        field="clock", value=clock)
        self.region = region
        self.account = account
        self._clock = clock
        self._revisions: dict[str, list[TaskDefinition]] = {}  # family -> revisions 1..n
        self._lock = threading.Lock()

    def arn(self, family: str, revision: int) -> str:
        """The ARN of ``family:revision`` in this registry's region and account."""
        return f"arn:aws:ecs:{self.region}:{self.account}:task-definition/{family}:{revision}"

    def register(self, definition: object) -> TaskDefinition:
        """Validate and register a definition (anything ``TaskDefinition.from_json`` takes).

        Returns the registered revision: ACTIVE, with its ARN, ``revision``,
        ``registeredAt`` and ``registeredBy``, and task cpu/memory written as
        integer strings as ECS stores them. Raises ``TaskDefinitionError`` and
        registers nothing when the definition is invalid.
        """
        parsed = TaskDefinition.from_json(definition)
        with self._lock:
            revisions = self._revisions.setdefault(parsed.family, [])
            revision = len(revisions) + 1
            registered = parsed._with_metadata(
                taskDefinitionArn=self.arn(parsed.family, revision), revision=revision,
                status="ACTIVE", registeredAt=self._clock(),
                registeredBy=f"arn:aws:iam::{self.account}:root",
                deregisteredAt=None, deleteRequestedAt=None, compatibilities=None,
                cpu=None if parsed.task_cpu is None else str(parsed.task_cpu),
                memory=None if parsed.task_memory is None else str(parsed.task_memory))
            revisions.append(registered)
        return registered

    def describe(self, ref: str) -> TaskDefinition:
        """The definition ``ref`` names: ``family``, ``family:revision`` or an ARN."""
        with self._lock:
            return self._find(ref)

    def describe_task_definition(self, taskDefinition: str,  # noqa: N803 (ECS's name)
                                 include: list[str] | None = None) -> dict:
        """ECS's DescribeTaskDefinition response: ``{"taskDefinition": {...}}``.

        With ``include=["TAGS"]`` the response also carries the definition's ``tags``.
        """
        definition = self.describe(taskDefinition)
        response = {"taskDefinition": definition.describe_json()}
        if include is not None and not isinstance(include, (list, tuple)):
            raise InvalidParameterError(f"include must be a list, got {include!r}", field="include",
                                        value=include)
        for value in include or ():
            if value != "TAGS":
                raise InvalidParameterError(f"include holds {value!r}; only TAGS is allowed",
                                            field="include", value=value)
            response["tags"] = definition.tags
        return response

    def deregister(self, ref: str) -> TaskDefinition:
        """Make ``family:revision`` (or an ARN) INACTIVE and return it.

        A bare family is refused, as ECS requires the revision; deregistering an
        INACTIVE revision returns it unchanged.
        """
        family, revision = self._split(ref)
        if revision is None:
            raise ClientError(f"deregistering needs a revision (family:revision or an ARN), "
                              f"got {ref!r}", field="taskDefinition", value=ref)
        with self._lock:
            current = self._find(ref)
            if current.status == "INACTIVE":
                return current
            inactive = current._with_metadata(status="INACTIVE", deregisteredAt=self._clock())
            self._revisions[family][revision - 1] = inactive
        return inactive

    def list_task_definitions(self, family_prefix: str | None = None, status: str = "ACTIVE",
                              sort: str = "ASC") -> list[str]:
        """ARNs of revisions with ``status``, by family then revision (``DESC`` reverses both)."""
        _check_choice("status", status, TASK_DEFINITION_STATUSES)
        _check_choice("sort", sort, _SORT_ORDERS)
        _check_prefix(family_prefix)
        with self._lock:
            families = sorted(self._revisions, reverse=sort == "DESC")
            arns = []
            for family in families:
                if family_prefix is not None and family != family_prefix:
                    continue
                revisions = [d for d in self._revisions[family] if d.status == status]
                if sort == "DESC":
                    revisions.reverse()
                arns.extend(d.arn for d in revisions)
        return arns

    def list_families(self, family_prefix: str | None = None, status: str = "ALL") -> list[str]:
        """Family names in order, starting with ``family_prefix``.

        ``ACTIVE``: families with an ACTIVE revision; ``INACTIVE``: families with
        none; ``ALL`` (ECS's default): both.
        """
        _check_choice("status", status, _FAMILY_STATUSES)
        _check_prefix(family_prefix)
        with self._lock:
            result = []
            for family in sorted(self._revisions):
                if family_prefix is not None and not family.startswith(family_prefix):
                    continue
                active = any(d.status == "ACTIVE" for d in self._revisions[family])
                if status == "ALL" or (status == "ACTIVE") == active:
                    result.append(family)
        return result

    def __len__(self) -> int:
        """The number of registered revisions, ACTIVE or INACTIVE."""
        with self._lock:
            return sum(len(revisions) for revisions in self._revisions.values())

    # -- references -------------------------------------------------------------

    def _split(self, ref: object) -> tuple[str, int | None]:
        """``(family, revision or None)`` of a reference; no lookup."""
        if not isinstance(ref, str) or not ref:
            raise InvalidParameterError(f"taskDefinition must be a family, family:revision or "
                                        f"an ARN, got {ref!r}", field="taskDefinition", value=ref)
        match = _ARN.match(ref)
        if match is not None:
            if (match["region"], match["account"]) != (self.region, self.account):
                raise NotFoundError(NOT_FOUND_MESSAGE, field="taskDefinition", value=ref)
            family, revision = match["family"], match["revision"]
        elif ref.startswith("arn:"):
            raise NotFoundError(NOT_FOUND_MESSAGE, field="taskDefinition", value=ref)
        else:
            family, _, revision = ref.partition(":")
            revision = revision if ":" in ref else None
        if revision is None:
            return family, None
        if not revision.isdigit() or not revision.isascii() or not revision.strip("0"):
            raise ClientError(f"Invalid revision number. Number: {shown(revision)}",
                              field="taskDefinition", value=ref)
        if len(revision.lstrip("0")) > _MAX_REVISION_DIGITS:  # no family has that many revisions
            raise NotFoundError(NOT_FOUND_MESSAGE, field="taskDefinition", value=ref)
        return family, int(revision)

    def _find(self, ref: object) -> TaskDefinition:
        family, revision = self._split(ref)
        revisions = self._revisions.get(family, [])
        if revision is None:
            for definition in reversed(revisions):
                if definition.status == "ACTIVE":
                    return definition
        elif revision <= len(revisions):
            return revisions[revision - 1]
        raise NotFoundError(NOT_FOUND_MESSAGE, field="taskDefinition", value=ref)


def _check_prefix(family_prefix: object) -> None:
    if family_prefix is not None and not isinstance(family_prefix, str):
        raise InvalidParameterError(f"familyPrefix must be a string, got {family_prefix!r}",
                                    field="familyPrefix", value=family_prefix)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidParameterError(f"{name} must be one of {'|'.join(choices)}, got {value!r}",
                                    field=name, value=value)
