"""``quaymaster query``: ids in table order, ListContainerInstances' status rule,
CQL errors with a caret on stderr and exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cql_strategies import expressions, tables
from hypothesis import HealthCheck, given, settings
from reference import cql_ref

from quaymaster.cli.main import main

STATUSES = ["ACTIVE", "INACTIVE", "DRAINING", "ACTIVE", "INACTIVE", "REGISTERING"]


@pytest.fixture
def fleet(tmp_path):
    instances = pa.table({
        "ec2_instance_id": [f"i-{k}" for k in range(6)],
        "cpu_registered": [1024] * 6,
        "memory_registered": [2048] * 6,
        "status": STATUSES,
        "attribute:stack": pa.array(["prod", "prod", "dev", None, "prod", "prod"], pa.string()),
    })
    tasks = pa.table({"task_arn": ["t1", "t2", "t3"], "ec2_instance_id": ["i-0", "i-4", "i-5"],
                      "group": ["service:web", "service:web", "family:db"]})
    instance_path, task_path = tmp_path / "i.parquet", tmp_path / "t.parquet"
    pq.write_table(instances, instance_path)
    pq.write_table(tasks, task_path)
    return str(instance_path), str(task_path)


def run(capsys, *argv):
    code = main(["query", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_matching_ids_in_table_order_without_inactive(capsys, fleet):
    instances, _ = fleet
    code, out, err = run(capsys, "--instances", instances, "attribute:stack == prod")
    # i-1 and i-4 are prod but INACTIVE: left out, as ListContainerInstances does.
    assert (code, out, err) == (0, "i-0\ni-5\n", "")


def test_status_selects_exactly_that_status(capsys, fleet):
    instances, _ = fleet
    assert run(capsys, "--status", "INACTIVE", "--instances", instances, "attribute:stack == prod")[1] == "i-1\ni-4\n"
    assert run(capsys, "--status", "DRAINING", "--instances", instances, "attribute:stack exists")[1] == "i-2\n"
    assert run(capsys, "--status", "ACTIVE", "--instances", instances, "attribute:stack !exists")[1] == "i-3\n"
    assert run(capsys, "--status", "REGISTERING", "--instances", instances, "agentConnected == true")[1] == "i-5\n"


def test_tasks_feed_task_group_and_running_count(capsys, fleet):
    instances, tasks = fleet
    assert run(capsys, "--instances", instances, "--tasks", tasks, "task:group == service:web")[1] == "i-0\n"
    assert run(capsys, "--instances", instances, "--tasks", tasks, "runningTasksCount == 0")[1] == "i-2\ni-3\n"
    # Without the task table nothing runs anywhere.
    assert run(capsys, "--instances", instances, "task:group exists")[1] == ""


def test_no_match_prints_nothing_and_succeeds(capsys, fleet):
    instances, _ = fleet
    assert run(capsys, "--instances", instances, "attribute:stack == nope") == (0, "", "")


def test_bad_expression_exits_2_with_message_and_caret(capsys, fleet):
    instances, _ = fleet
    code, out, err = run(capsys, "--instances", instances, "attribute:ecs.instance-type t2.small")
    assert code == 2 and out == ""
    lines = err.rstrip("\n").split("\n")
    assert "CQL error at position 28: expected an operator after subject " \
           "'attribute:ecs.instance-type', found 't2.small'" in lines[0]
    assert lines[1] == "attribute:ecs.instance-type t2.small"
    assert lines[2] == " " * 28 + "^"


def test_bad_expression_fails_before_reading_files(capsys, tmp_path):
    code, _, err = run(capsys, "--instances", str(tmp_path / "missing.parquet"), "not")
    assert code == 2 and "CQL error at position 2" in err


def test_unreadable_or_invalid_tables_exit_2(capsys, tmp_path, fleet):
    code, _, err = run(capsys, "--instances", str(tmp_path / "missing.parquet"), "agentConnected == true")
    assert code == 2 and "missing.parquet" in err
    duplicate = tmp_path / "dup.parquet"
    pq.write_table(pa.table({"ec2_instance_id": ["i-1", "i-1"], "cpu_registered": [1, 1],
                             "memory_registered": [1, 1]}), duplicate)
    code, _, err = run(capsys, "--instances", str(duplicate), "agentConnected == true")
    assert code == 2 and "ec2_instance_id" in err


def test_unknown_status_is_an_argument_error(capsys, fleet):
    instances, _ = fleet
    with pytest.raises(SystemExit) as info:
        main(["query", "--status", "active", "--instances", instances, "agentConnected == true"])
    assert info.value.code == 2


def test_installed_command_line(fleet):
    instances, _ = fleet
    done = subprocess.run([sys.executable, "-m", "quaymaster.cli.main", "query", "--instances", instances,
                           "attribute:stack != prod"], capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "i-2\n", "")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(), expressions(max_leaves=4))
def test_output_matches_the_reference_listing(tmp_path, capsys, data, expression):
    _, text = expression
    instances, tasks = data
    instance_path, task_path = tmp_path / "i.parquet", tmp_path / "t.parquet"
    pq.write_table(instances, instance_path)
    argv = ["--instances", str(instance_path)]
    if tasks is not None:
        pq.write_table(tasks, task_path)
        argv += ["--tasks", str(task_path)]
    code, out, _ = run(capsys, *argv, text)
    rows = cql_ref.rows_from_tables(instances, tasks)
    expected = [row["ec2InstanceId"] for row in rows
                if row["status"] != "INACTIVE" and cql_ref.evaluate(text, row)]
    assert code == 0 and out == "".join(f"{i}\n" for i in expected)
