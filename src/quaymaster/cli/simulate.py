"""``quaymaster simulate``: run a scenario of timed API calls and fleets on a virtual clock."""

from __future__ import annotations

import sys

from quaymaster.clock import parse_duration
from quaymaster.simulation import load_scenario
from quaymaster.simulation.run import Simulation


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "simulate", help=help_text, description=(
            "Run a scenario (JSON or YAML: timed ECS calls, fleets, workloads) on a virtual clock and "
            "write metrics, events, tasks and activities as Parquet plus summary.json. The same "
            "scenario and seed give byte-identical files. Exit 0 on success, 2 on an invalid scenario."))
    parser.add_argument("scenario", metavar="SCENARIO.json|yaml")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the tables and summary.json go")
    parser.add_argument("--until", metavar="DURATION", help="stop after this much virtual time (e.g. 6h)")
    parser.add_argument("--seed", type=lambda text: int(text, 0), metavar="N",
                        help="the region seed (default: the scenario's)")
    parser.add_argument("--plot", action="store_true",
                        help="also write DIR/report.png and a self-contained DIR/report.html (needs matplotlib)")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="show a progress bar (default: when stderr is a terminal)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--no-fast-paths", dest="fast_paths", action="store_false",
                        help="place tasks by placement's plain per-task scan (same output, slower: "
                             "a check of the fast paths)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    scenario = load_scenario(args.scenario)
    until = parse_duration(args.until, field="--until") if args.until else None
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    simulation = Simulation(scenario, seed=args.seed, fast_paths=args.fast_paths).run(until, progress)
    simulation.recorder.write(args.out)
    if args.plot:
        from quaymaster.simulation.report import write_report

        write_report(simulation.tables(), args.out, scenario=scenario)
    summary = simulation.summary()
    print(f"simulated {len(summary['services'])} services, {summary['tasks']} tasks, "
          f"{sum(summary['events'].values())} events; wrote {args.out}")
    return 0
