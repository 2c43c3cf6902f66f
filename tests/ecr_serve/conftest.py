"""The ECR tests against real ``quaymaster serve`` processes (the endpoint's server helpers)."""

import pathlib
import sys

TESTS = pathlib.Path(__file__).resolve().parents[1]
for folder in (TESTS / "endpoint", TESTS / "ecr", pathlib.Path(__file__).parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
