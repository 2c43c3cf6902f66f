"""``quaymaster bench``: time the fleet-scale placement scenarios, checked first.

Prints one row per scenario (time or rate, the target, whether it is met, how
many times faster than the NumPy per-task scan and the pure-Python reference
measured in the same run, the checks passed) and B4's growth grid; with
``--plot``, also draws B4's growth and B2's latency histogram into an image
(see :mod:`quaymaster.bench.plot`). Exit
status 0 when every correctness check passed, 1 otherwise; targets that are
missed are reported, not failed on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quaymaster.errors import InvalidInputError

EXAMPLES = """\
scenarios:
  B1    bulk: 5,000 instances, 1,000,000 tasks, spread(zone) then binpack(memory), memberOf
  B2    latency: 10,000 run_task calls of 10 tasks, spread(zone) then spread(instanceId)
  B3    chain: 10,000 instances, 200,000 tasks, binpack(cpu), spread(attribute:stack), random
  B4    growth: instances {1k,5k,20k,100k} x tasks {10k,100k,1M} (the biggest with --full)
  B5    churn: 5,000 instances, 50 groups, 20,000 live tasks, 100,000 run/stop/drain/attribute ops
  B6    random: 5,000 instances, 1,000,000 tasks, the default random strategy
  B1E   B1 end to end: run_task and building result.placements (ARNs, ports)
  LOAD  Cluster.from_arrow of 100,000 instances
  COPY  Cluster.copy() of 5,000 instances with 100,000 live tasks (unavailable without copy())
  COLD  a new interpreter: import plus the first run_task (and with an empty Numba cache)
  MEM   B1's peak memory above a process that only built the fleet
  S3    a day of scaling: 200 services with target tracking, 3 capacity providers, 24 h at 1-minute
        metrics (about 1,500 instances at the peak), against the same run the plain way

examples:
  quaymaster bench --quick
  quaymaster bench --scenarios B1,B2 --repeat 5 --json bench.json
  quaymaster bench --scenarios B4 --full
  quaymaster bench --scenarios B2,B4 --plot bench.png   (needs: pip install 'quaymaster[plot]')
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "bench", help=help_text, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=("Time placement at fleet scale through the public API. Every scenario's result "
                     "is checked before it is timed (placed count, capacity, memberOf, the "
                     "strategies' invariants, exactness against the reference on a reduced "
                     "instance); exit status 1 if a check fails."))
    parser.add_argument("--scenarios", metavar="LIST",
                        help="comma-separated subset of B1,B2,B3,B4,B5,B6,B1E,LOAD,COPY,COLD,MEM,S3 "
                             "(default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke test that runs in seconds")
    parser.add_argument("--repeat", type=_positive, metavar="N",
                        help="timed runs per scenario (default 3, 1 with --quick)")
    parser.add_argument("--full", action="store_true",
                        help="also run B4's biggest cells (instances x tasks above 1e9)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the whole report as JSON")
    parser.add_argument("--plot", metavar="OUT.png",
                        help=("also draw B4's growth and B2's per-call latency (whichever ran) "
                              "into an image; needs matplotlib: pip install 'quaymaster[plot]'"))
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars on stderr (default: only on a terminal)")
    parser.set_defaults(handler=run)


def _check_output_folder(option: str, path: str) -> None:
    if not Path(path).parent.exists():
        raise InvalidInputError(f"{option}: folder {str(Path(path).parent)!r} does not exist",
                                field=option, value=path)


def _check_plot(path: str, keys: tuple[str, ...]) -> None:
    """Refuse --plot before anything is timed, not after minutes of benchmarks."""
    from quaymaster.bench import plot

    _check_output_folder("--plot", path)
    if plot.matplotlib_missing():
        raise InvalidInputError(f"--plot needs matplotlib, which is not installed: {plot.INSTALL_HINT}",
                                field="--plot", value=path)
    if not set(keys) & set(plot.PLOT_KEYS):
        raise InvalidInputError(f"--plot draws {' and '.join(plot.PLOT_KEYS)}, and --scenarios "
                                f"{','.join(keys)} runs neither", field="--plot", value=path)
    formats = plot.image_formats()
    if Path(path).suffix.lstrip(".").lower() not in formats:
        raise InvalidInputError(f"--plot: {path!r} does not end in an image format "
                                f"({', '.join(sorted(formats))})", field="--plot", value=path)


def command_text(args) -> str:
    """The options that decide what was measured, as a command line (outputs left out)."""
    from quaymaster.bench import parse_scenario_keys

    parts = ["quaymaster bench"]
    if args.quick:
        parts.append("--quick")
    if args.scenarios is not None:
        parts.append(f"--scenarios {','.join(parse_scenario_keys(args.scenarios))}")
    if args.repeat:
        parts.append(f"--repeat {args.repeat}")
    if args.full:
        parts.append("--full")
    return " ".join(parts)


def run(args) -> int:
    from quaymaster.bench import FULL, QUICK, parse_scenario_keys, run_benchmarks

    keys = parse_scenario_keys(args.scenarios)
    if args.json:
        _check_output_folder("--json", args.json)
    if args.plot:
        _check_plot(args.plot, keys)
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 3)
    report = run_benchmarks(keys, sizes=sizes, repeat=repeat, full=args.full,
                            progress=args.progress)
    report.meta["command"] = command_text(args)
    print(f"quaymaster bench ({sizes.name} sizes, {repeat} timed run(s) each, "
          f"reference {'found' if report.meta['reference'] else 'NOT found'})\n")
    print(report.format())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1))
        print(f"\nwrote {args.json}", file=sys.stderr)
    if args.plot:
        from quaymaster.bench.plot import write_plot

        write_plot(report, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0 if report.checks_passed else 1
