"""The pictures of a simulation: ``report.png`` and a self-contained ``report.html`` beside it.

From the ``metrics``, ``events`` and ``activities`` tables: per service desired
vs running tasks and CPU utilization against the target of its target tracking
policy (when the scenario has one); per capacity provider N, M and
CapacityProviderReservation (when recorded); container instances; unserved
demand. With many services the picture shows the top ``top`` by unserved demand
(by peak desired count when nothing went unserved) and names the rest.
matplotlib is imported only here and only when a report is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path

from quaymaster.errors import InvalidInputError
from quaymaster.simulation.report.series import ReportData, policy_targets, report_data

DEFAULT_TOP = 6
INSTALL_HINT = "pip install 'quaymaster[plot]'"


class PlotUnavailableError(InvalidInputError):
    """A report was asked for but matplotlib is not installed."""


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        raise PlotUnavailableError(f"the report needs matplotlib: {INSTALL_HINT}", field="--plot") from None


def render(tables: dict, *, scenario=None, top: int = DEFAULT_TOP):
    """(figure, data): the report's matplotlib Figure and the series and choices behind it."""
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise InvalidInputError(f"top must be a positive integer, got {top!r}", field="top", value=top)
    _require_matplotlib()
    from quaymaster.simulation.report.figure import build_figure

    data = report_data(tables, scenario=scenario, top=top)
    return build_figure(data), data


def write_report(tables: dict, out_dir, *, scenario=None, top: int = DEFAULT_TOP) -> dict[str, Path]:
    """Write OUT_DIR/report.png and OUT_DIR/report.html; return their paths."""
    from quaymaster.simulation.report.figure import title
    from quaymaster.simulation.report.html import render_html

    figure, data = render(tables, scenario=scenario, top=top)
    buffer = io.BytesIO()
    # A fixed Software tag and no date keep the PNG the same for the same tables.
    figure.savefig(buffer, format="png", metadata={"Software": "quaymaster"})
    png = buffer.getvalue()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / "report.png", "html": out / "report.html"}
    paths["png"].write_bytes(png)
    paths["html"].write_text(render_html(data, tables, png, title(data)), encoding="utf-8")
    return paths


__all__ = ["DEFAULT_TOP", "PlotUnavailableError", "ReportData", "policy_targets", "render", "write_report"]
