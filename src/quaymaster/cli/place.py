"""``quaymaster place``: one RunTask request on a fleet (placement.md section 9)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from quaymaster.cluster import Cluster
from quaymaster.placement.request import UINT64_MAX
from quaymaster.placement.runtask import load_request, run_request


def _seed(text: str) -> int:
    value = int(text, 0)
    if not 0 <= value <= UINT64_MAX:
        raise ValueError(text)
    return value


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "place", help=help_text, description=(
            "Place the tasks of a RunTask request on the instances of a Parquet fleet, exactly as "
            "ECS would, and write where each task went. Exit status 0 when the request was valid "
            "(even if some tasks could not be placed), 2 on bad input."))
    parser.add_argument("--instances", required=True, metavar="INSTANCES.parquet",
                        help="container instances (placement.md section 1)")
    parser.add_argument("--tasks", metavar="TASKS.parquet", help="live tasks already in the cluster")
    parser.add_argument("--request", required=True, metavar="REQUEST.json",
                        help="a RunTask request body; taskDefinition inline or a path to one")
    parser.add_argument("--seed", type=_seed, default=0, metavar="N",
                        help="unsigned 64-bit seed of the tie and random keys (default 0)")
    parser.add_argument("--out", required=True, metavar="PLACEMENTS.parquet",
                        help="one row per placed task: task_index, ec2_instance_id, ports, ARNs")
    parser.add_argument("--failures", metavar="FAILURES.json",
                        help="write the tasks not placed as a JSON list of {task_index, reason, arn, detail}")
    parser.set_defaults(handler=run)


def run(args) -> int:
    body = load_request(args.request)
    cluster = Cluster.from_parquet(args.instances, args.tasks)
    result = run_request(cluster, body, seed=args.seed)
    pq.write_table(result.placements, args.out)
    if args.failures:
        with open(args.failures, "w") as handle:
            json.dump(list(result.failures), handle, indent=1)
    print(f"placed {result.placed_count} of {result.request.count} tasks"
          + (f"; {result.failed_count} failed: {result.failure['reason']}" if result.failure else ""))
    return 0
