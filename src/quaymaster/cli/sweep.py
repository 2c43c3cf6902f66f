"""``quaymaster sweep``: the cross product of scenario variations as independent simulations on Dask."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Run one scenario many times, each with some values changed, as independent
simulations on Dask (distributed), and write every run's tables as one Parquet
dataset plus a summary table.

Each --vary names a JSON path into the scenario and the values it takes:
  --vary calls[2].request.desiredCount=2,4,8
  --vary 'workloads[0].cpu=[1000, 2000]'        (a JSON list works too)
  --vary fleets[0].count=4,8,16                  (a fleet's first N instances)
Values are JSON when they parse as JSON (3, true, "x", {...}), else text.
Several --vary give their cross product, numbered 0, 1, ... with the first
--vary varying slowest.

Writes, into an empty --out DIR:
  DIR/<table>/variation=<i>/part-0.parquet   (metrics, events, tasks, activities;
                                              hive partitions: read DIR/metrics
                                              as one dataset with a variation column)
  DIR/summary.parquet                         (one row per variation: variation, one
                                              column per varied path holding its
                                              value as JSON text, summary.json's figures,
                                              among them cost and instanceHours.<type>)
  DIR/summary.png                             (with --plot: unserved demand and cost, or
                                              peak instances without prices, one marker
                                              per variation; needs matplotlib:
                                              pip install 'quaymaster[plot]')
A cost needs the scenario's "prices": {"c5.large": 0.085, ...} (USD per
instance-hour; quaymaster has no built-in prices): instance-hours per type,
metered each minute, times the price; Fargate tasks add their vCPU-hours and
GB-hours times "FARGATE" / "FARGATE_SPOT": {"vcpuHour": ..., "gbHour": ...}.
Every variation equals `quaymaster simulate` of that scenario alone, byte for
byte, whichever worker ran it; a task Dask retries after a worker dies is
written once.

Runs on a local cluster of --workers processes (default 2), or on a running
scheduler given by --scheduler tcp://HOST:8786. Needs the sweep extra:
pip install 'quaymaster[sweep]'. A progress bar counts finished simulations
(on a terminal, or with --progress).

Examples:
  quaymaster sweep scenario.json --vary calls[5].request.desiredCount=2,4,8 --out runs/
  quaymaster sweep scenario.json --vary 'calls[1].request.MaxSize=8,16,32' \\
      --vary seed=1,2,3 --workers 4 --plot --out runs/      (9 simulations, summary.png)
  quaymaster sweep scenario.json --vary fleets[0].count=4,8 --scheduler tcp://10.0.0.5:8786 --out runs/
Read the results with pyarrow:
  pyarrow.parquet.read_table("runs/summary.parquet")
  pyarrow.dataset.dataset("runs/metrics", partitioning="hive").to_table()
"""


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser("sweep", help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", metavar="SCENARIO.json|yaml")
    parser.add_argument("--vary", action="append", required=True, metavar="PATH=V1,V2,...",
                        help="a JSON path into the scenario and its values (repeat for a cross product)")
    parser.add_argument("--out", required=True, metavar="DIR", help="an empty directory for the dataset")
    parser.add_argument("--plot", action="store_true",
                        help="also write DIR/summary.png comparing the variations (needs matplotlib)")
    add_engine_options(parser)
    parser.set_defaults(handler=run)


def add_engine_options(parser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler (tcp://host:8786) instead of a local cluster")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes of the local cluster (default 2; ignored with --scheduler)")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="a progress bar over simulations (default: when stderr is a terminal)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")


def run(args) -> int:
    from quaymaster.sweep import parse_values, sweep

    vary: dict = {}
    for text in args.vary:
        path, values = parse_values(text)
        vary[path] = values
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    table = sweep(args.scenario, vary, out=args.out, scheduler=args.scheduler, workers=args.workers,
                  progress=progress, plot=args.plot)
    print(f"simulated {table.num_rows} variations of {', '.join(vary)}; wrote {args.out}"
          + (" and summary.png" if args.plot else ""))
    return 0
