"""summarize_fleet: the numbers it prints are the table's."""

from __future__ import annotations

import re
from collections import Counter

import pyarrow as pa
import pytest

from quaymaster.errors import InvalidInputError
from quaymaster.fleet import generate_fleet, summarize_fleet


def _rows(text: str, header: str) -> dict[str, list[str]]:
    """The rows of the block that starts with ``header``: first cell -> other cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells[1:]
    return rows


def _number(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_zone_type_and_total_figures_match_the_table():
    table = generate_fleet(3000, azs=4, seed=12)
    text = summarize_fleet(table, max_types=None)
    assert text.startswith("Fleet: 3,000 instances, 4 zones, ")
    zones = _rows(text, "Zone")
    expected_zones = Counter(table.column("attribute:ecs.availability-zone").to_pylist())
    assert {z: _number(cells[0]) for z, cells in zones.items()} == dict(expected_zones)
    types = _rows(text, "Instance type")
    expected_types = Counter(table.column("attribute:ecs.instance-type").to_pylist())
    assert {t: _number(cells[0]) for t, cells in types.items()} == dict(expected_types)
    counts = [_number(cells[0]) for cells in types.values()]
    assert counts == sorted(counts, reverse=True)
    totals = _rows(text, "Total")
    cpu = sum(table.column("cpu_registered").to_pylist())
    assert _number(totals["CPU units"][0]) == cpu == _number(totals["CPU units"][1])
    assert totals["CPU units"][2] == f"{cpu / 1024:,.0f} vCPU"
    assert _number(totals["Memory MiB"][0]) == sum(table.column("memory_registered").to_pylist())
    assert _number(totals["GPUs"][0]) == sum(table.column("gpu_registered").to_pylist())


def test_types_beyond_the_limit_fold_into_one_row():
    table = generate_fleet(2000, seed=1)
    types = _rows(summarize_fleet(table, max_types=5), "Instance type")
    assert len(types) == 6
    folded = [name for name in types if name.endswith("more)")]
    assert len(folded) == 1
    assert sum(_number(cells[0]) for cells in types.values()) == 2000
    distinct = len(set(table.column("attribute:ecs.instance-type").to_pylist()))
    assert folded[0] == f"({distinct - 5} more)"


def test_summary_of_partial_and_empty_tables():
    table = generate_fleet(50, seed=2)
    partial = table.select(["ec2_instance_id", "cpu_registered", "memory_registered"])
    text = summarize_fleet(partial)
    assert "GPUs" not in text
    assert _rows(text, "Zone") == {"(none)": ["50", f"{sum(partial.column('cpu_registered').to_pylist()):,}",
                                              f"{sum(partial.column('memory_registered').to_pylist()):,}"]}
    assert summarize_fleet(generate_fleet(0)).startswith("Fleet: 0 instances, 0 zones, 0 instance types")


@pytest.mark.parametrize("arguments, field", [((None,), "table"), (({"a": [1]},), "table"),
                                              ((pa.table({}), -1), "max_types"),
                                              ((pa.table({}), "12"), "max_types")])
def test_bad_arguments_are_refused(arguments, field):
    with pytest.raises(InvalidInputError) as info:
        summarize_fleet(*arguments)
    assert info.value.field == field


def test_unknown_remaining_is_left_blank():
    table = generate_fleet(10, seed=2)
    index = table.column_names.index("cpu_remaining")
    table = table.set_column(index, "cpu_remaining", pa.nulls(10, pa.int64()))
    totals = _rows(summarize_fleet(table), "Total")
    assert len(totals["CPU units"]) == 2  # registered and vCPU, remaining blank
    assert len(totals["Memory MiB"]) == 3
