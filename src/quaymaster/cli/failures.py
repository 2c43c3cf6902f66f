"""The failures file of ``quaymaster place``: one entry per task, grouped, or Parquet.

A request that stops placing fails every later task with the same reason, so
the per-task list repeats one entry (215,000 failures made a 61 MB file).
``grouped`` writes each distinct ``{reason, arn, detail}`` once, with how many
tasks it covers and their task indexes as inclusive ``[first, last]`` ranges;
``parquet`` writes the per-task rows as a table, without Python objects per task.
"""

from __future__ import annotations

import json

import numpy as np

from quaymaster.errors import InvalidInputError

FAILURE_FORMATS = ("list", "grouped", "parquet")
_KEYS = ("reason", "arn", "detail")


def failures_format(path: str | None, given: str | None) -> str:
    """The format to write ``path`` in: ``given``, else parquet for ``.parquet``, else list."""
    if given is not None and path is None:
        raise InvalidInputError("--failures-format needs --failures FILE", field="--failures-format",
                                value=given)
    if given is not None:
        return given
    return "parquet" if path is not None and path.lower().endswith(".parquet") else "list"


def index_ranges(indexes: np.ndarray) -> list[list[int]]:
    """Sorted task indexes as inclusive ``[first, last]`` runs of consecutive values."""
    if indexes.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indexes) != 1)
    firsts = np.concatenate([indexes[:1], indexes[breaks + 1]])
    lasts = np.concatenate([indexes[breaks], indexes[-1:]])
    return [[int(a), int(b)] for a, b in zip(firsts.tolist(), lasts.tolist())]


def grouped_failures(table) -> list[dict]:
    """The failures table as one entry per distinct (reason, arn, detail), in order of
    first appearance: ``{reason, arn, detail, count, task_index_ranges}``."""
    if table.num_rows == 0:
        return []
    index = table.column("task_index").to_numpy()
    codes, keys = _row_codes(table)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    groups = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        members = np.sort(index[order[start:end]])
        groups.append((int(order[start]), {**keys[int(sorted_codes[start])], "count": end - start,
                                           "task_index_ranges": index_ranges(members)}))
    return [entry for _, entry in sorted(groups, key=lambda pair: pair[0])]


def _row_codes(table) -> tuple[np.ndarray, list[dict]]:
    """Per row, a code for its (reason, arn, detail); and each code's values."""
    columns = []
    for key in _KEYS:
        encoded = table.column(key).combine_chunks().dictionary_encode()
        columns.append((encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64),
                        encoded.dictionary.to_pylist()))
    stacked = np.stack([codes for codes, _ in columns], axis=1)
    distinct, codes = np.unique(stacked, axis=0, return_inverse=True)
    keys = [{key: (values[c] if c >= 0 else None) for key, (_, values), c in
             zip(_KEYS, columns, row.tolist())} for row in distinct]
    return codes.reshape(-1), keys


def write_failures(result, path: str, form: str) -> None:
    """Write ``result``'s failures to ``path`` as ``form`` (one of FAILURE_FORMATS)."""
    if form == "list":
        with open(path, "w") as handle:
            json.dump(list(result.failures), handle, indent=1)
        return
    table = result.failures_table()
    if form == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return
    with open(path, "w") as handle:
        json.dump(grouped_failures(table), handle, indent=1)
