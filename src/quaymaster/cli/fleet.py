"""``quaymaster fleet``: generate a realistic fleet of container instances as Parquet."""

from __future__ import annotations

import argparse
import math

from quaymaster.errors import InvalidInputError
from quaymaster.fleet.catalog import load_catalog

EXAMPLES = """\
examples:
  quaymaster fleet --instances 5000 --azs 3 --seed 7 -o fleet.parquet
  quaymaster fleet --instances 200 --types 'm7g.*,c6g.*' -o arm.parquet
  quaymaster fleet --instances 1000 --types 'm5.*:3,g4dn.xlarge:1' -o mixed.parquet
  quaymaster fleet --list-types
"""


def parse_types(text: str) -> list[str] | dict[str, float]:
    """``--types``: ``a,b`` (names or patterns) or ``a:3,b:1`` (with shares), not a mix."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InvalidInputError(f"--types lists no instance type (got {text!r})", field="--types",
                                value=text)
    weighted = [":" in item for item in items]
    if not any(weighted):
        return items
    if not all(weighted):
        raise InvalidInputError(f"--types: give a share for every type or for none (got {text!r})",
                                field="--types", value=text)
    shares: dict[str, float] = {}
    for item in items:
        name, _, share_text = item.rpartition(":")
        try:
            share = float(share_text)
        except ValueError:
            share = math.nan
        if not name.strip() or not math.isfinite(share) or share <= 0:
            raise InvalidInputError(f"--types: {item!r} is not NAME:SHARE with a positive share",
                                    field="--types", value=item)
        if name.strip() in shares:
            raise InvalidInputError(f"--types: {name.strip()!r} is listed twice", field="--types",
                                    value=item)
        shares[name.strip()] = share
    return shares


def catalog_listing() -> str:
    """The catalog as a table: what each type registers with ECS."""
    rows = [("Type", "Arch", "vCPU", "CPU units", "Memory MiB", "ECS MiB", "Source", "GPUs",
             "ENI limit", "Weight")]
    for t in load_catalog().types.values():
        rows.append((t.name, t.architecture, str(t.vcpus), str(t.cpu_units), str(t.memory_mib),
                     str(t.ecs_memory_mib), t.ecs_memory_source, str(t.gpus), str(t.eni_limit),
                     f"{t.weight:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i in (0, 1, 6) else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in rows)


def run(args: argparse.Namespace) -> int:
    if args.list_types:
        print(catalog_listing())
        return 0
    if args.instances is None:
        raise InvalidInputError("--instances is required", field="--instances", value=None)
    if not args.output:
        raise InvalidInputError("-o/--output is required", field="--output", value=None)
    from quaymaster.fleet import generate_fleet, summarize_fleet  # numpy and pyarrow: not for --list-types
    from quaymaster.fleet.output import write_fleet

    types = parse_types(args.types) if args.types is not None else None
    table = generate_fleet(args.instances, azs=args.azs, seed=args.seed, region=args.region,
                           cluster=args.cluster, account=args.account, instance_types=types)
    path = write_fleet(table, args.output)
    if not args.quiet:
        print(f"Wrote {table.num_rows:,} instances to {path}\n")
        print(summarize_fleet(table))
    return 0


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "fleet", help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Generate an empty, ACTIVE fleet of ECS container instances from a catalog of real\n"
            "EC2 instance types (CPU units, the memory ECS registers, GPUs, ENI limits), spread\n"
            "round-robin over availability zones, and write it as Parquet in quaymaster's\n"
            "instance schema. The same arguments always give the same file."),
        epilog=EXAMPLES)
    parser.add_argument("-n", "--instances", type=int, metavar="N",
                        help="number of container instances (required)")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="Parquet file to write (required; folders are created)")
    parser.add_argument("--azs", type=int, default=3, metavar="K",
                        help="availability zones, 1 to 26 (default: 3)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of every random choice, 0 to 2^64-1 (default: 0)")
    parser.add_argument("--region", default="us-east-1",
                        help="AWS region; zones are REGION + a, b, ... (default: us-east-1)")
    parser.add_argument("--cluster", default="default", help="cluster name in the ARNs (default: default)")
    parser.add_argument("--account", default="000000000000",
                        help="12-digit account id in the ARNs (default: 000000000000)")
    parser.add_argument("--types", metavar="LIST",
                        help="restrict the instance types: names or patterns, comma-separated "
                             "('t3.large,m7g.*'), optionally with shares ('m5.*:3,c6g.*:1'); "
                             "default: the whole catalog with its weights")
    parser.add_argument("--list-types", action="store_true",
                        help="print the instance-type catalog and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the summary")
    parser.set_defaults(handler=run)
