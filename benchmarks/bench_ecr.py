"""ECR figures: lifecycle evaluation at scale, and /v2/ push/pull throughput on loopback.

1. ``evaluate_lifecycle_policy`` over 100,000 images (0-3 tags each) under a
   10-rule policy (prefixes, patterns, untagged, any; count and age rules),
   checked equal to the plain evaluation (tests/ecr/lifecycle_plain.py) and
   timed against it in the same run.
2. A 100 MiB artifact pushed with the ``oras`` client to the /v2/ app on a
   real uvicorn on 127.0.0.1, then pulled back and compared byte for byte
   (in-memory blob store, and a disk store under a temporary directory).
3. The same through a real ``quaymaster serve --state DIR`` (a subprocess):
   the push's registry writes journaled (fsynced) before each answer.

    python benchmarks/bench_ecr.py              # prints the figures
    python -m pytest benchmarks/bench_ecr.py    # the same, as pytest-benchmark runs
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ecr"))
sys.path.insert(0, str(ROOT / "tests" / "endpoint"))
sys.path.insert(0, str(ROOT / "tests" / "ecr_serve"))

import lifecycle_plain  # noqa: E402

from quaymaster.ecr import ECRRegistry, evaluate_lifecycle_policy, registry_app  # noqa: E402

N_IMAGES = 100_000
NOW = 1_800_000_000.0
ARTIFACT_MIB = 100


def _rule(priority, status, count_type, number, **lists):
    selection = {"tagStatus": status, "countType": count_type, "countNumber": number, **lists}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


POLICY = {"rules": [
    _rule(1, "tagged", "imageCountMoreThan", 50, tagPrefixList=["prod"]),
    _rule(2, "tagged", "sinceImagePushed", 90, tagPrefixList=["prod", "v1"]),
    _rule(3, "tagged", "imageCountMoreThan", 200, tagPatternList=["release-*-final"]),
    _rule(4, "tagged", "sinceImagePushed", 30, tagPatternList=["dev*"]),
    _rule(5, "tagged", "imageCountMoreThan", 1000, tagPrefixList=["feature"]),
    _rule(6, "tagged", "sinceImagePushed", 14, tagPatternList=["*-rc*"]),
    _rule(7, "tagged", "imageCountMoreThan", 500, tagPatternList=["v*.*.*"]),
    _rule(8, "tagged", "sinceImagePushed", 7, tagPrefixList=["tmp"]),
    _rule(9, "untagged", "sinceImagePushed", 3),
    _rule(10, "any", "imageCountMoreThan", 60_000),
]}
WORDS = ["prod", "prod-eu", "v1.2.3", "v2.0.1", "dev", "dev-x", "release-7-final", "feature-a",
         "feature-b", "tmp", "x-rc1", "latest", "release-8-rc2"]


def make_images(n: int = N_IMAGES, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, n)
    tags = [[f"{WORDS[w]}-{i}-{j}" if w != 2 else f"v1.{i}.{j}"
             for j, w in enumerate(rng.integers(0, len(WORDS), c))] for i, c in enumerate(counts)]
    pushed = NOW - rng.uniform(0, 200 * 86400, n)
    return pa.table({"imageDigest": [f"sha256:{i:064x}" for i in range(n)],
                     "imageTags": pa.array(tags, pa.list_(pa.string())),
                     "imagePushedAt": pa.array(pushed, pa.float64())})


def lifecycle_figures() -> dict:
    table = make_images()
    evaluate_lifecycle_policy(POLICY, table.slice(0, 1000), NOW)   # warm the compute kernels
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        result = evaluate_lifecycle_policy(POLICY, table, NOW)
        runs.append(time.perf_counter() - start)
    plain_images = [{"digest": d, "tags": t, "pushed": p} for d, t, p in zip(
        table.column("imageDigest").to_pylist(), table.column("imageTags").to_pylist(),
        table.column("imagePushedAt").to_pylist())]
    start = time.perf_counter()
    plain = lifecycle_plain.evaluate(POLICY, plain_images, NOW)
    plain_time = time.perf_counter() - start
    fast = list(zip(result.column("imageDigest").to_pylist(),
                    result.column("appliedRulePriority").to_pylist()))
    assert fast == plain, "the fast path and the plain evaluation disagree"
    return {"images": N_IMAGES, "rules": len(POLICY["rules"]), "expired": len(fast),
            "fast_s": min(runs), "plain_s": plain_time, "speedup": plain_time / min(runs)}


def throughput_figures(state_dir: str | None = None) -> dict:
    from ecr_serve import serving

    registry = ECRRegistry(state_dir=state_dir)
    registry.create_repository({"repositoryName": "bench/artifact"})
    token = registry.get_authorization_token({})["authorizationData"][0]["authorizationToken"]
    import base64
    password = base64.b64decode(token).decode().split(":", 1)[1]
    with serving(registry_app(registry, lambda *_: True)) as url:
        return _push_pull(url, password, "disk" if state_dir else "memory")


def served_throughput_figures() -> dict:
    """Push and pull through ``quaymaster serve --state``: /v2/ writes journaled."""
    from oras_support import password
    from server_support import Server, client

    with tempfile.TemporaryDirectory() as state:
        server = Server("--state", state)
        try:
            client("ecr", server.url).create_repository(repositoryName="bench/artifact")
            return _push_pull(server.url, password(server.url), "serve --state")
        finally:
            server.stop()


def _push_pull(url: str, password: str, store: str) -> dict:
    import oras.client

    data = os.urandom(ARTIFACT_MIB * 1024 * 1024)
    with tempfile.TemporaryDirectory() as work:
        host = url.split("//")[1]
        client = oras.client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
        client.auth.set_basic_auth("AWS", password)
        cwd = os.getcwd()
        os.chdir(work)
        try:
            pathlib.Path("artifact.bin").write_bytes(data)
            start = time.perf_counter()
            client.push(target=f"{host}/bench/artifact:v1", files=["artifact.bin"])
            push_s = time.perf_counter() - start
            start = time.perf_counter()
            paths = client.pull(target=f"{host}/bench/artifact:v1", outdir="out")
            pull_s = time.perf_counter() - start
            assert pathlib.Path(paths[0]).read_bytes() == data
        finally:
            os.chdir(cwd)
    return {"store": store, "mib": ARTIFACT_MIB,
            "push_s": push_s, "pull_s": pull_s,
            "push_mib_s": ARTIFACT_MIB / push_s, "pull_mib_s": ARTIFACT_MIB / pull_s}


def test_lifecycle_100k_images_10_rules(benchmark):
    figures = lifecycle_figures()
    benchmark.extra_info.update(figures)
    benchmark(evaluate_lifecycle_policy, POLICY, make_images(), NOW)


def test_push_pull_100_mib(benchmark):
    figures = benchmark.pedantic(throughput_figures, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)


def test_push_pull_100_mib_served_and_journaled(benchmark):
    figures = benchmark.pedantic(served_throughput_figures, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)


def main() -> None:
    lc = lifecycle_figures()
    print(f"lifecycle: {lc['images']:,} images, {lc['rules']} rules, {lc['expired']:,} expired: "
          f"fast {lc['fast_s'] * 1e3:.1f} ms, plain {lc['plain_s']:.2f} s, "
          f"{lc['speedup']:.0f}x")
    for state in (None, "disk", "serve"):
        with tempfile.TemporaryDirectory() as tmp:
            t = served_throughput_figures() if state == "serve" else \
                throughput_figures(tmp if state else None)
        print(f"/v2/ {t['mib']} MiB artifact ({t['store']} store), oras over loopback: "
              f"push {t['push_s']:.2f} s ({t['push_mib_s']:.0f} MiB/s), "
              f"pull {t['pull_s']:.2f} s ({t['pull_mib_s']:.0f} MiB/s)")


if __name__ == "__main__":
    main()
