"""``quaymaster demo``: a guided tour, as a list of small steps.

Each step is a function ``step(context) -> None`` that reads and adds to a
shared :class:`~quaymaster.demo.steps.DemoContext` (the fleet, files written,
text printed); the steps live in :mod:`quaymaster.demo.steps`. Later steps
(services, scaling) are appended to ``STEPS``; ``run_demo`` runs a list of
steps in order.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from quaymaster.demo.simulation import simulation_step
from quaymaster.demo.steps import DemoContext, Step, bulk_step, fleet_step, query_step, wordpress_step

DEFAULT_OUT_DIR = "quaymaster-demo"

#: The demo, in order. Append (title, step) pairs to extend it.
STEPS: list[tuple[str, Step]] = [
    ("fleet", fleet_step),
    ("query", query_step),
    ("wordpress", wordpress_step),
    ("bulk", bulk_step),
    ("simulation", simulation_step),
]


def run_demo(out_dir: str | Path = DEFAULT_OUT_DIR, *, seed: int = 0,
             steps: Sequence[tuple[str, Step]] | None = None,
             stream: TextIO | None = None) -> DemoContext:
    """Run ``steps`` (default: ``STEPS``) in order and return the shared context."""
    context = DemoContext(out_dir=Path(out_dir), seed=seed, stream=stream or sys.stdout)
    for index, (_, step) in enumerate(STEPS if steps is None else steps):
        if index:
            context.say()
        step(context)
    return context


def run(args: argparse.Namespace) -> int:
    run_demo(args.out_dir, seed=args.seed)
    return 0


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "demo", help=help_text,
        description=("Generate a 1,000-instance fleet over 3 availability zones (written to "
                     f"./{DEFAULT_OUT_DIR}/fleet.parquet), select instances with a cluster query, "
                     "place the seed's wordpress task definition until its host port runs out, "
                     "time a bulk placement, then simulate a day of three services with a daily load, "
                     "target tracking on CPU and a capacity provider with managed scaling, and draw the "
                     "report (simulation/report.png and report.html). Steps: "
                     + ", ".join(title for title, _ in STEPS) + "."))
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR, metavar="DIR",
                        help=f"folder for the demo's files (default: ./{DEFAULT_OUT_DIR})")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default: 0)")
    parser.set_defaults(handler=run)
