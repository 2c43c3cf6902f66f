"""``quaymaster place``: one RunTask request on a fleet.

Reads an instance table (and optionally the live tasks) as Parquet and a
RunTask request body as JSON; writes one row per placed task, and optionally
the failures, the cluster's live tasks after the request and its instances
after the request. The last two are exactly what ``--instances`` and
``--tasks`` accept, so calls chain::

    quaymaster place --instances fleet.parquet --request a.json --out a.parquet \\
        --instances-out after-a/instances.parquet --tasks-out after-a/tasks.parquet
    quaymaster place --instances after-a/instances.parquet --tasks after-a/tasks.parquet \\
        --request b.json --out b.parquet

The table columns are described in docs/semantics.md ("The instance and task
tables").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from quaymaster.cli.failures import FAILURE_FORMATS, failures_format, write_failures

UINT64_MAX = 2**64 - 1

EXAMPLES = """\
examples:
  quaymaster place --instances fleet.parquet --request web.json --out placed.parquet
  quaymaster place --instances fleet.parquet --request web.json --out out/placed.parquet \\
      --failures out/failures.json --failures-format grouped
  quaymaster place --instances fleet.parquet --request web.json --out a.parquet \\
      --instances-out a/instances.parquet --tasks-out a/tasks.parquet
  quaymaster place --instances a/instances.parquet --tasks a/tasks.parquet --request web.json --out b.parquet
"""


def parse_seed(text: str) -> int:
    """``--seed``: an unsigned 64-bit integer, decimal or 0x-prefixed hexadecimal."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer 0..{UINT64_MAX}, got {text!r}") from None
    if not 0 <= value <= UINT64_MAX:
        raise argparse.ArgumentTypeError(f"must be an integer 0..{UINT64_MAX} (unsigned 64-bit), "
                                         f"got {text}")
    return value


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "place", help=help_text, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Place the tasks of a RunTask request on the instances of a Parquet fleet, exactly as\n"
            "ECS would, and write where each task went. Folders of the output files are created.\n"
            "Exit status 0 when the request was valid (even if some tasks could not be placed),\n"
            "2 on bad input (then nothing is written)."))
    parser.add_argument("--instances", required=True, metavar="INSTANCES.parquet",
                        help="container instances (columns: docs/semantics.md)")
    parser.add_argument("--tasks", metavar="TASKS.parquet", help="live tasks already in the cluster")
    parser.add_argument("--request", required=True, metavar="REQUEST.json",
                        help="a RunTask request body; taskDefinition inline or a path to one")
    parser.add_argument("--seed", type=parse_seed, default=0, metavar="N",
                        help="unsigned 64-bit seed of the tie and random keys (default 0)")
    parser.add_argument("--out", required=True, metavar="PLACEMENTS.parquet",
                        help="one row per placed task: task_index, ec2_instance_id, ports, ARNs")
    parser.add_argument("--failures", metavar="FAILURES",
                        help="write the tasks not placed (format: --failures-format)")
    parser.add_argument("--failures-format", choices=FAILURE_FORMATS, metavar="FORMAT",
                        help=("list: a JSON list of {task_index, reason, arn, detail}, one per task "
                              "(the default); grouped: a JSON list with one entry per distinct "
                              "{reason, arn, detail}, its count and task_index ranges [first, last]; "
                              "parquet: the list as a Parquet table. Default: parquet when FAILURES "
                              "ends in .parquet, else list"))
    parser.add_argument("--tasks-out", metavar="TASKS.parquet",
                        help="write the cluster's live tasks after the request (accepted by --tasks)")
    parser.add_argument("--instances-out", metavar="INSTANCES.parquet",
                        help=("write the instances after the request, remaining resources included "
                              "(accepted by --instances; chain with --tasks-out)"))
    parser.set_defaults(handler=run)


def _prepared(path: str) -> str:
    """Create the folder of an output file (after the request succeeded)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def run(args) -> int:
    import pyarrow.parquet as pq

    from quaymaster.cluster import Cluster
    from quaymaster.placement.runtask import load_request, run_request

    form = failures_format(args.failures, args.failures_format)
    body = load_request(args.request)
    cluster = Cluster.from_parquet(args.instances, args.tasks)
    result = run_request(cluster, body, seed=args.seed)
    pq.write_table(result.placements, _prepared(args.out))
    if args.failures:
        write_failures(result, _prepared(args.failures), form)
    if args.tasks_out:
        pq.write_table(cluster.task_table(), _prepared(args.tasks_out))
    if args.instances_out:
        pq.write_table(cluster.instance_table(), _prepared(args.instances_out))
    print(f"placed {result.placed_count} of {result.request.count} tasks"
          + (f"; {result.failed_count} failed: {result.failure['reason']}" if result.failure else ""))
    return 0
