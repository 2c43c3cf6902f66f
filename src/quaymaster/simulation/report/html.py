"""The self-contained HTML report: the picture inline (base64 PNG) and summary tables."""

from __future__ import annotations

import base64
import html
from collections import Counter

import numpy as np

from quaymaster.simulation.report.series import Key, ReportData
from quaymaster.simulation.tables import event_kind

MAX_ACTIVITIES = 200  # rows of the activities table in the page
STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
         "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child"
         "{text-align:left}img{max-width:100%}")


def _last(data: ReportData, key: Key, metric: str) -> float | None:
    series = data.series(key, metric)
    return float(series[1][-1]) if series is not None and len(series[1]) else None


def _agg(data: ReportData, key: Key, metric: str, how) -> float | None:
    series = data.series(key, metric)
    return float(how(series[1])) if series is not None and len(series[1]) else None


def _cell(value) -> str:
    if value is None:
        return "<td>–</td>"
    if isinstance(value, float):
        return f"<td>{value:,.0f}</td>" if value == int(value) or abs(value) >= 100 else f"<td>{value:,.1f}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def service_rows(data: ReportData) -> list[list]:
    """Per service: final desired and running, peak desired, mean CPU %, unserved total, shown or not."""
    shown = set(data.shown)
    return [[f"{key[1]}/{key[2]}", _last(data, key, "desiredCount"), _last(data, key, "runningCount"),
             _agg(data, key, "desiredCount", np.max), _agg(data, key, "CPUUtilization", np.mean),
             _agg(data, key, "UnservedDemand", np.sum), "yes" if key in shown else "no"]
            for key in [*data.shown, *data.left_out]]


def _sections(data: ReportData, tables: dict) -> list[str]:
    parts = ["<h2>Services</h2>", _table(
        ["service", "final desired", "final running", "peak desired", "mean CPU %",
         "unserved (CPU unit-minutes)", "in the picture"], service_rows(data))]
    clusters = [[key[2], _agg(data, key, "instances", np.max), _last(data, key, "instances"),
                 _agg(data, key, "provisioningTasks", np.max)] for key in data.of_scope("cluster")]
    if clusters:
        parts += ["<h2>Clusters</h2>", _table(["cluster", "peak instances", "final instances",
                                               "peak provisioning tasks"], clusters)]
    keys = data.of_scope("capacity_provider")
    providers = [[key[2], _agg(data, key, "CapacityProviderReservation", np.max), _agg(data, key, "M", np.max),
                  _last(data, key, "N")] for key in keys if "N" in data.entities[key]]
    if providers:
        parts += ["<h2>Capacity providers</h2>", _table(["capacity provider", "peak reservation %", "peak M",
                                                         "final N"], providers)]
    fargate = [[f"{key[1]}/{key[2]}", _agg(data, key, "runningTasks", np.max), _last(data, key, "runningTasks"),
                _agg(data, key, "vcpuHeld", np.max), _agg(data, key, "memoryGBHeld", np.max)]
               for key in keys if "runningTasks" in data.entities[key]]
    if fargate:
        parts += ["<h2>Fargate</h2>", _table(["cluster/provider", "peak running tasks", "final running tasks",
                                              "peak vCPU", "peak memory (GB)"], fargate)]
    events = tables.get("events")
    if events is not None and events.num_rows:
        kinds = Counter(event_kind(m) for m in events.column("message").to_pylist())
        parts += ["<h2>Service events</h2>", _table(["kind", "count"], [[k, n] for k, n in sorted(kinds.items())])]
    activities = tables.get("activities")
    if activities is not None and activities.num_rows:
        parts += ["<h2>Activities</h2>", f"<p>{activities.num_rows:,} desired count changes"
                  + (f"; the first {MAX_ACTIVITIES} are listed" if activities.num_rows > MAX_ACTIVITIES else "")
                  + ".</p>", _table(["time (UTC)", "resource", "from", "to", "cause"], [
                      [f"{row['time']:%Y-%m-%d %H:%M:%S}", row["resource_id"], row["from"], row["to"], row["cause"]]
                      for row in activities.slice(0, MAX_ACTIVITIES).to_pylist()])]
    return parts


def render_html(data: ReportData, tables: dict, png: bytes, title: str) -> str:
    image = base64.b64encode(png).decode("ascii")
    heading = html.escape(title).replace("\n", "<br>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>quaymaster simulation report</title>"
            f"<style>{STYLE}</style></head><body><h1>quaymaster simulation report</h1><p>{heading}</p>"
            f"<img alt=\"simulation report\" src=\"data:image/png;base64,{image}\">"
            + "".join(_sections(data, tables)) + "</body></html>\n")
