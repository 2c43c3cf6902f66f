"""Repository names, image tags and digests, ARNs and URIs (ECR, section 1).

A repository name is 2..256 characters of lowercase path components joined by
``/`` (namespaces); tags follow the distribution spec's tag grammar; a digest
is ``sha256:`` and 64 lowercase hex digits.
"""

from __future__ import annotations

import re

from quaymaster.ecr.api_model import invalid

_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"(?:{_COMPONENT}/)*{_COMPONENT}")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,299}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


def check_repository_name(name: str) -> str:
    if not isinstance(name, str) or not 2 <= len(name) <= 256 or not REPOSITORY_NAME.fullmatch(name):
        raise invalid(
            f"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
            f"regular expression '{REPOSITORY_NAME.pattern}'' (value {name!r})")
    return name


def is_tag(tag: str) -> bool:
    return isinstance(tag, str) and TAG.fullmatch(tag) is not None


def is_digest(digest: str) -> bool:
    return isinstance(digest, str) and DIGEST.fullmatch(digest) is not None


def check_digest(digest: str, member: str = "digest") -> str:
    if not is_digest(digest):
        raise invalid(f"Invalid parameter at '{member}': {digest!r} is not a sha256 digest "
                      "(sha256: and 64 lowercase hex digits)")
    return digest


def repository_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def repository_uri(region: str, account: str, name: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"


def name_from_arn(arn: str, region: str, account: str) -> str:
    """The repository name an ARN of this registry names, else InvalidParameterException."""
    prefix = f"arn:aws:ecr:{region}:{account}:repository/"
    if not isinstance(arn, str) or not arn.startswith(prefix) or len(arn) == len(prefix):
        raise invalid(f"Invalid parameter at 'resourceArn': {arn!r} is not a repository ARN "
                      f"of registry {account} in {region}")
    return arn[len(prefix):]


_REGISTRY_HOST = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")
_LOCAL_HOST = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.localhost")


def registry_host(host: str | None) -> tuple[str | None, str] | None:
    """(account or None, region) a ``Host`` header names, or None for any other host.

    ``<account>.dkr.ecr.<region>.amazonaws.com[:port]`` is ECR's registry host;
    ``<region>.localhost[:port]`` picks a region on a local server (no account).
    """
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if host.rsplit(":", 1)[-1].isdigit() else host
    name = name.lower().rstrip(".")
    match = _REGISTRY_HOST.fullmatch(name)
    if match:
        return match["account"], match["region"]
    match = _LOCAL_HOST.fullmatch(name)
    return (None, match["region"]) if match else None
