"""From HTTP request to (service, operation, params) and from answers and errors
back to HTTP, per protocol. Everything the model refuses becomes a ServiceError
with the code AWS answers with."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botocore.model import OperationModel

from quaymaster.api_models import check_request
from quaymaster.errors import ServiceError

from . import jsoncodec, querycodec
from .services import Service, by_signing_name, by_target_prefix, query_service

JSON_CONTENT = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Call:
    service: Service
    operation: OperationModel
    params: dict


def unknown_operation(text: str = "") -> ServiceError:
    return ServiceError("UnknownOperationException", text or "Unknown operation")


def pick_service(scope_service: str | None, target: str | None, form: dict[str, str]) -> Service:
    """By the credential scope's service, else the target's prefix, else ``Action``."""
    if scope_service:
        service = by_signing_name(scope_service)
        if service is None:
            raise unknown_operation(f"Unknown service {scope_service!r} in the credential scope")
        return service
    if target:
        service = by_target_prefix(target.partition(".")[0])
        if service is None:
            raise unknown_operation(f"Unknown target {target[:100]!r}")
        return service
    if "Action" in form:
        return query_service()
    raise unknown_operation("The request names no operation (X-Amz-Target or Action)")


def decode(service: Service, target: str | None, body: bytes, form: dict[str, str]) -> Call:
    if service.protocol == "query":
        return _decode_query(service, form)
    if not target or target.partition(".")[0] != service.target_prefix:
        raise unknown_operation(f"Unknown target {str(target)[:100]!r} for {service.name}")
    operation = service.operation(target.partition(".")[2])
    if operation is None:
        raise unknown_operation()
    try:
        params = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise ServiceError("SerializationException", "Start of structure or map found where not "
                           "expected, or the body is not JSON") from None
    if not isinstance(params, dict):
        raise ServiceError("SerializationException", "The request body must be a JSON object")
    params = jsoncodec.decode_input(params, operation.input_shape)
    _validate(service, operation, params)
    return Call(service, operation, params)


def _decode_query(service: Service, form: dict[str, str]) -> Call:
    operation = service.operation(form.get("Action", ""))
    if operation is None:
        raise ServiceError("InvalidAction", f"Could not find operation {form.get('Action', '')[:100]} "
                           f"for version {service.model.api_version}")
    version = form.get("Version")
    if version is not None and version != service.model.api_version:
        raise ServiceError("InvalidAction", f"Could not find operation {operation.name} "
                           f"for version {version[:40]}")
    params = querycodec.parse_form(form, operation.input_shape)
    _validate(service, operation, params)
    return Call(service, operation, params)


def _validate(service: Service, operation: OperationModel, params: dict) -> None:
    check_request(service.name, operation.name, params)


def parse_form(body: bytes, raw_query: str, content_type: str) -> dict[str, str]:
    """The query protocol's parameters, from the query string and a form body."""
    pairs = []
    for text in (raw_query, body.decode("utf-8", "replace")
                 if "x-www-form-urlencoded" in content_type else ""):
        pairs.extend(parse_qsl(text, keep_blank_values=True))
    return {k: v for k, v in pairs if not k.startswith("X-Amz-")}


def request_id() -> str:
    return str(uuid.uuid4())


def encode_answer(call: Call, answer: dict | None, rid: str) -> tuple[int, dict, bytes]:
    if call.service.protocol == "query":
        namespace = call.service.model.metadata.get("xmlNamespace", "")
        body = querycodec.xml_response(call.operation, answer, rid, namespace)
        return 200, {"content-type": "text/xml", "x-amzn-requestid": rid}, body
    data = jsoncodec.encode_output(answer or {}, call.operation.output_shape) or {}
    return 200, {"content-type": JSON_CONTENT, "x-amzn-requestid": rid}, jsoncodec.dumps(data)


def encode_error(error: ServiceError, query: bool, rid: str) -> tuple[int, dict, bytes]:
    headers = {"x-amzn-requestid": rid, "x-amzn-errortype": error.code}
    if query:
        body = querycodec.xml_error(error.code, error.message, rid, sender=error.status < 500)
        return error.status, dict(headers, **{"content-type": "text/xml"}), body
    body = jsoncodec.dumps({"__type": error.code, "message": error.message})
    return error.status, dict(headers, **{"content-type": JSON_CONTENT}), body
