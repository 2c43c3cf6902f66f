"""``quaymaster bench``: time the fleet-scale placement scenarios, checked first.

Prints one row per scenario (time or rate, the target, whether it is met, how
many times faster than the NumPy per-task scan and the pure-Python reference
measured in the same run, the checks passed) and B4's growth grid. Exit
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
  COLD  a new interpreter: import plus the first run_task (and with an empty Numba cache)
  MEM   B1's peak memory above a process that only built the fleet

examples:
  quaymaster bench --quick
  quaymaster bench --scenarios B1,B2 --repeat 5 --json bench.json
  quaymaster bench --scenarios B4 --full
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
                        help="comma-separated subset of B1,B2,B3,B4,COLD,MEM (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke test that runs in seconds")
    parser.add_argument("--repeat", type=_positive, metavar="N",
                        help="timed runs per scenario (default 3, 1 with --quick)")
    parser.add_argument("--full", action="store_true",
                        help="also run B4's biggest cells (instances x tasks above 1e9)")
    parser.add_argument("--json", metavar="OUT.json", help="also write the whole report as JSON")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars on stderr (default: only on a terminal)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from quaymaster.bench import FULL, QUICK, parse_scenario_keys, run_benchmarks

    keys = parse_scenario_keys(args.scenarios)
    if args.json and not Path(args.json).parent.exists():
        raise InvalidInputError(f"--json: folder {str(Path(args.json).parent)!r} does not exist",
                                field="--json", value=args.json)
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or (1 if args.quick else 3)
    report = run_benchmarks(keys, sizes=sizes, repeat=repeat, full=args.full,
                            progress=args.progress)
    print(f"quaymaster bench ({sizes.name} sizes, {repeat} timed run(s) each, "
          f"reference {'found' if report.meta['reference'] else 'NOT found'})\n")
    print(report.format())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=1))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0 if report.checks_passed else 1
