"""``DIR/summary.png`` of a sweep: the variations side by side, one marker per variation.

Drawn only when asked (``quaymaster sweep --plot``, ``sweep(..., plot=True)``):
matplotlib is an optional extra, and a sweep must not fail after hours of
simulation for want of it, so the check comes before anything runs. Three
panels from the summary table: unserved demand per variation, cost per
variation (peak instances when the scenario has no prices), and one against
the other, each marker labelled by its varied values.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pyarrow as pa

from quaymaster.simulation.report import INSTALL_HINT, PlotUnavailableError
from quaymaster.sweep.paths import parse_path

DPI = 100
PANEL_HEIGHT = 3.2     # inches
MAX_TICK_LABELS = 40   # past this many variations the x axis names every k-th


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        raise PlotUnavailableError(f"the sweep plot needs matplotlib: {INSTALL_HINT}", field="--plot") from None


def variation_labels(table: pa.Table, paths: list[str]) -> list[str]:
    """``desiredCount=2, cpu=1000`` per row: the last step of each varied path (the whole path when
    two paths end alike) and its value."""
    names = [str(parse_path(p)[-1]) for p in paths]
    names = names if len(set(names)) == len(names) else list(paths)
    columns = [table.column(p).to_pylist() for p in paths]
    return [", ".join(f"{name}={_short(json.loads(values[row]))}" for name, values in zip(names, columns))
            for row in range(table.num_rows)]


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _figures(table: pa.Table) -> tuple[list[float], list[float], str]:
    """(unserved per row, second figure per row, its axis label)."""
    unserved = [float(v or 0) for v in table.column("unservedDemandTotal").to_pylist()]
    costs = table.column("cost").to_pylist() if "cost" in table.column_names else []
    if costs and any(c is not None for c in costs):
        return unserved, [math.nan if c is None else float(c) for c in costs], "cost (USD)"
    return unserved, [float(v) for v in table.column("peakInstances").to_pylist()], "peak instances"


def render_png(table: pa.Table, paths: list[str]) -> bytes:
    """The PNG bytes of the comparison; the same table gives the same bytes."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = variation_labels(table, paths)
    unserved, other, other_label = _figures(table)
    rows = list(range(table.num_rows))
    width = min(24.0, max(9.0, 0.45 * len(rows) + 4))
    figure = Figure(figsize=(width, 3 * PANEL_HEIGHT + 1.5), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    top, middle, bottom = figure.subplots(3, 1)
    step = max(1, math.ceil(len(rows) / MAX_TICK_LABELS))
    for ax, values, name, color in ((top, unserved, "unserved demand (CPU units)", "tab:red"),
                                    (middle, other, other_label, "tab:blue")):
        ax.plot(rows, values, marker="o", linestyle="none", color=color)
        ax.set_ylabel(name)
        ax.set_xticks(rows[::step], [f"{r}: {labels[r]}" for r in rows[::step]], rotation=35, ha="right",
                      fontsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    bottom.plot(other, unserved, marker="o", linestyle="none", color="tab:purple")
    at: dict = {}                  # variations with equal figures share one label ("0,1")
    for row in rows:
        at.setdefault((other[row], unserved[row]), []).append(str(row))
    for (x, y), names in at.items():
        bottom.annotate(",".join(names), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    bottom.set_xlabel(other_label)
    bottom.set_ylabel("unserved demand")
    bottom.grid(alpha=0.3)
    figure.suptitle(f"{len(rows)} variations of {', '.join(paths)} (markers numbered by variation)",
                    fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": "quaymaster"})
    return buffer.getvalue()


def write_summary_png(table: pa.Table, paths: list[str], out_dir) -> Path:
    path = Path(out_dir) / "summary.png"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(render_png(table, paths))
    partial.replace(path)
    return path
