"""``quaymaster size``: the smallest fleet whose simulation meets a constraint, and why one less fails."""

from __future__ import annotations

import argparse
import json
import sys

from quaymaster.cli.sweep import add_engine_options

DESCRIPTION = """\
Find the smallest fleet for which the simulation meets a constraint, and say
why one instance less fails: which service, from when to when (virtual time),
and how much demand went unserved.

What is sized, one of:
  --capacity-provider NAME --instance-types T1,T2,...
        the Auto Scaling group behind the scenario's capacity provider NAME:
        for each type, the group launches only that type with MaxSize N
        (managed scaling then scales inside it; without managed scaling the
        group runs N instances). --objective picks among the types:
          instances  the fewest instances (default)
          cost       the least cost: instance-hours times the scenario's
                     "prices": {"c5.large": 0.085, ...} (USD per hour; there
                     are no built-in prices)
        --min defaults to 1 and --max to the group's MaxSize in the scenario.
  --fleet CLUSTER       the scenario's static fleet for CLUSTER (its table's
                        first N rows)
  --path JSON_PATH      any integer in the scenario, e.g.
                        calls[2].request.desiredCount
The constraint is on the UnservedDemand of every service over the whole run:
  --constraint unserved=0        (default) no demand ever unserved
  --constraint unserved<=5000    at most 5000 CPU units in total
(From Python, quaymaster.sweep.size_fleet also takes a function
constraint(summary, tables) -> bool.)

The search is exact assuming more instances never serve less: each round
simulates up to one size per worker inside the remaining interval, and the
answer is checked at its boundary (N meets the constraint, N-1 was simulated
and fails). Runs on Dask like `quaymaster sweep` (needs
pip install 'quaymaster[sweep]').

Examples:
  quaymaster size scenario.json --capacity-provider cp \\
      --instance-types c5.large,c5.xlarge,m5.large --objective cost
  quaymaster size scenario.json --capacity-provider cp --instance-types c5.xlarge \\
      --constraint 'unserved<=5000' --max 40 --json
  quaymaster size scenario.json --fleet prod --min 1 --max 64
"""


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser("size", help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", metavar="SCENARIO.json|yaml")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--capacity-provider", metavar="NAME",
                      help="size the Auto Scaling group of this capacity provider, per instance type")
    what.add_argument("--fleet", metavar="CLUSTER", help="size the static fleet registered into CLUSTER")
    what.add_argument("--path", metavar="JSON_PATH", help="size the integer at this JSON path")
    parser.add_argument("--instance-types", metavar="T1,T2", help="with --capacity-provider: the types to try")
    parser.add_argument("--objective", choices=("instances", "cost"), default="instances",
                        help="with --capacity-provider: fewest instances (default) or least cost")
    parser.add_argument("--min", type=int, metavar="A", help="the smallest size to consider")
    parser.add_argument("--max", type=int, metavar="B", help="the largest size to consider")
    parser.add_argument("--constraint", default="unserved=0", metavar="unserved=0|unserved<=X")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_engine_options(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from quaymaster.sweep import FleetSizing, SizeResult, SweepError, size, size_fleet
    from quaymaster.sweep.engine import read_document
    from quaymaster.sweep.sizing import fleet_path

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    engine = {"scheduler": args.scheduler, "workers": args.workers, "progress": progress}
    result: FleetSizing | SizeResult
    if args.capacity_provider:
        if not args.instance_types:
            raise SweepError("--capacity-provider needs --instance-types T1,T2,...", field="instance-types")
        result = size_fleet(args.scenario, args.capacity_provider, args.instance_types,
                            objective=args.objective, constraint=args.constraint,
                            low=1 if args.min is None else args.min, high=args.max, **engine)
    else:
        for name in ("min", "max"):
            if getattr(args, name) is None:
                raise SweepError("--fleet and --path need --min and --max", field=name)
        path = args.path or fleet_path(read_document(args.scenario)[0], args.fleet)
        result = size(args.scenario, path, args.min, args.max, constraint=args.constraint, **engine)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print(result.explain())
    return 0
