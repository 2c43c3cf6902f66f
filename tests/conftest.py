"""Shared test setup.

- ``tests/`` is put on ``sys.path`` so test modules can import the reference
  implementations (``from reference.placement_ref import ...``), which live
  with the tests and never ship with the library.
- Hypothesis profiles: ``ci`` (selected by HYPOTHESIS_PROFILE=ci, as .ci/run
  does) is derandomized so a CI run is repeatable; ``dev`` is the default.
"""

import os
import pathlib
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(pathlib.Path(__file__).parent))

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
