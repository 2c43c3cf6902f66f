"""Signed authorization tokens: a registry over the same state directory accepts them after a
restart; a forged, foreign-region, foreign-account or expired token opens nothing."""

import base64
import hashlib
import hmac

from quaymaster.ecr import BlobStore, ECRRegistry, SettableClock
from quaymaster.ecr import tokens


def basic(registry, principal=None) -> str:
    data = registry.get_authorization_token({}, principal=principal)["authorizationData"][0]
    return "Basic " + data["authorizationToken"]


def header_for(password: str) -> str:
    return "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()


def test_a_token_outlives_the_registry_that_issued_it(tmp_path):
    clock = SettableClock()
    first = ECRRegistry(clock=clock, state_dir=str(tmp_path))
    header = basic(first, "arn:aws:iam::123456789012:user/ci")
    key_file = tmp_path / tokens.KEY_FILE
    assert key_file.stat().st_size == tokens.KEY_BYTES and key_file.stat().st_mode & 0o077 == 0
    restarted = ECRRegistry(clock=clock, state_dir=str(tmp_path))     # same directory, same key
    assert restarted.authenticate(header) == "arn:aws:iam::123456789012:user/ci"
    elsewhere = ECRRegistry(clock=clock, state_dir=str(tmp_path / "other"))
    assert elsewhere.authenticate(header) is None                     # another key


def test_tokens_are_deterministic_and_bound_to_their_registry(tmp_path):
    clock = SettableClock()
    store = BlobStore(tmp_path)
    east = ECRRegistry(clock=clock, blobs=store)
    west = ECRRegistry(region="us-west-2", clock=clock, blobs=store)
    other = ECRRegistry(account="210987654321", clock=clock, blobs=store)
    header = basic(east)
    assert basic(east) == header                 # same principal, same instant: same token
    assert east.authenticate(header) == "arn:aws:iam::123456789012:root"
    assert west.authenticate(header) is None and other.authenticate(header) is None
    password = base64.b64decode(header[6:]).decode().split(":", 1)[1]
    body, _, signature = password.partition(".")
    for forged in (body + "." + signature[:-1] + ("A" if signature[-1] != "A" else "B"),
                   body, "", "." + signature, body + "x." + signature, "AAAA." + signature):
        assert east.authenticate(header_for(forged)) is None, forged
    assert east.authenticate("Basic " + base64.b64encode(f"root:{password}".encode()).decode()) is None
    clock.advance(12 * 3600)
    assert east.authenticate(header) is None     # expired on the registry's clock
    assert basic(east) != header


def test_a_signed_payload_that_is_not_json_is_refused():
    key = b"k" * 32
    body = "bm90IGpzb24"                          # base64url of b"not json"
    signature = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest())
    password = body + "." + signature.decode().rstrip("=")
    assert tokens.verify(key, password, "123456789012", "us-east-1", 0.0) is None
    good = tokens.issue(key, "p", "123456789012", "us-east-1", 10.0)
    assert tokens.verify(key, good, "123456789012", "us-east-1", 9.0) == "p"
