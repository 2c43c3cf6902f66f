"""Authorization tokens that need no table: signed, so they survive a restart.

GetAuthorizationToken's password is ``<payload>.<signature>``: the payload
(URL-safe base64 of JSON) names the principal, account, region and expiry
(epoch seconds of the registry's clock); the signature is an HMAC-SHA256 of
the payload under the store's token key. Checking a password is recomputing
the HMAC and reading the payload, so nothing has to be journaled: a server
restarted on the same ``--state`` directory (same key, the clock replayed to
the same instant) accepts every token it issued that has not expired. The
token is a pure function of key, principal, registry and expiry, so the same
call at the same virtual instant issues the same token.

The key is 32 random bytes kept in ``<state>/token.key`` (created once, mode
0600, fsynced); a store in memory draws one per process, and its tokens end
with the process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import pathlib

KEY_FILE = "token.key"
KEY_BYTES = 32


def load_or_create_key(root: pathlib.Path | None) -> bytes:
    """The token key of a state directory (created on first use), or a fresh one in memory."""
    if root is None:
        return os.urandom(KEY_BYTES)
    path = root / KEY_FILE
    if path.is_file() and path.stat().st_size == KEY_BYTES:
        return path.read_bytes()
    temporary = root / (KEY_FILE + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)  # a crash leaves the old key, or none: never half of one
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, principal: str, account: str, region: str, expires: float) -> str:
    """The password of a token for ``principal`` on one registry, valid until ``expires``."""
    payload = json.dumps({"p": principal, "a": account, "r": region, "e": round(expires, 3)},
                         separators=(",", ":"), sort_keys=True).encode()
    body = _b64(payload)
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def verify(key: bytes, password: str, account: str, region: str, now: float) -> str | None:
    """The principal ``password`` was issued to for this registry, or None (forged, foreign, expired)."""
    body, dot, signature = password.partition(".")
    if not dot:
        return None
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("a") != account or payload.get("r") != region:
        return None
    expires, principal = payload.get("e"), payload.get("p")
    if not isinstance(expires, (int, float)) or not isinstance(principal, str) or now >= expires:
        return None
    return principal
