"""quaymaster serve: concurrent clients, real-time clock, the missing-extra message."""

import json
import sqlite3
import subprocess
import sys
import threading
import time

from server_support import ROOT, Server, client, env


def test_concurrent_clients_apply_every_mutation_once_in_order(tmp_path):
    server = Server("--state", str(tmp_path))
    try:
        errors = []

        def work(worker):
            ecs = client("ecs", server.url)
            try:
                for i in range(10):
                    ecs.create_cluster(clusterName=f"w{worker}-{i}")
            except Exception as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        arns = client("ecs", server.url).list_clusters()["clusterArns"]
        assert len(arns) == 80
    finally:
        server.stop()
    rows = sqlite3.connect(tmp_path / "journal.sqlite3").execute(
        "SELECT seq, params FROM calls ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == list(range(1, 81))
    for worker in range(8):  # each client's calls were applied in the order it sent them
        mine = [json.loads(p)["clusterName"] for _, p in rows if json.loads(p)["clusterName"].startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-{i}" for i in range(10)]


def test_real_time_clock_follows_wall_time_times_speed():
    server = Server("--clock", "real", "--speed", "100")
    try:
        first = server.get("/_quaymaster/clock")["epoch"]
        time.sleep(0.5)
        second = server.get("/_quaymaster/clock")["epoch"]
        assert 30 <= second - first <= 400  # 0.5 s at 100x, with scheduling slack
        status, moved = server.post("/_quaymaster/clock/advance", {"seconds": 3600})
        assert status == 200 and moved["epoch"] >= second + 3600
    finally:
        server.stop()


def test_serve_without_the_server_extra_says_what_to_install():
    code = ("import sys; sys.modules['uvicorn'] = None\n"
            "from quaymaster.cli.main import main\n"
            "sys.exit(main(['serve', '--port', '0']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(),
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "pip install 'quaymaster[server]'" in done.stderr


def test_serve_refuses_a_bad_credentials_file(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"principals": [{"arn": "arn:aws:iam::123456789012:user/a",
        "accessKeyId": "K", "secretAccessKey": "S",
        "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}]}]}))
    done = subprocess.run([sys.executable, "-m", "quaymaster.cli.main", "serve", "--port", "0",
                           "--auth", "sigv4", "--credentials", str(path)],
                          capture_output=True, text=True, env=env(), cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "policies[0]" in done.stderr and "Resource" in done.stderr
