"""The report picture: one row of two panels per shown service and per capacity provider (N and M
and reservation for Auto Scaling group providers; tasks and vCPU/memory held for Fargate), then capacity
and unserved demand, on a shared axis of hours since the start. Needs matplotlib (imported lazily)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import numpy as np

from quaymaster.simulation.report.series import Key, ReportData

ROW_HEIGHT = 2.5    # inches per row of panels
WIDTH = 14.0
DPI = 100
NAMED_LEFT_OUT = 5  # services named in the picture's title; report.html lists them all
TITLE_WIDTH = 150   # characters per title line


def _label(key: Key) -> str:
    return f"{key[1]}/{key[2]}"


def _plot(ax, data: ReportData, key: Key, metric: str, label: str, **style) -> bool:
    series = data.series(key, metric)
    if series is None:
        return False
    ax.step(series[0], series[1], where="post", label=label, **style)
    return True


def _lines(ax, data: ReportData, key: Key, title: str, lines, ncol: int = 1) -> None:
    """A panel of ``(metric, label, style)`` step lines from zero up, with its title and legend."""
    for metric, label, style in lines:
        _plot(ax, data, key, metric, label, **style)
    ax.set_title(title, loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=ncol)


def _service_counts(ax, data: ReportData, key: Key) -> None:
    _lines(ax, data, key, f"{_label(key)}: tasks", [
        ("desiredCount", "desired", dict(color="black", linestyle="--", linewidth=1.2)),
        ("runningCount", "running", dict(color="tab:blue", linewidth=1.6)),
        ("pendingCount", "pending", dict(color="tab:orange", linewidth=0.9, alpha=0.8))], ncol=3)


def _service_cpu(ax, data: ReportData, key: Key) -> None:
    ax.set_title(f"{_label(key)}: CPU utilization %", loc="left", fontsize=10)
    if not _plot(ax, data, key, "CPUUtilization", "CPU utilization", color="tab:green", linewidth=1.2):
        ax.text(0.5, 0.5, "no workload for this service", transform=ax.transAxes, ha="center", color="gray")
    target = data.targets.get((key[1], key[2]))
    if target is not None:
        ax.axhline(target, color="tab:red", linestyle=":", linewidth=1.4, label=f"target {target:g}%")
    ax.set_ylim(0, 105)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _provider_nm(ax, data: ReportData, key: Key) -> None:
    _lines(ax, data, key, f"capacity provider {_label(key)}: N and M", [
        ("N", "N (instances running)", dict(color="tab:blue", linewidth=1.4)),
        ("M", "M (instances needed)", dict(color="tab:purple", linestyle="--", linewidth=1.2))])


def _provider_reservation(ax, data: ReportData, key: Key) -> None:
    _plot(ax, data, key, "CapacityProviderReservation", "CapacityProviderReservation", color="tab:brown")
    target = data.provider_targets.get(key[2], 100.0)
    ax.axhline(target, color="tab:red", linestyle=":", linewidth=1.4, label=f"target capacity {target:g}%")
    ax.set_title(f"capacity provider {_label(key)}: reservation %", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)


def _fargate_tasks(ax, data: ReportData, key: Key) -> None:
    _lines(ax, data, key, f"{_label(key)} (Fargate): tasks", [
        ("runningTasks", "running", dict(color="tab:blue", linewidth=1.6)),
        ("pendingTasks", "starting", dict(color="tab:orange", linewidth=0.9, alpha=0.8))], ncol=2)


def _fargate_held(ax, data: ReportData, key: Key) -> None:
    _lines(ax, data, key, f"{_label(key)} (Fargate): vCPU and memory held", [
        ("vcpuHeld", "vCPU", dict(color="tab:green", linewidth=1.4)),
        ("memoryGBHeld", "memory (GB)", dict(color="tab:purple", linestyle="--", linewidth=1.2))], ncol=2)


def _capacity(ax, data: ReportData) -> None:
    for key in data.of_scope("cluster"):
        _plot(ax, data, key, "instances", f"{key[2]} instances", linewidth=1.6)
        series = data.series(key, "provisioningTasks")
        if series is not None and series[1].any():
            _plot(ax, data, key, "provisioningTasks", f"{key[2]} provisioning tasks", linestyle=":")
    for key in data.of_scope("asg"):
        _plot(ax, data, key, "inServiceInstances", f"ASG {key[2]} in service", linewidth=1.2)
        _plot(ax, data, key, "desiredCapacity", f"ASG {key[2]} desired", linestyle="--", linewidth=1.0)
    ax.set_title("capacity: container instances", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=2)


def _summed(data: ReportData, keys: list[Key], metric: str):
    found = [s for s in (data.series(key, metric) for key in keys) if s is not None]
    if not found:
        return None
    hours, inverse = np.unique(np.concatenate([s[0] for s in found]), return_inverse=True)
    totals = np.zeros(len(hours))
    np.add.at(totals, inverse, np.concatenate([s[1] for s in found]))
    return hours, totals


def _unserved(ax, data: ReportData) -> None:
    for key in data.shown:
        _plot(ax, data, key, "UnservedDemand", _label(key), linewidth=1.2)
    others = _summed(data, data.left_out, "UnservedDemand")
    if others is not None:
        ax.step(*others, where="post", color="gray", linewidth=1.0,
                label=f"the other {len(data.left_out)} services, summed")
    ax.set_title("unserved demand (CPU units short, per minute)", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=2)


def _has(data: ReportData, scope: str, metric: str) -> bool:
    return any(metric in data.entities[key] for key in data.of_scope(scope))


def panels(data: ReportData) -> list:
    """The panels to draw, in order: each a function of the axes."""
    out: list = []
    for key in data.shown:
        out += [lambda ax, key=key: _service_counts(ax, data, key), lambda ax, key=key: _service_cpu(ax, data, key)]
    for key in data.of_scope("capacity_provider"):
        if "N" in data.entities[key]:           # managed scaling of an Auto Scaling group provider
            out += [lambda ax, key=key: _provider_nm(ax, data, key),
                    lambda ax, key=key: _provider_reservation(ax, data, key)]
        if "runningTasks" in data.entities[key]:   # FARGATE or FARGATE_SPOT
            out += [lambda ax, key=key: _fargate_tasks(ax, data, key),
                    lambda ax, key=key: _fargate_held(ax, data, key)]
    if data.of_scope("cluster") or data.of_scope("asg"):
        out.append(lambda ax: _capacity(ax, data))
    if _has(data, "service", "UnservedDemand"):
        out.append(lambda ax: _unserved(ax, data))
    return out


def title(data: ReportData) -> str:
    services = len(data.shown) + len(data.left_out)
    text = f"quaymaster simulation: {services} service{'s' * (services != 1)}"
    if data.start_ms is not None:
        start = datetime.fromtimestamp(data.start_ms / 1000, tz=timezone.utc)
        text += f", from {start:%Y-%m-%d %H:%M} UTC"
    if data.left_out:
        names = ", ".join(_label(key) for key in data.left_out[:NAMED_LEFT_OUT])
        more = len(data.left_out) - NAMED_LEFT_OUT
        text += (f"\nshowing the top {len(data.shown)} by {data.ranked_by}; "
                 f"left out: {names}{f' and {more} more (listed in report.html)' if more > 0 else ''}")
    return "\n".join(textwrap.fill(line, TITLE_WIDTH) for line in text.split("\n"))


def build_figure(data: ReportData):
    """A matplotlib Figure (not attached to pyplot, so nothing global is touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawers = panels(data)
    rows = max(1, (len(drawers) + 1) // 2)
    height = ROW_HEIGHT * rows + 1.2
    figure = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(figure)  # the Agg canvas, without switching pyplot's backend
    axes = figure.subplots(rows, 2, sharex=True, squeeze=False).ravel()
    if not drawers:
        axes[0].text(0.5, 0.5, "no metrics recorded", transform=axes[0].transAxes, ha="center")
    for ax, draw in zip(axes, drawers):
        draw(ax)
        ax.grid(True, alpha=0.3)
    for ax in axes[max(1, len(drawers)):]:
        figure.delaxes(ax)
    for ax in figure.axes[-2:]:
        ax.set_xlabel("hours since the start")
        ax.xaxis.set_tick_params(labelbottom=True)
    figure.suptitle(title(data), fontsize=12, y=1 - 0.15 / height)
    # Fixed margins rather than constrained layout: the same look for far less drawing time.
    figure.subplots_adjust(left=0.05, right=0.985, wspace=0.12, hspace=0.42,
                           top=1 - 1.05 / height, bottom=0.55 / height)
    return figure
