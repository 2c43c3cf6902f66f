"""The ``quaymaster`` command as a process: pipes, and what a call costs in imports.

Each CLI call is a new interpreter, so what it imports is what a user waits
for; these tests pin that the cheap calls stay cheap (no numpy, pyarrow or
numba where the command does not need them).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from quaymaster.cli import query
from quaymaster.model.schema import INSTANCE_STATUSES

HEAVY = ("numpy", "pyarrow", "numba")


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    # The child imports quaymaster as this interpreter does (installed, or via the
    # caller's PYTHONPATH): never the bare source tree, which has no compiled core.
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level packages loaded once ``code`` ran in a new interpreter."""
    probe = (f"import sys\n{code}\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    done = python("-c", probe)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # a printed list of names


@pytest.mark.parametrize("command", [["fleet", "--list-types"], ["demo", "--help"], ["place", "--help"]])
def test_closed_pipe_is_no_traceback(command):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the child wrote (like `| head` that is done)
    try:
        child = subprocess.Popen([sys.executable, "-m", "quaymaster.cli.main", *command],
                                 stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = child.communicate(timeout=120)
    assert err == b"", err.decode()  # no traceback, no "Broken pipe" error message
    assert child.returncode == 0


def test_import_quaymaster_loads_no_numeric_stack():
    assert heavy_modules_after("import quaymaster\nquaymaster.NotFoundError, quaymaster.ServiceError") == []


def test_lazy_names_resolve_to_the_real_objects():
    from quaymaster.cluster import Cluster
    from quaymaster.placement.result import PlacementResult
    from quaymaster.taskdef import TaskDefinition

    import quaymaster

    assert (quaymaster.Cluster, quaymaster.PlacementResult, quaymaster.TaskDefinition) == (
        Cluster, PlacementResult, TaskDefinition)
    assert set(quaymaster.__all__) <= set(dir(quaymaster))
    for name in quaymaster.__all__:
        getattr(quaymaster, name)
    with pytest.raises(AttributeError):
        quaymaster.no_such_name  # noqa: B018


def test_every_error_class_is_exported():
    import quaymaster
    import quaymaster.errors as errors

    classes = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__}
    assert classes <= set(quaymaster.__all__)
    assert all(getattr(quaymaster, name) is getattr(errors, name) for name in classes)


def test_listing_the_catalog_loads_no_numeric_stack():
    code = "from quaymaster.cli.main import main\nimport contextlib, io\n" \
           "with contextlib.redirect_stdout(io.StringIO()):\n    main(['fleet', '--list-types'])"
    assert heavy_modules_after(code) == []


def test_a_small_query_does_not_load_numba(tmp_path):
    from quaymaster.fleet import generate_fleet
    import pyarrow.parquet as pq

    pq.write_table(generate_fleet(300, azs=3, seed=1), tmp_path / "fleet.parquet")
    code = ("from quaymaster.cli.main import main\n"
            f"assert main(['query', '--instances', {str(tmp_path / 'fleet.parquet')!r}, "
            "'attribute:ecs.instance-type =~ m5.* and runningTasksCount == 0']) == 0")
    loaded = heavy_modules_after(code)
    assert "numba" not in loaded and "pyarrow" in loaded


def test_query_statuses_are_the_schemas():
    assert query.INSTANCE_STATUSES == INSTANCE_STATUSES
