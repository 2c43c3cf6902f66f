"""nextToken / maxResults for the List* operations: a token is the offset, opaque to callers."""

from __future__ import annotations

import base64

from quaymaster.region.errors import invalid


def page(items: list, request: dict, key: str, *, default_max: int = 100, limit: int = 100) -> dict:
    max_results = request.get("maxResults", default_max)
    if not 1 <= max_results <= limit:
        raise invalid(f"maxResults must be between 1 and {limit}, found {max_results}.")
    start = 0
    token = request.get("nextToken")
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("qm:"))
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid nextToken.") from None
        if not 0 <= start <= len(items):
            raise invalid("Invalid nextToken.")
    chunk = items[start:start + max_results]
    out = {key: chunk}
    if start + max_results < len(items):
        out["nextToken"] = base64.urlsafe_b64encode(f"qm:{start + max_results}".encode()).decode()
    return out
