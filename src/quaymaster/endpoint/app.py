"""The ASGI application: decode, authenticate, authorize, dispatch, encode.

``create_app(config, factory)`` returns a Starlette app. AWS calls are
``POST /``; ``GET /_quaymaster/health``, ``GET /_quaymaster/clock`` and
``POST /_quaymaster/clock/advance`` are the control routes (never signed).
Region work runs on a single-thread executor: mutations apply one at a time
in arrival order, and reads queue behind them (the region is not thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from quaymaster.errors import ServiceError
from quaymaster.iam.catalogue import action as catalogue_action

from . import sigv4, wire
from .authorize import Authorizer
from .host import RegionHost
from .journal import Journal
from .principals import Principal, root

log = logging.getLogger("quaymaster.endpoint")

# Largest request body accepted: above ECR's largest modeled member (a 4 MiB
# image manifest) with room for JSON escaping; larger bodies are refused unread.
MAX_BODY = 8 * 1024 * 1024
_DRAIN_FACTOR = 4
# /v2/ without credentials on a server without --auth: pulls only (docs/ecr.md).
ANONYMOUS = "anonymous"
ANONYMOUS_ACTIONS = frozenset({"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                               "ecr:BatchCheckLayerAvailability", "ecr:ListImages"})


@dataclass
class Config:
    region: str = "us-east-1"
    account: str = "123456789012"
    state: str | None = None
    auth: str = "none"                        # "none" | "sigv4"
    principals: dict[str, Principal] | None = None   # access key -> principal
    clock: str = "virtual"                    # "virtual" | "real"
    speed: float = 1.0
    snapshot_every: int = 1000
    max_body: int = MAX_BODY


class Endpoint:
    def __init__(self, config: Config, factory: Callable[[str], Any]):
        self.config = config
        self.journal = Journal(config.state)
        self.host = RegionHost(factory, default_region=config.region, journal=self.journal,
                               snapshot_every=config.snapshot_every, clock=config.clock,
                               speed=config.speed)
        self.replayed = self.host.load()
        self.authorizer = Authorizer(self.host.lookup)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="region")
        self.root = root(config.account)
        self.by_arn = {p.arn: p for p in (config.principals or {}).values()}

    async def on_region(self, fn: Callable, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # --- AWS calls ------------------------------------------------------------

    async def aws(self, request: Request) -> Response:
        rid = wire.request_id()
        query = False
        try:
            body = await self._read_body(request)
            received = sigv4.Received(request.method, request.scope.get("raw_path", b"/").decode(
                "latin-1").split("?")[0] or "/", request.scope["query_string"].decode("latin-1"),
                [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers.raw],
                body)
            target = received.header("x-amz-target")
            form = {} if target else wire.parse_form(body, received.raw_query,
                                                     received.header("content-type") or "")
            query = not target and "Action" in form
            principal, scope_region, scope_service = self._authenticate(received)
            service = wire.pick_service(scope_service, target, form)
            query = service.protocol == "query"
            call = wire.decode(service, target, body, form)
            region = scope_region or self.config.region
            client = request.client.host if request.client else None
            answer = await self.on_region(self._apply, principal, region, call, client)
            status, headers, payload = wire.encode_answer(call, answer, rid)
        except ServiceError as error:
            status, headers, payload = wire.encode_error(error, query, rid)
        except Exception:  # a bug: answer 500, the state was rebuilt without the call
            log.exception("internal error")
            internal = ServiceError("ServerException", "An internal error occurred.", status=500)
            status, headers, payload = wire.encode_error(internal, query, rid)
        return Response(payload, status_code=status, headers=headers)

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body
        too_large = ServiceError("RequestEntityTooLargeException",
                                 f"Request body larger than {limit} bytes", status=413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                # Read (and drop) a bounded remainder so the client hears the answer
                # instead of a reset; a body beyond that only gets the connection closed.
                if size > _DRAIN_FACTOR * limit:
                    raise too_large
                chunks = []
                continue
            chunks.append(chunk)
        if size > limit:
            raise too_large
        return b"".join(chunks)

    def _authenticate(self, received: sigv4.Received) -> tuple[Principal, str | None, str | None]:
        """(principal, scope region, scope service); without sigv4 the scope only routes."""
        if self.config.auth != "sigv4":
            try:
                parts = sigv4.signature_parts(received)
                _, _, region, service = sigv4.credential_scope(parts) if parts else (0, 0, None, None)
            except ServiceError:
                region = service = None
            return self.root, region, service
        parts = sigv4.signature_parts(received)
        if parts is None:
            raise ServiceError("UnrecognizedClientException",
                               "The request has no AWS Signature Version 4.", status=403)
        access_key = sigv4.credential_scope(parts)[0]
        principal = (self.config.principals or {}).get(access_key)
        if principal is None:
            raise sigv4.unrecognized()
        now = dt.datetime.now(dt.timezone.utc)
        signed = sigv4.verify(received, parts, principal.secret, now)
        return principal, signed.region, signed.service

    def _apply(self, principal: Principal, region: str, call: wire.Call, client: str | None) -> dict:
        service, operation = call.service.name, call.operation.name
        act = catalogue_action(service, operation)
        self.authorizer.check(principal, service, operation, call.params, region,
                              dt.datetime.now(dt.timezone.utc), client)
        try:
            return self.host.call(region, service, operation, call.params, act.mutating,
                                  principal=principal.arn)
        except ServiceError:
            raise
        except Exception:
            if act.mutating:
                self.host.load()  # whatever the failed call half-did is gone
            raise

    # --- the registry API (/v2/) -------------------------------------------------

    def registry_allows(self, principal_arn: str, action: str, repository_arn: str) -> bool:
        """``authorize`` of the /v2/ app: the principal the ECR token was issued to."""
        if principal_arn == ANONYMOUS:
            return action in ANONYMOUS_ACTIONS
        principal = self.root if principal_arn == self.root.arn else self.by_arn.get(principal_arn)
        if principal is None:
            return False
        region = repository_arn.split(":")[3]   # arn:aws:ecr:<region>:<account>:repository/<name>
        name = repository_arn.split(":repository/", 1)[-1]
        policy = self.host.region(region).ecr.repository_policy(name)
        return self.authorizer.allows_registry(principal, action, repository_arn, policy,
                                               region, dt.datetime.now(dt.timezone.utc))

    async def registry_for(self, host_header: str | None) -> Any:
        """The registry a /v2/ request's ``Host`` names (docs/ecr.md, "One server, every region")."""
        from quaymaster.ecr.names import registry_host
        from quaymaster.ecr.registry_http import RegistryError
        named = registry_host(host_header)
        account, region = named if named is not None else (None, self.config.region)
        if account is not None and account != self.config.account:
            raise RegistryError("NAME_UNKNOWN", f"this server holds the registries of account "
                                f"{self.config.account}, not of {account}", status=404)
        if region not in self.host.regions:   # a new region is made on the region thread
            await self.on_region(self.host.region, region)
        return self.host.regions[region].ecr

    async def registry_writes(self, registry: Any, writes: list) -> list:
        """The /v2/ app's writer: applied and journaled on the region thread, in arrival order."""
        return await self.on_region(self.host.registry_writes, registry.region, writes)

    # --- control routes -------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def clock(self, request: Request) -> Response:
        return JSONResponse(await self.on_region(self._clock_answer))

    async def advance(self, request: Request) -> Response:
        try:
            body = json.loads(await self._read_body(request) or b"{}")
            answer = await self.on_region(self._advance, body)
        except (ValueError, TypeError):
            return self._control_error("InvalidParameterException",
                                       'the body must be {"seconds": N} or {"until": ISO 8601}')
        except ServiceError as error:
            return self._control_error(error.code, error.message)
        return JSONResponse(answer)

    def _control_error(self, code: str, message: str) -> Response:
        return JSONResponse({"__type": code, "message": message}, status_code=400)

    def _advance(self, body: Any) -> dict:
        if not isinstance(body, dict) or len(body) != 1 or not ({"seconds", "until"} & set(body)):
            raise ServiceError("InvalidParameterException",
                               'the body must be {"seconds": N} or {"until": ISO 8601}')
        if "seconds" in body:
            seconds = body["seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds:
                raise ServiceError("InvalidParameterException", f"seconds must be a number, not {seconds!r}")
        else:
            until = dt.datetime.fromisoformat(str(body["until"]).replace("Z", "+00:00"))
            until = until if until.tzinfo else until.replace(tzinfo=dt.timezone.utc)
            seconds = (until - self.host.now()).total_seconds()
            if seconds < 0:
                raise ServiceError("InvalidParameterException",
                                   f"until {body['until']!r} is before the clock")
        self.host.advance(float(seconds))
        return self._clock_answer()

    def _clock_answer(self) -> dict:
        self.host.follow_wall()
        now = self.host.now()
        text = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {"time": text, "epoch": round(now.timestamp(), 3)}

    async def _tick(self) -> None:
        """Real-time mode: keep the clock moving while no request arrives."""
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                await self.on_region(self.host.follow_wall)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette):
        ticker = asyncio.create_task(self._tick()) if self.config.clock == "real" else None
        try:
            yield
        finally:
            if ticker:
                ticker.cancel()
            self.executor.shutdown(wait=True)
            self.journal.close()


def create_app(config: Config, factory: Callable[[str], Any]) -> Starlette:
    endpoint = Endpoint(config, factory)
    routes: list[BaseRoute] = [
        Route("/_quaymaster/health", endpoint.health, methods=["GET"]),
        Route("/_quaymaster/clock", endpoint.clock, methods=["GET"]),
        Route("/_quaymaster/clock/advance", endpoint.advance, methods=["POST"]),
        Route("/", endpoint.aws, methods=["POST"]),
    ]
    if hasattr(endpoint.host.region(config.region), "ecr"):
        from quaymaster.ecr import registry_app
        # The registry is found anew for each request (by its Host): a rebuild after a failed
        # call (``RegionHost.load``) replaces the region objects. Without --auth, requests
        # with no credentials may pull (a pull-through upstream), never push or delete.
        anonymous = ANONYMOUS if config.auth == "none" else None
        routes.append(Mount("/v2", registry_app(None, endpoint.registry_allows, anonymous=anonymous,
                                                writer=endpoint.registry_writes,
                                                select=endpoint.registry_for)))
    app = Starlette(routes=routes, lifespan=endpoint.lifespan)
    app.state.endpoint = endpoint
    return app
