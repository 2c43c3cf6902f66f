"""SigV4 verification with botocore's own signer.

The received request is rebuilt as a botocore ``AWSRequest`` holding exactly
the headers the client signed; botocore's ``SigV4Auth`` (header form) or
``SigV4QueryAuth`` (presigned form) recomputes the canonical request, the
string to sign and the signature with the key's secret, and the two
signatures are compared in constant time. Failures are AWS's errors:
``IncompleteSignatureException`` (a malformed or partial signature, 400),
``UnrecognizedClientException`` (no or unknown access key, 403),
``InvalidSignatureException`` (wrong signature or outside the 5-minute clock
window / past a presigned URL's expiry, 403).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth, SigV4QueryAuth, UNSIGNED_PAYLOAD
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from quaymaster.errors import ServiceError

SKEW = dt.timedelta(minutes=5)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class Signed:
    """What a verified signature tells: who, and the credential scope."""

    access_key: str
    region: str
    service: str


@dataclass(frozen=True)
class Received:
    """The parts of an HTTP request the signature covers."""

    method: str
    path: str
    raw_query: str
    headers: list[tuple[str, str]]  # lower-case names, in arrival order
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


def incomplete(message: str) -> ServiceError:
    return ServiceError("IncompleteSignatureException", message, status=400)


def unrecognized() -> ServiceError:
    return ServiceError("UnrecognizedClientException",
                        "The security token included in the request is invalid.", status=403)


def invalid_signature() -> ServiceError:
    return ServiceError("InvalidSignatureException",
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your AWS Secret Access Key and signing method. Consult "
                        "the service documentation for details.", status=403)


def signature_parts(req: Received) -> dict[str, str] | None:
    """The signature's fields (Credential, SignedHeaders, Signature, date, form), or None if unsigned."""
    auth = req.header("authorization")
    query = dict(parse_qsl(req.raw_query, keep_blank_values=True))
    if auth is not None:
        return _header_parts(auth, req)
    if "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        return _query_parts(query)
    return None


def _header_parts(auth: str, req: Received) -> dict[str, str]:
    algorithm, _, rest = auth.strip().partition(" ")
    if algorithm != _ALGORITHM:
        raise incomplete(f"Authorization header requires '{_ALGORITHM}' as its algorithm. "
                         f"Authorization={auth[:200]}")
    fields = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            fields[key] = value
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise incomplete(" ".join(f"Authorization header requires '{k}' parameter." for k in missing)
                         + f" Authorization={auth[:200]}")
    date = req.header("x-amz-date")
    if not date:
        raise incomplete("Authorization header requires existence of either a 'X-Amz-Date' "
                         "or a 'Date' header.")
    fields.update(date=date, form="header")
    return fields


def _query_parts(query: dict[str, str]) -> dict[str, str]:
    names = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
             "X-Amz-Signature")
    missing = [n for n in names if not query.get(n)]
    if missing:
        raise incomplete("AWS query-string parameters must include " +
                         ", ".join(f"'{n}'" for n in missing) + ".")
    if query["X-Amz-Algorithm"] != _ALGORITHM:
        raise incomplete(f"X-Amz-Algorithm must be {_ALGORITHM}.")
    return {"Credential": query["X-Amz-Credential"], "SignedHeaders": query["X-Amz-SignedHeaders"],
            "Signature": query["X-Amz-Signature"], "date": query["X-Amz-Date"],
            "expires": query.get("X-Amz-Expires", "900"), "form": "query"}


def credential_scope(parts: dict[str, str]) -> tuple[str, str, str, str]:
    """(access key, date, region, service) from ``Credential``."""
    pieces = parts["Credential"].split("/")
    if len(pieces) != 5 or pieces[4] != "aws4_request" or not all(pieces):
        raise incomplete(f"Credential should be scoped to a valid region, service and "
                         f"'aws4_request'. Credential={parts['Credential'][:200]}")
    return pieces[0], pieces[1], pieces[2], pieces[3]


