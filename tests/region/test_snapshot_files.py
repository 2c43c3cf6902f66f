"""What a region snapshot is on disk: Parquet tables the clusters are rebuilt from and JSON files
any JSON reader parses, nothing else; a malformed snapshot is refused with a typed error naming
what is wrong, and the region it was being loaded into keeps its state."""

import copy
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quaymaster.endpoint.journal import Journal
from quaymaster.errors import SnapshotError
from quaymaster.region import Region
from test_region_snapshot import PRELUDE, step, views


def busy_region(seed=5):
    region = Region(seed=seed)
    for i, (kind, a, b) in enumerate(PRELUDE + [(13, 0, 0), (3, 0, 1), (5, 1, 1), (8, 200, 0), (21, 1, 1),
                                                (16, 1, 0), (8, 60, 0)]):
        step(region, f"h{i}", kind, a, b)
    return region


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    region = busy_region()
    directory = tmp_path_factory.mktemp("state")
    journal = Journal(directory)
    journal.write_snapshot(7, {region.name: region.export_state()})
    journal.close()
    return region, directory, directory / "snapshot-000000000007"


def read_back(directory):
    journal = Journal(directory)
    try:
        return journal.latest_snapshot()[1]
    finally:
        journal.close()


def test_the_snapshot_is_parquet_and_json_only(written):
    region, _, snapshot = written
    files = sorted(p.name for p in snapshot.iterdir())
    assert files and all(name.endswith((".parquet", ".json")) for name in files), files
    for name in files:
        if name.endswith(".json"):
            json.loads((snapshot / name).read_text())       # the standard library reads every one
        else:
            pq.read_table(snapshot / name)
    assert {f"us-east-1.{kind}.{c}.parquet" for c in ("c0", "c1") for kind in ("instances", "tasks")} <= set(files)
    for component in ("clusters", "lifecycle", "scheduler", "scaling", "task_definitions", "ecr", "clock"):
        assert f"us-east-1.{component}.json" in files
    text = "".join((snapshot / n).read_text() for n in files if n.endswith(".json"))
    assert "pickle" not in text and '"$type": "' not in text.replace('"$type":"quaymaster.', "")


def test_the_clusters_are_built_from_the_parquet_tables(written, tmp_path):
    # An attribute written into the instance table shows in the loaded region: the table is the
    # state, not a copy beside it.
    region, directory, snapshot = written
    copied = tmp_path / "state"
    _copy_tree(directory, copied)
    path = copied / snapshot.name / "us-east-1.instances.c0.parquet"
    table = pq.read_table(path)
    tier = pa.array(["gold"] + [None] * (table.num_rows - 1), pa.string())
    pq.write_table(table.append_column("attribute:tier", tier), path)
    loaded = Region(seed=region.seed, blobs=region.ecr.blobs)
    loaded.import_state(read_back(copied)["us-east-1"])
    arn = table.column("container_instance_arn")[0].as_py()
    described = loaded.handle("ecs", "DescribeContainerInstances", {"cluster": "c0", "containerInstances": [arn]})
    assert {"name": "tier", "value": "gold"} in described["containerInstances"][0]["attributes"]
    assert loaded.handle("ecs", "ListContainerInstances", {"cluster": "c0", "filter": "attribute:tier == gold"}
                         )["containerInstanceArns"] == [arn]


@pytest.mark.parametrize("damage", ["missing", "truncated", "not parquet"])
def test_a_missing_or_corrupted_parquet_file_is_refused(written, tmp_path, damage):
    _, directory, snapshot = written
    copied = tmp_path / "state"
    _copy_tree(directory, copied)
    path = copied / snapshot.name / "us-east-1.tasks.c1.parquet"
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    else:
        path.write_text('{"tasks": []}')
    with pytest.raises(SnapshotError, match="us-east-1.tasks.c1.parquet"):
        read_back(copied)


