"""``quaymaster query``: the instances a CQL expression selects, one ec2_instance_id a line.

Instances are listed as ListContainerInstances lists them: in table order,
INACTIVE ones left out unless ``--status`` asks for them. A bad expression is
a CQLError, which main.py prints (message, expression, caret) with exit 2.
"""

from __future__ import annotations

import argparse
import sys

# ECS's container-instance statuses (quaymaster.model.schema.INSTANCE_STATUSES, which a test
# keeps equal): written out so that `quaymaster --help` does not import pyarrow.
INSTANCE_STATUSES = ("ACTIVE", "DRAINING", "INACTIVE", "REGISTERING", "DEREGISTERING",
                     "REGISTRATION_FAILED")

_DESCRIPTION = """\
Print the ec2_instance_id of every container instance that the cluster query
language EXPRESSION selects, one per line, in table order. As ECS's
ListContainerInstances, INACTIVE instances are left out unless --status asks
for them; --status keeps only the instances in that status.

Examples:
  quaymaster query --instances fleet.parquet 'attribute:ecs.instance-type =~ t2.*'
  quaymaster query --instances i.parquet --tasks t.parquet 'task:group == service:web'
"""


def register(subparsers, help_text: str) -> None:
    """Add the ``query`` subcommand."""
    parser = subparsers.add_parser("query", help=help_text, description=_DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", required=True, metavar="I.parquet",
                        help="the instance table as Parquet (columns: docs/semantics.md)")
    parser.add_argument("--tasks", metavar="T.parquet",
                        help="the live-task table as Parquet (for runningTasksCount and task:group)")
    parser.add_argument("--status", choices=INSTANCE_STATUSES,
                        help="list only the instances in this status")
    parser.add_argument("expression", metavar="EXPRESSION", help="a cluster query language expression (docs/semantics.md)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    """Compile first (a bad expression fails before any file is read), then list."""
    from quaymaster import Cluster, cql

    query = cql.compile(args.expression)
    cluster = Cluster.from_parquet(args.instances, args.tasks)
    ids = cluster.state.ids
    positions = cql.matching_positions(cluster, query, args.status)
    sys.stdout.write("".join(f"{ids[p]}\n" for p in positions.tolist()))
    return 0
