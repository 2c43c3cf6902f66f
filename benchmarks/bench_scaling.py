"""S3: a day of scaling, checked before it is timed, against the plain run of the same scenario.

    PYTHONPATH=src python benchmarks/bench_scaling.py [--services 200] [--scale 0.8] [--duration 24h]
                                                      [--instances 50] [--no-baseline] [--previous SRC]
                                                      [--json out.json]
    PYTHONPATH=src python -m pytest benchmarks/bench_scaling.py                 # the issue's sizes
    PYTHONPATH=src python -m pytest benchmarks/bench_scaling.py --bench-quick   # small sizes

The scenario is ``quaymaster.bench.scaling_scenarios.s3_scenario``: services
with target tracking on CPU over a diurnal load (peak 10x the trough, 5%
noise) on three capacity providers (ASG-backed, managed scaling) over three
zones, 24 h at 1-minute metrics. The same scenario first runs the plain way
(``fast_paths=False``: placement's per-task scan; ``jump_ticks=False``: every
tick visited while a group exists); its tables and summary must equal the
fast run's (the check); then the fast run is timed. Reported: wall time,
instance-minutes simulated per second, the plain run's time and the ratio;
with ``--previous SRC``, also the previous implementation's time in a fresh
interpreter (its outputs' digest must equal this run's).
The machine's cores may be shared: compare ratios from one run, not runs.
"""

from __future__ import annotations

import argparse

from quaymaster.bench.scaling import s3_figures
from quaymaster.bench.report import emit_figures


def check(figures: dict) -> None:
    assert figures.get("differences", []) == [], f"fast and plain runs differ: {figures['differences']}"
    assert figures.get("previous", {}).get("same_outputs", True), "the previous implementation's outputs differ"
    assert figures["peak_instances"] >= 2 * max(1, figures["start_instances"]), figures


def test_s3(benchmark, sizes, summary):
    services, scale, duration, instances = sizes.s3
    figures = benchmark.pedantic(s3_figures, args=(services,), rounds=1,
                                 kwargs={"scale": scale, "duration": duration, "instances": instances})
    check(figures)
    benchmark.extra_info.update(figures)
    summary("S3", f"S3 {services} services {duration}: {figures['wall_s']:.2f} s (target <= 10 s), "
                  f"{figures['instance_minutes_per_s']:,.0f} instance-minutes/s, plain run "
                  f"{figures['plain_wall_s']:.2f} s ({figures['speedup']:.2f}x)")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--scale", type=float, default=0.8)
    parser.add_argument("--duration", default="24h")
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the plain run (and so the equality check)")
    parser.add_argument("--previous", metavar="SRC",
                        help="also time the previous implementation: a folder holding its quaymaster "
                             "package (e.g. git archive main src, with the built _native extension "
                             "copied in); its outputs must equal this one's")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    figures = s3_figures(args.services, scale=args.scale, duration=args.duration, instances=args.instances,
                         baseline=args.baseline, previous=args.previous)
    check(figures)
    return emit_figures(figures, args.json)


if __name__ == "__main__":
    main()
