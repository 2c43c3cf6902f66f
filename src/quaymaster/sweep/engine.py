"""Running variations of a scenario on Dask ``distributed`` and collecting them into Arrow/Parquet.

Workers only compute: each task is one variation returning its tables and
summary. The driver writes every file (under a temporary name, then renamed)
when a variation's future completes, and ``as_completed`` yields each future
once, so a task Dask retries on another worker can never duplicate rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from quaymaster.simulation.scenario import ScenarioError, parse_text
from quaymaster.sweep.paths import SweepError, apply_variation, variations
from quaymaster.sweep.plot import require_matplotlib, write_summary_png
from quaymaster.sweep.worker import prepare, run_variation

INSTALL_HINT = "the distributed engine is not installed: pip install 'quaymaster[sweep]'"


def require_distributed():
    try:
        import distributed
    except ImportError:
        raise SweepError(INSTALL_HINT, field="distributed") from None
    return distributed


def read_document(scenario) -> tuple[dict, Path]:
    """The scenario as a JSON-like document and the directory its relative paths start from."""
    if isinstance(scenario, dict):
        return scenario, Path(".").resolve()
    path = Path(scenario)
    try:
        text = path.read_text()
    except OSError as error:
        raise ScenarioError("$", f"cannot read {path}: {error.strerror}") from None
    return parse_text(text, yaml=path.suffix.lower() in (".yaml", ".yml")), path.parent.resolve()


@contextlib.contextmanager
def dask_client(client=None, scheduler: str | None = None, workers: int | None = None):
    """The user's client as is, a client of a running scheduler, or a LocalCluster of ``workers``
    single-threaded processes (a simulation holds the GIL: threads would not run in parallel)."""
    if client is not None:
        yield client
        return
    distributed = require_distributed()
    if scheduler:
        with distributed.Client(scheduler) as own:
            yield own
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SweepError(f"--workers: a positive integer, found {workers!r}", field="workers", value=workers)
    with distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as own:
        yield own


def run_documents(client, documents: list, base_dir: Path, *, progress: bool = False, labels=None):
    """Yield (index, tables, summary) of each document as it finishes, one future per document."""
    distributed = require_distributed()
    run = uuid.uuid4().hex   # keys unique to this call: a key the scheduler still holds would be reused
    futures = [client.submit(run_variation, i, doc, str(base_dir), pure=False,
                             key=f"quaymaster-variation-{i}-{run}")
               for i, doc in enumerate(documents)]
    bar = _bar(progress, len(futures))
    try:
        for future in distributed.as_completed(futures):
            try:
                index, tables, summary = future.result()
            except Exception as error:
                i = futures.index(future)
                label = labels[i] if labels else i
                raise SweepError(f"variation {i} ({label}): {error}", field=getattr(error, "field", None)) \
                    from error
            future.release()   # the driver holds the result now; free the worker's copy
            if bar is not None:
                bar.update(1)
            yield index, tables, summary
    finally:
        if bar is not None:
            bar.close()
        client.cancel(futures)


def _bar(enabled: bool, total: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="sim", desc="sweep", leave=False)


def sweep(scenario, vary: dict, client=None, *, out=None, scheduler: str | None = None,
          workers: int | None = None, progress: bool = False, plot: bool = False) -> pa.Table:
    """The summary table of the cross product of ``vary`` (``{json_path: [values]}``) over ``scenario``
    (a path or a parsed document), one row per variation in order (the first path varying slowest).

    With ``out``, also writes ``out/<table>/variation=<i>/part-0.parquet`` and
    ``out/summary.parquet`` (and ``out/summary.png`` with ``plot``: needs matplotlib,
    checked before anything runs). Runs on ``client`` (a ``distributed.Client``), else on
    a running ``scheduler`` address, else on a LocalCluster of ``workers`` processes.
    """
    if plot:
        if out is None:
            raise SweepError("plot: the picture is written as out/summary.png; give out", field="plot")
        require_matplotlib()
    document, base_dir = read_document(scenario)
    combos = variations(vary)
    documents = [apply_variation(document, combo) for combo in combos]
    for i, doc in enumerate(documents):        # every variation checked before anything runs
        try:
            prepare(doc, base_dir)
        except ScenarioError as error:
            raise SweepError(f"variation {i} ({_label(combos[i])}): {error}", field=error.field) from None
    out_dir = _empty_out(out) if out is not None else None
    summaries = {}
    with dask_client(client, scheduler, workers) as active:
        labels = [_label(c) for c in combos]
        for index, tables, summary in run_documents(active, documents, base_dir, progress=progress,
                                                    labels=labels):
            summaries[index] = summary
            if out_dir is not None:
                for name, table in tables.items():
                    _write_atomic(table, out_dir / name / f"variation={index}" / "part-0.parquet")
    table = summary_table(combos, [summaries[i] for i in range(len(combos))])
    if out_dir is not None:
        _write_atomic(table, out_dir / "summary.parquet")
        if plot:
            write_summary_png(table, list(vary), out_dir)
    return table


def _label(combo: dict) -> str:
    return ", ".join(f"{path}={json.dumps(value)}" for path, value in combo.items())


def _empty_out(out) -> Path:
    out_dir = Path(out)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SweepError(f"--out {out_dir} is not empty: a sweep writes a whole dataset into an empty "
                         f"directory so no old variation mixes in", field="out", value=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _write_atomic(table: pa.Table, path: Path) -> None:
    """Written as ``quaymaster simulate`` writes its tables (zstd), renamed into place when whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)


def flatten(summary: dict, prefix: str = "") -> dict:
    """summary.json's figures as dotted columns (``services.prod/web.runningCount``, ``events.steady state``)."""
    flat = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def summary_table(combos: list, summaries: list) -> pa.Table:
    """``variation``, one JSON-text column per varied path, then the summary figures (columns sorted;
    a figure a variation lacks, say an event kind it never had, is null there)."""
    flats = [flatten(s) for s in summaries]
    figures = sorted({key for flat in flats for key in flat})
    columns = {"variation": pa.array(range(len(combos)), pa.int64())}
    for path in combos[0]:
        columns[path] = pa.array([json.dumps(c[path], sort_keys=True) for c in combos], pa.string())
    for key in figures:
        if key in columns:
            raise SweepError(f"summary figure {key!r} has the name of a varied path", field=key)
        columns[key] = pa.array([flat.get(key) for flat in flats])
    return pa.table(columns)