def test_a_table_that_does_not_match_its_cluster_is_refused_and_nothing_changes(written):
    region, directory, _ = written
    state = read_back(directory)["us-east-1"]
    target = busy_region(seed=9)
    before = views(target)
    fewer = dict(state, **{"tasks.c0": state["tasks.c0"].slice(1)})     # a live task left out
    with pytest.raises(SnapshotError, match="c0"):
        target.import_state(fewer)
    assert views(target) == before
    arns = state["tasks.c0"].column("task_arn").to_pylist()
    other = state["tasks.c0"].set_column(0, "task_arn", pa.array(
        ["arn:aws:ecs:us-east-1:123456789012:task/c0/" + "0" * 32] + arns[1:]))
    with pytest.raises(SnapshotError, match="task ARNs"):
        target.import_state(dict(state, **{"tasks.c0": other}))
    assert views(target) == before


def _damaged(state, component, change):
    broken = copy.deepcopy({k: v for k, v in state.items() if not hasattr(v, "schema")})
    change(broken[component])
    return {**state, **broken}


def _first_typed(value, wanted):
    """The first JSON object under ``value`` whose $type ends with ``wanted``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if str(item.get("$type", "")).endswith(wanted):
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(wanted)


MALFORMED = {
    "unknown type": (lambda c: _first_typed(c, "Lifecycle").update({"$type": "quaymaster.nowhere.Thing"}),
                     "lifecycle", "quaymaster.nowhere.Thing"),
    "type outside quaymaster": (lambda c: _first_typed(c, "Lifecycle").update({"$type": "this.Anything"}),
                                "lifecycle", "not a quaymaster class"),
    "builtin as object": (lambda c: _first_typed(c, "Lifecycle").update({"$type": "subprocess.Popen"}),
                          "lifecycle", "subprocess.Popen"),
    "cluster internals": (lambda c: _first_typed(c, "Lifecycle").update({
        "$type": "quaymaster.model.state_owner.PortSet"}), "lifecycle", "PortSet"),
    "foreign function": (lambda c: c.update({"deregistration_delay_ms": {"$function": "os.system"}}),
                         "lifecycle", "os.system"),
    "dunder method": (lambda c: c.update({"pull_error": {"$method": "__init__", "self": {"$root": "region"}}}),
                      "lifecycle", "__init__"),
    "dangling ref": (lambda c: c.update({"_times": {"$ref": 999999}}), "lifecycle", "999999"),
    "unknown tag": (lambda c: c.update({"_times": {"$pickle": "gASV"}}), "lifecycle", r"\$pickle"),
    "bad base64": (lambda c: c.update({"_times": {"$bytes": "not base64!"}}), "lifecycle", "lifecycle"),
    "unknown root": (lambda c: c.update({"_release": {"$method": "_release", "self": {"$root": "os"}}}),
                     "lifecycle", "os"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_json_is_refused_with_a_typed_error_and_nothing_changes(written, name):
    region, directory, _ = written
    state = read_back(directory)["us-east-1"]
    change, component, message = MALFORMED[name]
    target = busy_region(seed=9)
    before = views(target)
    imported = set(sys.modules)
    with pytest.raises(SnapshotError, match=message):
        target.import_state(_damaged(state, component, change))
    assert views(target) == before
    assert not {m for m in set(sys.modules) - imported if not m.startswith("quaymaster")}   # nothing imported


def test_bad_json_text_and_a_missing_component_are_refused(written, tmp_path):
    _, directory, snapshot = written
    copied = tmp_path / "state"
    _copy_tree(directory, copied)
    (copied / snapshot.name / "us-east-1.scheduler.json").write_text('{"$type": ')
    with pytest.raises(SnapshotError, match="us-east-1.scheduler.json"):
        read_back(copied)
    state = read_back(directory)["us-east-1"]
    del state["scaling"]
    with pytest.raises(SnapshotError, match="scaling"):
        Region(seed=5).import_state(state)


def test_state_a_snapshot_cannot_hold_is_refused_when_written():
    region = busy_region()
    region.schedule(region.clock.now + 60_000, lambda: None)     # a scenario's timed call: a lambda
    with pytest.raises(SnapshotError, match="_calls"):
        region.export_state()


def _copy_tree(source, target):
    import shutil
    shutil.copytree(source, target)
