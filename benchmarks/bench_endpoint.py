"""Endpoint figures against the real Region behind a real ``quaymaster serve``.

E2. Journal cost: one boto3 client sends the same mutating load (CreateCluster,
    RegisterContainerInstance, TagResource, RunTask) to a server without
    ``--state`` (in-memory journal) and with it (SQLite WAL, synchronous=FULL,
    one fsynced transaction per call); requests per second and p50/p99.
E3. Restart time: a journal of N calls (default 100,000: the same mix as E2,
    written through the endpoint's own ``Journal``) replayed by
    ``quaymaster serve --state`` until it prints ``ready`` (a replay of N >=
    --snapshot-every calls ends with a snapshot); then a second restart, which
    loads that snapshot instead. Both starts' own breakdown is printed.

    python benchmarks/bench_endpoint.py [--calls 2000] [--journal 100000] [--only E2|E3]

The server is started from this interpreter's environment (the installed
quaymaster, or the caller's PYTHONPATH), as the tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "endpoint"))

from server_support import Server, client  # noqa: E402

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
TASK_DEFINITION = {"family": "web", "containerDefinitions": [
    {"name": "app", "image": "nginx", "cpu": 64, "memory": 128}]}


def mutating_calls(n: int):
    """(operation, request) pairs: clusters, instances as the agent registers them, tags, tasks."""
    yield "RegisterTaskDefinition", TASK_DEFINITION
    for i in range(n - 1):
        cluster = f"c{i % 20}"
        kind = i % 4 if i >= 20 else -1
        if kind == -1:
            yield "CreateCluster", {"clusterName": cluster}
        elif kind in (0, 1):
            document = {"instanceId": f"i-{i:017x}", "availabilityZone": ZONES[i % 3],
                        "instanceType": "m5.large"}
            yield "RegisterContainerInstance", {
                "cluster": cluster, "instanceIdentityDocument": json.dumps(document),
                "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                                   {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]}
        elif kind == 2:
            yield "TagResource", {"resourceArn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}",
                                  "tags": [{"key": "k", "value": str(i)}]}
        else:
            # (i - 3) % 4 == 0: a cluster that the calls of kind 0 gave instances
            yield "RunTask", {"cluster": f"c{(i - 3) % 20}", "taskDefinition": "web", "count": 1,
                              "placementStrategy": [{"type": "binpack", "field": "memory"}]}


def _snake(operation: str) -> str:
    import re
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation).lower()


def load(url: str, n: int) -> dict:
    ecs = client("ecs", url)
    latencies = []
    start = time.perf_counter()
    for operation, request in mutating_calls(n):
        began = time.perf_counter()
        getattr(ecs, _snake(operation))(**request)
        latencies.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"calls": n, "rps": round(n / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2)}


def e2(n: int) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as state:
        for label, args in (("memory journal", ()), ("--state (SQLite, FULL)", ("--state", state))):
            server = Server(*args)
            try:
                figures[label] = load(server.url, n)
            finally:
                server.stop()
    return figures


def write_journal(directory: str, n: int) -> None:
    from quaymaster.endpoint import jsoncodec
    from quaymaster.endpoint.journal import Journal
    from quaymaster.endpoint.services import services
    ecs = services()["ecs"]
    journal = Journal(directory)
    # Setting up, not measured: the same rows without an fsync per row.
    journal._db.execute("PRAGMA synchronous=OFF")
    for operation, request in mutating_calls(n):
        shape = ecs.operation(operation).input_shape
        journal.append(1767225600.0, "us-east-1", "ecs", operation,
                       jsoncodec.encode_output(request, shape) or {})
    journal.close()


def _start(*args: str) -> tuple[Server, float, str]:
    """A server, its seconds to ``ready`` and its ``state:`` line (what the start-up cost)."""
    began = time.perf_counter()
    server = Server(*args)
    ready = time.perf_counter() - began
    line = server.process.stderr.readline().strip() if "--state" in args else ""
    return server, ready, line


def e3(n: int) -> dict:
    """Plain replay of N calls (which ends with a snapshot), then a start from that snapshot."""
    with tempfile.TemporaryDirectory() as state:
        began = time.perf_counter()
        write_journal(state, n)
        written = time.perf_counter() - began
        server, replay_ready, replay_line = _start("--state", state)
        try:
            before = _clusters(server.url)
        finally:
            server.stop()
        server, snapshot_ready, snapshot_line = _start("--state", state)
        try:
            after = _clusters(server.url)
        finally:
            server.stop()
        empty, empty_ready, _ = _start()
        empty.stop()
    assert after == before, "the start from the snapshot shows other clusters than the replay"
    return {"journaled_calls": n, "journal_write_s": round(written, 2),
            "replay_restart_to_ready_s": round(replay_ready, 2), "replay_start": replay_line,
            "snapshot_restart_to_ready_s": round(snapshot_ready, 2), "snapshot_start": snapshot_line,
            "replay_over_snapshot": round(replay_ready / snapshot_ready, 1),
            "empty_start_to_ready_s": round(empty_ready, 2), "clusters": len(after)}


def _clusters(url: str) -> list:
    ecs = client("ecs", url)
    names = [a.rsplit("/", 1)[1] for a in ecs.list_clusters(maxResults=100)["clusterArns"]]
    return ecs.describe_clusters(clusters=names)["clusters"] if names else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="E2: mutating calls per run")
    parser.add_argument("--journal", type=int, default=100_000, help="E3: journaled calls")
    parser.add_argument("--only", choices=("E2", "E3"), help="run one figure")
    args = parser.parse_args()
    if args.only != "E3":
        print(json.dumps({"E2": e2(args.calls)}, indent=1), flush=True)
    if args.only != "E2":
        print(json.dumps({"E3": e3(args.journal)}, indent=1), flush=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
