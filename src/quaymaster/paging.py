"""Offset pagination, the one implementation behind every paginated operation.

A page is ``items[start:start + size]``; its token names the offset of the
next item. Each API keeps its own token format (a :class:`TokenCodec`), its
own member names, page-size bounds and error for a bad token: those live with
the API (``region/paging.py`` for ECS, ``ecr/api_model.py``,
``scaling/appautoscaling.py``), the slicing and checking live here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class TokenCodec(Protocol):
    def encode(self, offset: int) -> str: ...

    def decode(self, token: str) -> int:
        """The offset a token names; ValueError, KeyError or TypeError when it names none."""


@dataclass(frozen=True)
class PrefixedBase64:
    """``base64url("<prefix><offset>")``: opaque to a caller (ECS's nextToken)."""

    prefix: str = "qm:"

    def encode(self, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{self.prefix}{offset}".encode()).decode()

    def decode(self, token: str) -> int:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix(self.prefix))


@dataclass(frozen=True)
class TaggedJsonBase64:
    """``base64url({"o": offset, "w": what})``: a token of one listing is refused by another (ECR)."""

    what: str

    def encode(self, offset: int) -> str:
        raw = json.dumps({"o": offset, "w": self.what}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def decode(self, token: str) -> int:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["o"]
        if data["w"] != self.what or isinstance(offset, bool) or not isinstance(offset, int):
            raise ValueError(token)
        return offset


@dataclass(frozen=True)
class DecimalOffset:
    """The offset in decimal digits (Application Auto Scaling's and EC2 Auto Scaling's NextToken)."""

    def encode(self, offset: int) -> str:
        return str(offset)

    def decode(self, token: str) -> int:
        if not (token.isascii() and token.isdigit()):
            raise ValueError(token)
        return int(token)


def offset_page(items: Sequence, token: str | None, size: int, codec: TokenCodec,
                bad_token: Callable[[str], Exception], *, past_end_ok: bool = False) -> tuple[list, str | None]:
    """One page of ``items`` from the offset ``token`` names, and the token of the next (None on the last).

    A token that does not decode, names a negative offset, or (unless
    ``past_end_ok``) one past the end of ``items`` raises ``bad_token(token)``.
    """
    start = 0
    if token is not None:
        try:
            start = codec.decode(token)
        except (ValueError, KeyError, TypeError):
            raise bad_token(token) from None
        if start < 0 or (start > len(items) and not past_end_ok):
            raise bad_token(token)
    end = start + size
    return list(items[start:end]), (codec.encode(end) if end < len(items) else None)
