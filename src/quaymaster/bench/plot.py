"""Pictures of a benchmark report: B4's growth and B2's per-call latency, as one image.

``quaymaster bench --plot OUT.png`` draws one figure with up to two panels:

- B4 (left): each cell's median time against (n + t) * log2(n) on log-log axes,
  one series per instance count, with a dashed line of slope 1 through the
  median cell. Points that follow the line mean cost grows like (n + t) log n;
  a steeper cloud means something grows faster.
- B2 (right): a histogram of the per-call times of the timed run_task calls, in
  microseconds (log x when the tail is long), with lines at the median, the p99
  and the target.

Data preparation (:func:`plot_data`) needs only NumPy, so it can be tested and
reused without matplotlib; drawing (:func:`write_plot`) imports matplotlib
lazily and uses the Agg canvas directly (no pyplot, no display, no global
backend switch), so it works on a headless machine and inside other programs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quaymaster.bench.report import GrowthCell, Report, Row
from quaymaster.bench.timing import format_seconds, growth_model

PLOT_KEYS = ("B4", "B2")            # the scenarios drawn, left to right
INSTALL_HINT = "pip install 'quaymaster[plot]'"
# A tail this many times the median makes a linear histogram one spike and a long empty axis.
LONG_TAIL_RATIO = 10.0
HISTOGRAM_BINS = 60


@dataclass(frozen=True)
class GrowthSeries:
    """The measured B4 cells of one instance count, by increasing task count."""

    instances: int
    tasks: tuple[int, ...]
    work: tuple[float, ...]        # (n + t) * log2(n) of each cell
    seconds: tuple[float, ...]     # each cell's median time


@dataclass(frozen=True)
class GrowthPanel:
    """Everything the B4 panel draws."""

    series: tuple[GrowthSeries, ...]
    reference_ns: float            # the median cell's time / ((n + t) log2 n), in ns
    reference_cell: tuple[int, int]  # (instances, tasks) of that cell
    slope: float | None            # the fitted slope the B4 row reports
    skipped: int                   # cells not run (they need --full)

    def reference_line(self) -> tuple[np.ndarray, np.ndarray]:
        """Two points of the slope-1 line over the measured work range: (work, seconds)."""
        work = np.array([min(min(s.work) for s in self.series), max(max(s.work) for s in self.series)])
        return work, work * self.reference_ns * 1e-9


@dataclass(frozen=True)
class LatencyPanel:
    """Everything the B2 panel draws; ``micros`` is empty when the report kept only a summary."""

    micros: np.ndarray             # per-call times, microseconds
    median_us: float
    p99_us: float
    target_us: float | None
    calls: int
    log_x: bool


@dataclass(frozen=True)
class PlotData:
    growth: GrowthPanel | None
    latency: LatencyPanel | None
    title: str


# -- data preparation (NumPy only) -----------------------------------------------


def growth_series(cells: list[GrowthCell]) -> tuple[GrowthSeries, ...]:
    """One series per instance count over the cells that ran, tasks increasing."""
    measured = [c for c in cells if c.seconds is not None]
    series = []
    for instances in sorted({c.instances for c in measured}):
        row = sorted((c for c in measured if c.instances == instances), key=lambda c: c.tasks)
        series.append(GrowthSeries(instances, tuple(c.tasks for c in row),
                                   tuple(growth_model(c.instances, c.tasks) for c in row),
                                   tuple(float(c.seconds or 0.0) for c in row)))
    return tuple(series)


def median_cell(cells: list[GrowthCell]) -> GrowthCell | None:
    """The measured cell with the median time per unit of (n + t) log2 n (the lower
    middle one for an even count, so the reference line goes through a real cell)."""
    measured = sorted((c for c in cells if c.seconds is not None), key=lambda c: c.normalized_ns or 0.0)
    return measured[(len(measured) - 1) // 2] if measured else None


def growth_panel(cells: list[GrowthCell], row: Row | None) -> GrowthPanel | None:
    """The B4 panel, or None when no cell was measured."""
    middle = median_cell(cells)
    if middle is None:
        return None
    return GrowthPanel(growth_series(cells), middle.normalized_ns or 0.0, (middle.instances, middle.tasks),
                       row.measured if row is not None else None,
                       sum(c.seconds is None for c in cells))


def latency_panel(row: Row) -> LatencyPanel:
    """The B2 panel from the row's per-call times (``details["seconds"]``), or from its
    summary (median, p99) when the per-call times were not kept."""
    per_call = np.asarray(row.details.get("seconds") or [], dtype=np.float64) * 1e6
    if per_call.size:
        median, p99 = float(np.median(per_call)), float(np.percentile(per_call, 99))
        log_x = float(per_call.max()) > LONG_TAIL_RATIO * median
    else:
        median, p99, log_x = row.details["median"] * 1e6, row.details["p99"] * 1e6, False
    target = row.target.value * 1e6 if row.target is not None else None
    return LatencyPanel(per_call, median, p99, target,
                        int(per_call.size or row.details.get("calls_timed", 0)), log_x)


def machine_summary(meta: dict) -> str:
    """Cores, architecture and versions, without a date or a host name."""
    parts = [f"{meta['cpus']} cores" if meta.get("cpus") else None, meta.get("machine") or None,
             *(f"{name} {meta[name]}" for name in ("python", "numpy", "numba", "quaymaster")
               if meta.get(name))]
    return ", ".join(p for p in parts if p)


def plot_title(report: Report) -> str:
    """Three short lines (they must fit over one panel): the command that made the
    report, the machine, and the sizes and runs."""
    meta = report.meta
    runs = f"{meta['repeat']} timed run(s) each" if meta.get("repeat") else ""
    sizes = ", ".join(p for p in (f"{report.sizes} sizes", runs) if p)
    return "\n".join(p for p in (meta.get("command", "quaymaster bench"), machine_summary(meta), sizes)
                     if p)


def plot_data(report: Report) -> PlotData:
    """What :func:`write_plot` draws: the B4 and B2 panels (None where they did not run)."""
    rows = {row.key: row for row in report.rows}
    growth = growth_panel(report.growth, rows.get("B4")) if "B4" in rows else None
    latency = latency_panel(rows["B2"]) if "B2" in rows else None
    return PlotData(growth, latency, plot_title(report))


# -- drawing (matplotlib) ------------------------------------------------------------


def matplotlib_missing() -> bool:
    """True when matplotlib cannot be imported (the ``plot`` extra is not installed)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return True
    return False


