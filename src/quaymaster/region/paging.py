"""nextToken / maxResults for the ECS List* operations: a token is the offset, opaque to callers."""

from __future__ import annotations

from quaymaster.paging import PrefixedBase64, offset_page
from quaymaster.region.errors import invalid

_TOKENS = PrefixedBase64("qm:")


def page(items: list, request: dict, key: str, *, default_max: int = 100, limit: int = 100) -> dict:
    max_results = request.get("maxResults", default_max)
    if not 1 <= max_results <= limit:
        raise invalid(f"maxResults must be between 1 and {limit}, found {max_results}.")
    chunk, token = offset_page(items, request.get("nextToken"), max_results, _TOKENS,
                               lambda _: invalid("Invalid nextToken."))
    return {key: chunk, **({"nextToken": token} if token is not None else {})}
