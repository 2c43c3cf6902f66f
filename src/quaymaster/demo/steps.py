"""The steps of ``quaymaster demo`` and the context they share.

Each is ``step(context) -> None`` over one :class:`DemoContext`: the first
generates and writes a fleet, which then becomes a cluster; a cluster query
selects instances; the seed slides' wordpress task definition is placed until
its host port runs out; and a bulk request shows the engine's speed.
``quaymaster.cli.demo`` lists them in order.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster import cql
from quaymaster.cluster import Cluster
from quaymaster.fleet import generate_fleet, summarize_fleet
from quaymaster.fleet.output import write_fleet

DEMO_INSTANCES = 1_000
DEMO_AZS = 3

#: The seed slides' wordpress definition, with the mysql container it links to.
WORDPRESS = {
    "family": "wordpress",
    "containerDefinitions": [
        {"name": "wordpress", "links": ["mysql"], "image": "wordpress", "essential": True,
         "portMappings": [{"containerPort": 80, "hostPort": 80}], "memory": 500, "cpu": 10},
        {"name": "mysql", "image": "mysql", "essential": True, "memory": 500, "cpu": 10,
         "environment": [{"name": "MYSQL_ROOT_PASSWORD", "value": "password"}]},
    ],
}
SPREAD_THEN_BINPACK = [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                       {"type": "binpack", "field": "memory"}]
QUERY = "attribute:ecs.instance-type =~ m5.* and attribute:ecs.availability-zone != us-east-1c"
BULK_TASKS = 200_000


@dataclass
class DemoContext:
    """What the steps share: where to write, the seed, the stream to print to, results."""

    out_dir: Path
    seed: int = 0
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    fleet: pa.Table | None = None
    cluster: Cluster | None = None   # the fleet as a cluster, made by the first step that needs it
    files: dict[str, Path] = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        print(text, file=self.stream)


Step = Callable[[DemoContext], None]


def _cluster(context: DemoContext) -> Cluster:
    if context.cluster is None:
        context.cluster = Cluster.from_arrow(context.fleet)
    return context.cluster


def fleet_step(context: DemoContext) -> None:
    """Generate a 1,000-instance fleet over 3 zones, write it, print its summary."""
    context.fleet = generate_fleet(DEMO_INSTANCES, azs=DEMO_AZS, seed=context.seed)
    path = write_fleet(context.fleet, context.out_dir / "fleet.parquet")
    context.files["fleet"] = path
    context.say(f"== Fleet: {DEMO_INSTANCES:,} instances over {DEMO_AZS} zones (seed {context.seed})")
    context.say(f"Wrote {path}\n")
    context.say(summarize_fleet(context.fleet))


def query_step(context: DemoContext) -> None:
    """Select instances with the cluster query language."""
    cluster = _cluster(context)
    mask = cql.compile(QUERY).mask(cluster)
    context.say("== Cluster query")
    context.say(f"  {QUERY}")
    context.say(f"  selects {int(mask.sum()):,} of {cluster.state.n:,} instances")


def wordpress_step(context: DemoContext) -> None:
    """Place the wordpress definition: host port 80 allows one task per instance."""
    cluster = _cluster(context)
    definition = cluster.task_definitions.register(WORDPRESS)
    count = cluster.state.n + 200
    result = cluster.run_task(definition, count=count, placement_strategy=SPREAD_THEN_BINPACK,
                              explain=True)
    path = context.out_dir / "wordpress-placements.parquet"
    pq.write_table(result.placements, path)
    context.files["wordpress"] = path
    zones = Counter(cluster.state.attributes["ecs.availability-zone"].get(p)
                    for p in result.placements.column("position").to_pylist())
    context.say(f"== RunTask {definition.family}:{definition.revision} x {count:,}, "
                "spread(availability zone) then binpack(memory)")
    context.say(f"  placed {result.placed_count:,}; per zone: "
                + ", ".join(f"{zone} {n:,}" for zone, n in sorted(zones.items())))
    if result.failure:
        context.say(f"  {result.failed_count:,} failed: {result.failure['reason']}")
        context.say(f"  detail: {result.failure['detail']}")
    context.say(f"  wrote {path}")


def bulk_step(context: DemoContext) -> None:
    """A large request of small identical tasks, timed."""
    cluster = _cluster(context)
    task = {"family": "worker", "containerDefinitions": [
        {"name": "worker", "image": "worker", "cpu": 16, "memory": 32}]}
    start = time.perf_counter()
    result = cluster.run_task(task, count=BULK_TASKS, placement_strategy=SPREAD_THEN_BINPACK)
    seconds = time.perf_counter() - start
    context.say(f"== Bulk RunTask of {BULK_TASKS:,} tasks (16 CPU units, 32 MiB)")
    context.say(f"  placed {result.placed_count:,} in {seconds * 1000:.1f} ms "
                f"({result.placed_count / seconds:,.0f} tasks/s)")
    if result.failure:
        context.say(f"  {result.failed_count:,} failed: {result.failure['reason']}")
    context.say(f"  live tasks in the cluster now: {cluster.tasks.live_count():,}")
