"""The durable journal of accepted mutating calls, and snapshots that bound replay.

- One SQLite database, ``DIR/journal.sqlite3``, in WAL mode with
  ``synchronous=FULL``: a call's row is committed (and so on disk) before its
  response is sent. One row is one transaction, so after ``kill -9`` a call
  is wholly there or wholly absent.
- Snapshots: ``DIR/snapshot-<seq>/`` holds every region's exported state after
  call ``seq`` (pyarrow tables as Parquet, each JSON component as its own ``.json``
  file, ``state.json`` the index of them); it is
  written to a temporary directory, fsynced and renamed, so a snapshot is
  complete or not there. Start-up loads the newest one and replays the rows
  after it. Older snapshots and the rows they cover are removed.
- Without a directory the journal is an in-memory SQLite database: the
  endpoint still uses it to rebuild the region after an internal error.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from quaymaster.errors import SnapshotError

_SCHEMA = """CREATE TABLE IF NOT EXISTS calls (  -- AUTOINCREMENT: seq never reused after snapshots drop rows
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, region TEXT NOT NULL,
    service TEXT NOT NULL, operation TEXT NOT NULL, params TEXT NOT NULL)"""


@dataclass(frozen=True)
class Entry:
    seq: int
    at: float          # the virtual time (epoch seconds) the call was applied at
    region: str
    service: str       # a botocore service name, or "_clock" for clock advances
    operation: str
    params: dict


class Journal:
    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            for unfinished in self.directory.glob(".tmp-snapshot-*"):   # a kill -9 mid-snapshot
                shutil.rmtree(unfinished, ignore_errors=True)
            target = str(self.directory / "journal.sqlite3")
        else:
            target = ":memory:"
        # The region thread is the only writer; check_same_thread off so start-up may replay.
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if self.directory is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    @property
    def durable(self) -> bool:
        return self.directory is not None

    def last_seq(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM calls").fetchone()[0]

    def append(self, at: float, region: str, service: str, operation: str, params: dict) -> int:
        text = json.dumps(params, separators=(",", ":"), sort_keys=True)
        with self._db:  # one transaction, committed (fsynced) on exit
            cursor = self._db.execute(
                "INSERT INTO calls (at, region, service, operation, params) VALUES (?, ?, ?, ?, ?)",
                (at, region, service, operation, text))
        return int(cursor.lastrowid or 0)

    def entries(self, after: int = 0) -> Iterator[Entry]:
        rows = self._db.execute("SELECT seq, at, region, service, operation, params FROM calls "
                                "WHERE seq > ? ORDER BY seq", (after,))
        for seq, at, region, service, operation, params in rows:
            yield Entry(seq, at, region, service, operation, json.loads(params))

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    # --- snapshots ---------------------------------------------------------

    def write_snapshot(self, seq: int, states: dict[str, dict[str, Any]]) -> None:
        """Persist ``states`` (region name -> exported state) as of call ``seq``.

        A pyarrow table is written as ``<region>.<key>.parquet``, a JSON object or list as
        ``<region>.<key>.json``; plain values go into ``state.json``, the index of it all.
        Nothing else is accepted (no pickles, no opaque bytes)."""
        if self.directory is None:
            return
        final = self.directory / f"snapshot-{seq:012d}"
        temporary = self.directory / f".tmp-snapshot-{seq:012d}"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        index: dict[str, dict[str, Any]] = {}
        for region, state in states.items():
            index[region] = {}
            for key, value in state.items():
                file = f"{region}.{key}"
                if _is_table(value):
                    _write_parquet(value, temporary / f"{file}.parquet")
                    index[region][key] = {"$parquet": f"{file}.parquet"}
                elif isinstance(value, (dict, list)):
                    _write_synced(temporary / f"{file}.json", _json_bytes(value, key))
                    index[region][key] = {"$json": f"{file}.json"}
                elif value is None or isinstance(value, (str, int, float, bool)):
                    index[region][key] = value
                else:
                    raise TypeError(f"snapshot value {region}.{key} is a {type(value).__name__}: "
                                    "only tables and JSON values are written")
        _write_synced(temporary / "state.json", _json_bytes(index, "state"))
        _fsync_dir(temporary)
        os.replace(temporary, final)
        _fsync_dir(self.directory)
        for old in self._snapshot_dirs()[:-1]:
            shutil.rmtree(old, ignore_errors=True)
        with self._db:
            self._db.execute("DELETE FROM calls WHERE seq <= ?", (seq,))

    def latest_snapshot(self) -> tuple[int, dict[str, dict[str, Any]] | None]:
        """The newest snapshot's sequence number and states (tables read back as pyarrow);
        a snapshot directory that cannot be read is refused with a ``SnapshotError``."""
        if self.directory is None:
            return 0, None
        dirs = self._snapshot_dirs()
        if not dirs:
            return 0, None
        newest = dirs[-1]
        index = _read_json(newest, "state.json")
        if not isinstance(index, dict) or not all(isinstance(v, dict) for v in index.values()):
            raise SnapshotError(f"{newest.name}/state.json is not an index of region states",
                                field="state.json", value=newest.name)
        for state in index.values():
            for key, value in list(state.items()):
                if isinstance(value, dict) and set(value) == {"$parquet"}:
                    state[key] = _read_parquet(newest, value["$parquet"])
                elif isinstance(value, dict) and set(value) == {"$json"}:
                    state[key] = _read_json(newest, value["$json"])
        return int(newest.name.split("-")[1]), index

    def _snapshot_dirs(self) -> list[Path]:
        assert self.directory is not None
        return sorted(p for p in self.directory.glob("snapshot-*") if p.is_dir())

    def close(self) -> None:
        self._db.close()


def _json_bytes(value: Any, key: str) -> bytes:
    # allow_nan off: a snapshot is JSON any reader parses (the codec tags nan and inf).
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()


def _snapshot_file(directory: Path, name: Any) -> Path:
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise SnapshotError(f"{directory.name}: {name!r} is not a file name of the snapshot",
                            field="file", value=name)
    return directory / name


def _read_json(directory: Path, name: Any) -> Any:
    path = _snapshot_file(directory, name)
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as error:   # missing, unreadable, not JSON (or not UTF-8)
        raise SnapshotError(f"{directory.name}/{name} cannot be read as JSON: {error}",
                            field=str(name), value=type(error).__name__) from None


def _read_parquet(directory: Path, name: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = _snapshot_file(directory, name)
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise SnapshotError(f"{directory.name}/{name} cannot be read as Parquet: {error}",
                            field=str(name), value=type(error).__name__) from None


def _is_table(value: Any) -> bool:
    return type(value).__module__.startswith("pyarrow") and hasattr(value, "schema")


def _write_parquet(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq
    pq.write_table(table, path)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
