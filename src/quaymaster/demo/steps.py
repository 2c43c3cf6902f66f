"""The placement steps of ``quaymaster demo``.

Each is ``step(context)`` over the demo's shared context (cli/demo.py): the
fleet the first step generated becomes a cluster, a cluster query selects
instances, the seed slides' wordpress task definition is placed until its
host port runs out, and a bulk request shows the engine's speed.
"""

from __future__ import annotations

import time
from collections import Counter

import pyarrow.parquet as pq

from quaymaster import cql
from quaymaster.cluster import Cluster

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


def _cluster(context) -> Cluster:
    cluster = getattr(context, "cluster", None)
    if cluster is None:
        cluster = context.cluster = Cluster.from_arrow(context.fleet)
    return cluster


def query_step(context) -> None:
    """Select instances with the cluster query language."""
    cluster = _cluster(context)
    mask = cql.compile(QUERY).mask(cluster)
    context.say("== Cluster query")
    context.say(f"  {QUERY}")
    context.say(f"  selects {int(mask.sum()):,} of {cluster.state.n:,} instances")


def wordpress_step(context) -> None:
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


def bulk_step(context) -> None:
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
