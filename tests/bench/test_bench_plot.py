"""``quaymaster bench --plot``: the image is written, its data is the report's, and
the command refuses cleanly without matplotlib.

No pixels and no timings are compared: the PNG is checked for its signature and
size, and the series are checked on a small hand-made report.
"""

from __future__ import annotations

import math
import re
import struct
import sys

import numpy as np
import pytest

from quaymaster.bench.plot import latency_panel, median_cell, plot_data, write_plot
from quaymaster.bench.report import GrowthCell, Report, Row
from quaymaster.bench.runs import TARGETS
from quaymaster.cli.main import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
META = {"cpus": 2, "machine": "x86_64", "python": "3.11.7", "numpy": "1.26.4", "numba": "0.59.1",
        "quaymaster": "0.1.0", "repeat": 3, "command": "quaymaster bench --scenarios B2,B4"}


def png_size(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def hand_made_report(latency_seconds: list[float] | None = None) -> Report:
    """Two instance counts, cells given out of order, one cell skipped; a B2 row whose
    per-call times (when given) are what the histogram must show."""
    growth = [GrowthCell(1000, 100_000, 0.004), GrowthCell(4, 20, 2e-6), GrowthCell(1000, 10_000, 0.001),
              GrowthCell(4, 100, 5e-6), GrowthCell(4, 1_000_000, None)]
    details = {"median": 20e-6, "p99": 90e-6, "calls_timed": 500}
    if latency_seconds is not None:
        details["seconds"] = latency_seconds
    rows = [Row("B4", "growth", "4 of 5 cells", 1.05, "slope 1.05", None, TARGETS["B4"]),
            Row("B2", "run_task latency", "5000 inst", 20e-6, "20 us/call", None, TARGETS["B2"],
                details=details)]
    return Report("full", rows, growth, dict(META))


def test_quick_bench_writes_a_two_panel_png(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["bench", "--quick", "--scenarios", "B2,B4", "--plot", "out.png", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "wrote out.png" in captured.err
    image = tmp_path / "out.png"
    width, height = png_size(image)
    assert width > height >= 400  # two panels side by side
    assert image.stat().st_size > 20_000  # axes, text and data, not a blank canvas
    from matplotlib.image import imread

    assert imread(image).shape[:2] == (height, width)


def test_one_scenario_gives_one_panel(tmp_path):
    both, growth_only = tmp_path / "both.png", tmp_path / "b4.png"
    report = hand_made_report([20e-6] * 10)
    write_plot(report, str(both))
    report.rows = [r for r in report.rows if r.key == "B4"]
    write_plot(report, str(growth_only))
    (wide, tall), (narrow, same_tall) = png_size(both), png_size(growth_only)
    assert tall == same_tall and narrow < wide * 0.6


def test_growth_series_follow_the_report_cells():
    data = plot_data(hand_made_report())
    series = data.growth.series
    assert [s.instances for s in series] == [4, 1000]
    assert series[0].tasks == (20, 100)  # sorted by tasks; the skipped 1M cell left out
    assert series[1].tasks == (10_000, 100_000)
    assert series[0].seconds == (2e-6, 5e-6) and series[1].seconds == (0.001, 0.004)
    # (n + t) * log2(n): n = 4 gives log2 = 2, so (4 + 20) * 2 = 48 and (4 + 100) * 2 = 208
    assert series[0].work == pytest.approx((48.0, 208.0))
    assert series[1].work == pytest.approx(((1000 + 10_000) * math.log2(1000),
                                            (1000 + 100_000) * math.log2(1000)))
    assert data.growth.skipped == 1 and data.growth.slope == 1.05


def test_reference_line_has_slope_one_through_the_median_cell():
    panel = plot_data(hand_made_report()).growth
    # ns per unit: 2e-6/48 = 41.7, 5e-6/208 = 24.0, 0.001/110e3/9.97 = 0.91, 0.004/1.01e6/9.97 = 0.40;
    # of four, the lower middle one is n = 1000, t = 10k
    assert panel.reference_cell == (1000, 10_000)
    assert panel.reference_ns == pytest.approx(0.001 / ((1000 + 10_000) * math.log2(1000)) * 1e9)
    work, seconds = panel.reference_line()
    assert work[0] == pytest.approx(48.0) and work[1] == pytest.approx(101_000 * math.log2(1000))
    slope = (math.log(seconds[1]) - math.log(seconds[0])) / (math.log(work[1]) - math.log(work[0]))
    assert slope == pytest.approx(1.0)
    cell_work = (1000 + 10_000) * math.log2(1000)
    assert np.interp(math.log(cell_work), np.log(work), np.log(seconds)) == pytest.approx(
        math.log(0.001))


def test_median_cell_of_an_odd_count_is_the_middle_one():
    cells = [GrowthCell(2, 2, 4.0), GrowthCell(2, 2, 1.0), GrowthCell(2, 2, 9.0), GrowthCell(2, 2, None)]
    assert median_cell(cells).seconds == 4.0
    assert median_cell([GrowthCell(2, 2, None)]) is None


def test_latency_panel_is_the_per_call_times_in_microseconds():
    times = [10e-6] * 98 + [50e-6, 500e-6]
    panel = plot_data(hand_made_report(times)).latency
    assert panel.micros == pytest.approx(np.array(times) * 1e6)
    assert panel.calls == 100 and panel.median_us == pytest.approx(10.0)
    assert panel.p99_us == pytest.approx(np.percentile(np.array(times) * 1e6, 99))
    assert panel.target_us == pytest.approx(30.0)
    assert panel.log_x  # the slowest call is 50 times the median
    assert not plot_data(hand_made_report([10e-6, 11e-6, 12e-6])).latency.log_x


def test_latency_panel_without_per_call_times_uses_the_summary(tmp_path):
    report = hand_made_report()
    panel = latency_panel(report.rows[1])
    assert panel.micros.size == 0 and panel.calls == 500
    assert panel.median_us == pytest.approx(20.0) and panel.p99_us == pytest.approx(90.0)
    write_plot(report, str(tmp_path / "summary.png"))
    png_size(tmp_path / "summary.png")


def test_title_names_the_command_and_machine_without_a_date():
    title = plot_data(hand_made_report()).title
    assert title.splitlines()[0] == "quaymaster bench --scenarios B2,B4"
    for part in ("2 cores", "x86_64", "numpy 1.26.4", "numba 0.59.1", "full sizes", "3 timed run(s)"):
        assert part in title
    assert not re.search(r"\d{4}-\d{2}-\d{2}", title)


def test_without_matplotlib_plot_exits_2_before_timing(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    out = tmp_path / "out.png"
    assert main(["bench", "--quick", "--scenarios", "B2,B4", "--plot", str(out)]) == 2
    captured = capsys.readouterr()
    assert "pip install 'quaymaster[plot]'" in captured.err
    assert captured.out == "" and not out.exists()


@pytest.mark.parametrize("scenarios, name, message", [
    ("B1", "out.png", "runs neither"),
    ("B2", "out.txt", "image format"),
    ("B2", "missing/out.png", "does not exist"),
])
def test_plot_refuses_what_it_cannot_draw(tmp_path, capsys, scenarios, name, message):
    out = tmp_path / name
    assert main(["bench", "--quick", "--scenarios", scenarios, "--plot", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "--plot" in captured.err
    assert captured.out == "" and not out.exists()
