"""Entry point of the ``quaymaster`` command.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``handler`` to a
function ``handler(args) -> int``. Modules are imported only when listed here,
so adding a command is one line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from quaymaster.errors import InvalidInputError

# (module, one-line help) in the order --help lists them.
SUBCOMMANDS = [
    ("demo", "generate a fleet, place work on it, and summarise the result"),
    ("fleet", "generate a realistic fleet of container instances as Parquet"),
    ("query", "list the instances a cluster query language expression selects"),
    ("place", "place a RunTask request on a fleet and write where each task went"),
    ("bench", "time the placement scenarios and print rates and ratios"),
    ("simulate", "run a scenario of timed ECS calls on a virtual clock and write its tables"),
    ("serve", "serve the region behind an ECS-compatible HTTP endpoint for boto3 and the AWS CLI"),
    ("sweep", "run variations of a scenario as independent simulations on Dask"),
    ("size", "find the smallest fleet whose simulation meets a constraint"),
]


def _version_text() -> str:
    import numba
    import pyarrow

    from quaymaster import __version__
    from quaymaster.native import version as native_version

    return (f"quaymaster {__version__} (native core {native_version()}, "
            f"numba {numba.__version__}, pyarrow {pyarrow.__version__})")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` that one (a run of one command
    imports no other command's module: each costs imports, numpy and pyarrow among them)."""
    parser = argparse.ArgumentParser(
        prog="quaymaster",
        description="Amazon ECS's scheduling brain, exact and fast.",
        epilog="Run 'quaymaster COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="store_true",
                        help="print the versions of quaymaster, its native core, numba and pyarrow")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(f"quaymaster.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"quaymaster.cli.{name}":
                raise
            continue  # a command not built yet
        module.register(sub, help_text)
    return parser


def _named_command(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names, when it is the first argument (else None: --help, typos)."""
    names = {name for name, _ in SUBCOMMANDS}
    return argv[0] if argv and argv[0] in names else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_named_command(argv))
    args = parser.parse_args(argv)
    if args.version:
        print(_version_text())
        return 0
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except InvalidInputError as exc:
        print(f"quaymaster {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written
        print(f"quaymaster {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _reader_went_away() -> int:
    """stdout's reader closed the pipe (``quaymaster ... | head``): stop quietly.

    What is still buffered can never be written; pointing stdout at /dev/null
    keeps the interpreter's final flush from printing a BrokenPipeError.
    Exit status 0: the reader chose to stop, nothing went wrong here.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (redirected in-process)
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
