"""Endpoint figures against the real Region behind a real ``quaymaster serve``.

E1. Throughput against a peer: 8 concurrent boto3 clients (threads, one client
    each) on loopback; requests per second and p50/p99 latency of
    DescribeServices, RunTask (count 10) and ListContainerInstances with a
    filter over 5,000 instances, for ``quaymaster serve`` and for moto's server
    (``moto_server``, a subprocess like ours) in the same run, and the ratio.
    Where moto does not do what was asked (it ignores the filter, say) the
    output says so. Without moto, E1 measures quaymaster alone and says how
    to install the peer: pip install 'moto[server]'.
E2. Journal cost: one boto3 client sends the same mutating load (CreateCluster,
    RegisterContainerInstance, TagResource, RunTask) to a server without
    ``--state`` (in-memory journal) and with it (SQLite WAL, synchronous=FULL,
    one fsynced transaction per call); requests per second and p50/p99.
E3. Restart time: a journal of N calls (default 100,000: the same mix as E2,
    written through the endpoint's own ``Journal``) replayed by
    ``quaymaster serve --state`` until it prints ``ready`` (a replay of N >=
    --snapshot-every calls ends with a snapshot); then a second restart, which
    loads that snapshot instead. Both starts' own breakdown is printed.

    python benchmarks/bench_endpoint.py [--calls 2000] [--journal 100000] [--instances 5000]
                                        [--only E1|E2|E3]

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
import socket
import tempfile
import threading
import time
import urllib.request

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


# --- E1 ----------------------------------------------------------------------------

CLIENTS = 8
FRONT = "attribute:tier == front"
E1_CALLS = {"DescribeServices": 40, "RunTask": 10, "ListContainerInstances": 10}   # per client
INSTALL_MOTO = "moto is not installed: pip install 'moto[server]' to measure it beside quaymaster"


class MotoServer:
    """moto's own server (``moto_server``) as a subprocess on a free loopback port."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p",
                   str(port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def moto_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask") is not None


def _in_threads(work, items: list, clients: int = CLIENTS) -> list:
    """``work(client_index, item)`` over ``items`` split among ``clients`` threads; the answers."""
    answers: list = [None] * len(items)

    def run(k: int) -> None:
        for i in range(k, len(items), clients):
            answers[i] = work(k, items[i])
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def e1_fleet(url: str, instances: int, needs_ec2: bool) -> set:
    """Cluster ``e1``, ``instances`` registered as the agent does (every other one tier=front),
    a task definition and a service; returns the front instances' ARNs."""
    ecs = [client("ecs", url) for _ in range(CLIENTS)]
    ecs[0].create_cluster(clusterName="e1")
    ids = [f"i-{i:017x}" for i in range(instances)]
    if needs_ec2:   # moto registers only instances its EC2 knows
        ec2 = client("ec2", url)
        ids = [i["InstanceId"] for start in range(0, instances, 500) for i in ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=min(500, instances - start), MaxCount=min(500, instances - start),
            InstanceType="m5.large")["Instances"]]

    def register(k: int, i: int) -> tuple[int, str]:
        document = json.dumps({"instanceId": ids[i], "availabilityZone": ZONES[i % 3], "instanceType": "m5.large"})
        answer = ecs[k].register_container_instance(
            cluster="e1", instanceIdentityDocument=document,
            totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}],
            attributes=[{"name": "tier", "value": "front" if i % 2 == 0 else "back"}])
        return i, answer["containerInstance"]["containerInstanceArn"]
    registered = _in_threads(register, list(range(instances)))
    ecs[0].register_task_definition(**TASK_DEFINITION)
    ecs[0].create_service(cluster="e1", serviceName="svc", taskDefinition="web", desiredCount=0)
    return {arn for i, arn in registered if i % 2 == 0}


E1_REQUESTS = {"DescribeServices": {"cluster": "e1", "services": ["svc"]},
               "RunTask": {"cluster": "e1", "taskDefinition": "web", "count": 10},
               "ListContainerInstances": {"cluster": "e1", "filter": FRONT}}


def e1_measure(url: str, operation: str) -> dict:
    clients = [client("ecs", url) for _ in range(CLIENTS)]
    method = _snake(operation)

    def one(k: int, _) -> float:
        began = time.perf_counter()
        getattr(clients[k], method)(**E1_REQUESTS[operation])
        return time.perf_counter() - began
    _in_threads(one, [None] * CLIENTS)   # warm-up, not measured: first-call compilation, connections
    start = time.perf_counter()
    latencies = sorted(_in_threads(one, [None] * (CLIENTS * E1_CALLS[operation])))
    elapsed = time.perf_counter() - start
    return {"calls": len(latencies), "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2)}


def e1_support(url: str, front: set) -> dict:
    """What the server did with the calls: notes where it is not what ECS does."""
    ecs = client("ecs", url)
    notes = {}
    listed = [a for page in ecs.get_paginator("list_container_instances").paginate(cluster="e1", filter=FRONT)
              for a in page["containerInstanceArns"]]
    first_page = ecs.list_container_instances(cluster="e1", filter=FRONT)["containerInstanceArns"]
    if len(first_page) != 100:   # ECS's default maxResults: a page of 100 ARNs
        notes["ListContainerInstances pages"] = f"a call answers {len(first_page)} ARNs (ECS: pages of 100)"
    if set(listed) != front:
        notes["ListContainerInstances"] = (f"filter not supported: {len(listed)} instances listed, "
                                           f"{len(front)} match {FRONT!r}")
    placed = ecs.run_task(**E1_REQUESTS["RunTask"])
    if len(placed["tasks"]) != 10:
        notes["RunTask"] = f"count 10 placed {len(placed['tasks'])} tasks ({placed['failures'][:1]})"
    return notes


def e1_server(url: str, instances: int, needs_ec2: bool) -> dict:
    began = time.perf_counter()
    front = e1_fleet(url, instances, needs_ec2)
    figures: dict = {"setup_s": round(time.perf_counter() - began, 1)}
    for operation in E1_CALLS:
        figures[operation] = e1_measure(url, operation)
    figures["not_as_ecs"] = e1_support(url, front)
    return figures


def e1(instances: int) -> dict:
    out: dict = {"clients": CLIENTS, "instances": instances, "load_average": os.getloadavg()}
    server = Server()
    try:
        out["quaymaster"] = e1_server(server.url, instances, needs_ec2=False)
    finally:
        server.stop()
    if not moto_installed():
        out["moto"] = INSTALL_MOTO
        return out
    import moto
    peer = MotoServer()
    try:
        out[f"moto {moto.__version__}"] = moto_figures = e1_server(peer.url, instances, needs_ec2=True)
    finally:
        peer.stop()
    out["rps_ratio_quaymaster_over_moto"] = {
        op: round(out["quaymaster"][op]["rps"] / moto_figures[op]["rps"], 2) for op in E1_CALLS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="E2: mutating calls per run")
    parser.add_argument("--journal", type=int, default=100_000, help="E3: journaled calls")
    parser.add_argument("--instances", type=int, default=5000, help="E1: container instances")
    parser.add_argument("--only", choices=("E1", "E2", "E3"), help="run one figure")
    args = parser.parse_args()
    if args.only in (None, "E1"):
        print(json.dumps({"E1": e1(args.instances)}, indent=1), flush=True)
    if args.only in (None, "E2"):
        print(json.dumps({"E2": e2(args.calls)}, indent=1), flush=True)
    if args.only in (None, "E3"):
        print(json.dumps({"E3": e3(args.journal)}, indent=1), flush=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
