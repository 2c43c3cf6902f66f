"""The README's commands work on a fresh environment: what they install covers what they run.

- the two commands are exactly ``pip install . && quaymaster demo`` and
  ``pip install '.[test]' && python -m pytest -q``, and CI (.ci/run) installs
  exactly ``.[test]`` and runs that pytest command and the type checker;
- every third-party module the test suite imports belongs to a distribution
  that ``.[test]`` requires (a fresh venv once lacked matplotlib);
- the README's benchmark command collects benchmarks.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_readme_gives_the_two_commands():
    assert "pip install . && quaymaster demo" in README
    assert "pip install '.[test]' && python -m pytest -q" in README


def test_ci_installs_the_test_extra_and_runs_the_readme_command():
    commands = [line.strip() for line in CI.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    installs = [c for c in commands if "pip install" in c and "--upgrade pip" not in c]
    assert installs == ["python -m pip install --quiet '.[test]'"]
    assert "python -m pytest -q" in commands
    assert "python -m mypy" in commands


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def required_by_test_extra() -> set[str]:
    """Distributions ``.[test]`` requires directly, extras of quaymaster expanded."""
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    names = {_name(r) for r in project["dependencies"]}
    pending, seen = ["test"], set()
    while pending:
        extra = pending.pop()
        seen.add(extra)
        for requirement in extras[extra]:
            nested = re.fullmatch(r"quaymaster\[(.+)\]", requirement.replace(" ", ""))
            if nested:
                pending += [e for e in nested.group(1).split(",") if e not in seen]
            else:
                names.add(_name(requirement))
    return names


def _imported_top_levels(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_of_the_suite_is_installed_by_the_test_extra():
    local = {p.stem for p in (ROOT / "tests").rglob("*.py")} | {p.name for p in (ROOT / "tests").rglob("*")
                                                               if p.is_dir()} | {"quaymaster"}
    third_party = _imported_top_levels(ROOT / "tests") - set(sys.stdlib_module_names) - local
    owners = importlib.metadata.packages_distributions()
    required = required_by_test_extra()
    missing = {}
    for module in sorted(third_party):
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not distributions & required:
            missing[module] = sorted(distributions)
    assert not missing, f"imported by tests/ but not installed by '.[test]': {missing}"


def test_the_test_extra_has_what_the_suite_drives():
    required = required_by_test_extra()
    for name in ("matplotlib", "pytest-benchmark", "uvicorn", "dask", "boto3", "awscli", "oras", "mypy",
                 "pytest", "hypothesis"):
        assert name in required, name


def test_the_benchmark_command_collects_benchmarks():
    assert "python -m pytest benchmarks" in README
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "--bench-quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    files = {line.split("::")[0] for line in collected}
    assert {"benchmarks/bench_placement.py", "benchmarks/bench_cql.py"} <= files, files