def verify(req: Received, parts: dict[str, str], secret: str, now: dt.datetime) -> Signed:
    """Check ``parts`` (from :func:`signature_parts`) against ``secret``; raise on any failure."""
    access_key, date, region, service = credential_scope(parts)
    signed_at = _parse_date(parts["date"])
    if parts["date"][:8] != date:
        raise invalid_signature()
    _check_time(parts, signed_at, now)
    signed_names = [n for n in parts["SignedHeaders"].split(";") if n]
    if "host" not in signed_names:
        raise incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    request = _rebuild(req, signed_names, parts["form"])
    credentials = Credentials(access_key, secret)
    signer_type = _HeaderVerifier if parts["form"] == "header" else _QueryVerifier
    signer = signer_type(credentials, service, region, signed_names)
    request.context["timestamp"] = parts["date"]
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)),
                                request)
    if not hmac.compare_digest(expected.encode(), parts["Signature"].encode()):
        raise invalid_signature()
    return Signed(access_key=access_key, region=region, service=service)


def _parse_date(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, _TIMESTAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise incomplete(f"Date must be in ISO-8601 'basic format'. Got '{text[:40]}'. "
                         "See http://en.wikipedia.org/wiki/ISO_8601") from None


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime(_TIMESTAMP)


def _check_time(parts: dict[str, str], signed_at: dt.datetime, now: dt.datetime) -> None:
    """Header form: within 5 minutes of the server clock. Query form: not past
    X-Amz-Expires, and not from more than 5 minutes in the future."""
    if parts["form"] == "query":
        try:
            expires = int(parts["expires"])
        except ValueError:
            raise incomplete("X-Amz-Expires must be an integer number of seconds.") from None
        if not 0 < expires <= 604800:
            raise incomplete("X-Amz-Expires must be between 1 and 604800 seconds.")
        earliest, note = now - dt.timedelta(seconds=expires), ""
    else:
        earliest, note = now - SKEW, f" ({_stamp(now)} - 5 min.)"
    if signed_at < earliest:
        raise ServiceError("InvalidSignatureException", f"Signature expired: {_stamp(signed_at)} "
                           f"is now earlier than {_stamp(earliest)}{note}", status=403)
    if signed_at > now + SKEW:
        raise ServiceError("InvalidSignatureException",
                           f"Signature not yet current: {_stamp(signed_at)} is still later than "
                           f"{_stamp(now + SKEW)} ({_stamp(now)} + 5 min.)", status=403)


def _rebuild(req: Received, signed_names: list[str], form: str) -> AWSRequest:
    headers = HTTPHeaders()
    for name, value in req.headers:
        if name in signed_names:
            headers[name] = value
    if any(name not in headers for name in signed_names):
        raise invalid_signature()
    query = req.raw_query
    if form == "query":  # the signature is not part of what it signs
        query = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))
    host = headers.get("host", "localhost")
    url = f"http://{host}{req.path}" + (f"?{query}" if query else "")
    declared = req.header("x-amz-content-sha256")
    if declared not in (None, UNSIGNED_PAYLOAD) and declared != hashlib.sha256(req.body).hexdigest():
        raise invalid_signature()  # a body that is not the one the client hashed
    request = AWSRequest(method=req.method, url=url, headers=headers, data=req.body)
    if declared is not None and "x-amz-content-sha256" not in signed_names:
        request.headers["X-Amz-Content-SHA256"] = declared
    return request


class _SignedHeadersOnly:
    """Sign exactly the headers the client listed, not whatever arrived."""

    def __init__(self, credentials, service, region, signed_names):
        super().__init__(credentials, service, region)  # type: ignore[call-arg]  # a mixin before SigV4Auth
        self._signed_names = signed_names

    def headers_to_sign(self, request):
        chosen = HTTPHeaders()
        for name in self._signed_names:
            for value in request.headers.get_all(name) or []:
                chosen[name] = value
        return chosen


class _HeaderVerifier(_SignedHeadersOnly, SigV4Auth):
    pass


class _QueryVerifier(_SignedHeadersOnly, SigV4QueryAuth):
    def canonical_query_string(self, request):
        # The URL's query as received; botocore sorts its already-encoded pairs.
        from urllib.parse import urlsplit
        return self._canonical_query_string_url(urlsplit(request.url))

    def payload(self, request):
        return SigV4Auth.payload(self, request)