def image_formats() -> set[str]:
    """File name extensions the Agg canvas can write (png, pdf, svg, ...)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return set(FigureCanvasAgg.get_supported_filetypes())


def _count_text(value: float) -> str:
    """10000 -> "10k", 2500000 -> "2.5M": short enough for a legend or a tick."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _seconds_text(seconds: float) -> str:
    """A duration as the text table prints it, with a real micro sign."""
    return format_seconds(seconds).replace(" us", " µs")


def _readable_log_axis(axis, text) -> None:
    """Ticks at 1, 2 and 5 per decade labelled by ``text`` (a number -> str), minor
    ticks unlabelled: matplotlib's default labels minor ticks of a short range as
    6x10^-4 and crowds them on a long one."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: text(value)))
    axis.set_minor_formatter(NullFormatter())


def draw_growth(ax, panel: GrowthPanel) -> None:
    """B4 on log-log axes: one marker series per instance count and the slope-1 line."""
    markers = "osD^vP"
    for index, series in enumerate(panel.series):
        tasks = ", ".join(_count_text(t) for t in series.tasks)
        ax.plot(series.work, series.seconds, marker=markers[index % len(markers)], linewidth=1.2,
                label=f"n = {_count_text(series.instances)} instances (t = {tasks})")
    work, seconds = panel.reference_line()
    n, t = panel.reference_cell
    ax.plot(work, seconds, linestyle="--", color="0.35", linewidth=1.2,
            label=(f"slope 1: time = {panel.reference_ns:.3g} ns x (n + t) log2 n\n"
                   f"(through the median cell, n = {_count_text(n)}, t = {_count_text(t)})"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    _readable_log_axis(ax.xaxis, _count_text)
    _readable_log_axis(ax.yaxis, _seconds_text)
    ax.set_xlabel("(n + t) * log2(n)   [n instances, t tasks]")
    ax.set_ylabel("time per cell (median of the timed runs)")
    slope = ("no fitted slope (needs cells of 5 ms or more)" if panel.slope is None
             else f"fitted slope {panel.slope:.2f} (1 = grows like (n + t) log n)")
    skipped = f"\n{panel.skipped} cell(s) skipped (they need --full)" if panel.skipped else ""
    ax.set_title(f"B4 growth: {slope}{skipped}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")  # the corner with the fewest points


def _histogram_bins(micros: np.ndarray, log_x: bool):
    if not log_x:
        return HISTOGRAM_BINS
    return np.geomspace(micros.min(), micros.max(), HISTOGRAM_BINS + 1)


def draw_latency(ax, panel: LatencyPanel) -> None:
    """B2: a histogram of per-call times with the median, the p99 and the target marked."""
    if panel.micros.size:
        ax.hist(panel.micros, bins=_histogram_bins(panel.micros, panel.log_x), color="tab:blue",
                alpha=0.75, label=f"{panel.calls:,} calls")
    else:
        ax.text(0.5, 0.5, "per-call times not in this report:\nmedian and p99 only",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.4")
    lines = [(panel.median_us, "median", "-", "black"), (panel.p99_us, "p99", "-.", "tab:orange")]
    if panel.target_us is not None:
        lines.append((panel.target_us, "target", ":", "tab:red"))
    for value, name, style, color in lines:
        ax.axvline(value, linestyle=style, color=color, linewidth=1.6,
                   label=f"{name} {value:.3g} µs")
    if panel.log_x:
        # A long tail is a few calls per bin beside thousands: log counts keep them visible.
        ax.set_xscale("log")
        _readable_log_axis(ax.xaxis, lambda micros: f"{micros:g}")
        if panel.micros.size:
            ax.set_yscale("log")
    log = ", log scale" if panel.log_x else ""
    ax.set_xlabel(f"time per run_task call (µs{log})")
    if panel.micros.size:
        ax.set_ylabel(f"calls per bin{log}")
    else:
        ax.set_yticks([])  # no histogram: a count axis would be meaningless
    ax.set_title(f"B2 latency: {panel.calls:,} timed run_task calls of 10 tasks", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")


def write_plot(report: Report, path: str) -> None:
    """Draw the report's B4 and B2 panels (whichever ran) into ``path``; the file
    name's extension picks the format. Raises ValueError when neither scenario ran."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = plot_data(report)
    panels = [(draw, panel) for draw, panel in ((draw_growth, data.growth),
                                                (draw_latency, data.latency)) if panel is not None]
    if not panels:
        raise ValueError(f"the report has none of {', '.join(PLOT_KEYS)} to plot")
    figure = Figure(figsize=(6.6 * len(panels), 5.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    for ax, (draw, panel) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        draw(ax, panel)  # type: ignore[arg-type]  # each draw is paired with its own panel
    figure.suptitle(data.title, fontsize=10)
    figure.savefig(path)
