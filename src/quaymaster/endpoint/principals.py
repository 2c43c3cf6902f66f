"""The credentials file of ``--auth sigv4`` (docs/endpoint.md):

    {"principals": [{"arn": "arn:aws:iam::123456789012:user/alice",
                     "accessKeyId": "AKIA...", "secretAccessKey": "...",
                     "policies": [<policy document>, ...], "tags": {"team": "web"}}]}

Every policy is checked when the file is read, so a bad one stops the server
from starting with a message naming the principal, the statement and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from quaymaster.errors import InvalidInputError
from quaymaster.iam import Policy, parse_policy


@dataclass(frozen=True)
class Principal:
    arn: str
    access_key: str = ""
    secret: str = ""
    policies: tuple[Policy, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""

    @property
    def username(self) -> str | None:
        resource = self.arn.split(":", 5)[-1]
        return resource.rsplit("/", 1)[-1] if resource.startswith("user/") else None


def root(account: str) -> Principal:
    return Principal(arn=f"arn:aws:iam::{account}:root")


def load_principals(path: str | Path) -> dict[str, Principal]:
    """Access key id -> principal."""
    try:
        data = json.loads(Path(path).read_text())
    except ValueError as exc:
        raise InvalidInputError(f"credentials file {path}: not JSON: {exc}", field="credentials") from None
    entries = data.get("principals") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidInputError(f"credentials file {path}: needs a 'principals' list",
                                field="principals")
    table = {}
    for index, entry in enumerate(entries):
        principal = _principal(entry, f"{path}: principals[{index}]")
        if principal.access_key in table:
            raise InvalidInputError(f"{path}: access key {principal.access_key!r} appears twice",
                                    field="accessKeyId", value=principal.access_key)
        table[principal.access_key] = principal
    return table


def _principal(entry: object, where: str) -> Principal:
    if not isinstance(entry, dict):
        raise InvalidInputError(f"{where}: must be an object", field="principals")
    for key in ("arn", "accessKeyId", "secretAccessKey"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise InvalidInputError(f"{where}: {key} must be a non-empty string", field=key)
    if not entry["arn"].startswith("arn:aws:iam::"):
        raise InvalidInputError(f"{where}: arn must be an IAM ARN, not {entry['arn']!r}",
                                field="arn", value=entry["arn"])
    tags = entry.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidInputError(f"{where}: tags must map strings to strings", field="tags")
    policies = []
    for number, document in enumerate(entry.get("policies", [])):
        try:
            policies.append(parse_policy(document))
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: policies[{number}]: {exc}", field=exc.field) from None
    return Principal(arn=entry["arn"], access_key=entry["accessKeyId"],
                     secret=entry["secretAccessKey"], policies=tuple(policies), tags=dict(tags))
