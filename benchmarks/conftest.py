"""pytest plumbing for the benchmarks (run them explicitly: they are not tests).

    pytest benchmarks/bench_placement.py                 # the issue's sizes
    pytest benchmarks/bench_placement.py --bench-quick   # small sizes, a smoke run
    pytest benchmarks/bench_placement.py --bench-full    # also B4's biggest cells

- ``tests/`` goes on ``sys.path`` so the pure-Python reference imports.
- ``sizes`` and ``reference`` fixtures; B4's cells are parametrised from the
  chosen sizes at collection time (cells above the default work are not
  generated at all unless ``--bench-full``).
- Each benchmark records its baselines and ratios in ``benchmark.extra_info``
  (they land in ``--benchmark-json``) and in a summary printed at the end.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from quaymaster.bench.reference import load_reference  # noqa: E402
from quaymaster.bench.scenarios import FULL, QUICK, b4_cells  # noqa: E402

_SUMMARY_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("quaymaster benchmarks")
    group.addoption("--bench-quick", action="store_true", help="small sizes (a smoke run)")
    group.addoption("--bench-full", action="store_true", help="also run B4's biggest cells")


def pytest_configure(config):
    config.stash[_SUMMARY_KEY] = {}


def sizes_of(config):
    return QUICK if config.getoption("--bench-quick") else FULL


def pytest_generate_tests(metafunc):
    if "growth_cell" in metafunc.fixturenames:
        cells, _ = b4_cells(sizes_of(metafunc.config), metafunc.config.getoption("--bench-full"))
        metafunc.parametrize("growth_cell", cells,
                             ids=[f"n{c.instances}-t{c.count}" for c in cells])


@pytest.fixture(scope="session")
def sizes(pytestconfig):
    return sizes_of(pytestconfig)


@pytest.fixture(scope="session")
def reference():
    module = load_reference()
    assert module is not None, "tests/reference/placement_ref.py not found"
    return module


@pytest.fixture
def summary(pytestconfig):
    """``summary(key, line)``: the end-of-run summary's line for a scenario (last one wins)."""
    return pytestconfig.stash[_SUMMARY_KEY].__setitem__


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(_SUMMARY_KEY, {})
    if lines:
        terminalreporter.section("quaymaster: targets and ratios (measured in this run)")
        for key in sorted(lines):
            terminalreporter.write_line(lines[key])
