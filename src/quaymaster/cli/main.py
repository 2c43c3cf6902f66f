"""Entry point of the ``quaymaster`` command.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function ``handler(args) -> int``. Modules are imported only when listed here,
so adding a command is one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from quaymaster.errors import InvalidInputError

# (module, one-line help) in the order --help lists them.
SUBCOMMANDS = [
    ("demo", "generate a fleet, place work on it, and summarise the result"),
    ("fleet", "generate a realistic fleet of container instances as Parquet"),
    ("query", "list the instances a cluster query language expression selects"),
    ("place", "place a RunTask request on a fleet and write where each task went"),
    ("bench", "time the placement scenarios and print rates and ratios"),
    ("serve", "serve the region behind an ECS-compatible HTTP endpoint for boto3 and the AWS CLI"),
]


def _version_text() -> str:
    import numba
    import pyarrow

    from quaymaster import __version__
    from quaymaster.native import version as native_version

    return (f"quaymaster {__version__} (native core {native_version()}, "
            f"numba {numba.__version__}, pyarrow {pyarrow.__version__})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quaymaster",
        description="Amazon ECS's scheduling brain, exact and fast.",
        epilog="Run 'quaymaster COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="store_true",
                        help="print the versions of quaymaster, its native core, numba and pyarrow")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"quaymaster.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"quaymaster.cli.{name}":
                raise
            continue  # a command not built yet
        module.register(sub, help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(_version_text())
        return 0
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except InvalidInputError as exc:
        print(f"quaymaster {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written
        print(f"quaymaster {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
