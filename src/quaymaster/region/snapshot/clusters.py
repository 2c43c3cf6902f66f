"""A cluster in a snapshot: its instance and task tables (Parquet) and what they do not say (JSON).

The tables are the cluster's state as docs/semantics.md describes them ("The instance
and task tables"); a loaded cluster is built from them by ``Cluster.from_arrow``, the
same path as any table a user loads. The JSON beside them holds only what the tables
cannot: the task rows' sequence numbers (task ARNs are derived from them, and new
tasks continue them), the order of the group names (their codes), which STOPPING rows
already gave their resources back, the cluster's seed stream and the agent versions
UpdateContainerAgent set. Caches and placement plans are not written: the loaded
cluster rebuilds them, and so places the next tasks exactly as the original would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quaymaster.cluster import Cluster
from quaymaster.errors import InvalidInputError
from quaymaster.model.tasks import STATUS_INDEX, TaskChunk
from quaymaster.region.snapshot.errors import SnapshotError

# What ClusterCore keeps that the tables or the JSON below hold; caches are rebuilt.
_WRITTEN = {"name", "region", "account", "arn", "state", "tasks", "seed_stream", "owner", "caches",
            "_admin_meta_store"}
_TASK_STATE = {"arn_prefix", "groups", "_group_index", "chunks", "_first_seqs", "next_sequence",
               "explicit_arns", "_explicit_index", "_tail", "rows", "stopped"}


class ClusterTables:
    """The codec's custom writer and reader of ``Cluster`` objects; ``tables`` is
    ``key -> (instance table, task table)``, filled when writing, given when reading."""

    def __init__(self, tables: dict[str, tuple] | None = None):
        self.tables: dict[str, tuple] = tables if tables is not None else {}

    def encode(self, encoder, cluster, children: bool = False):
        extra = {key: value for key, value in cluster.__dict__.items() if key not in _WRITTEN}
        meta = cluster.__dict__.get("_admin_meta_store")
        if children:
            return [cluster.seed_stream, meta, *extra.values()]
        key = cluster.name if cluster.name not in self.tables else f"{cluster.name}#{len(self.tables)}"
        self.tables[key] = (cluster.instance_table(), cluster.task_table())
        return {"tables": key, "name": cluster.name, "region": cluster.region, "account": cluster.account,
                "seed_stream": encoder.encode(cluster.seed_stream), "tasks": _task_extras(cluster),
                "admin_meta": encoder.encode(meta), "fields": encoder.encode(extra)}

    def decode(self, decoder, fields: dict) -> Cluster:
        key = fields["tables"]
        if key not in self.tables:
            raise SnapshotError(f"the instance and task tables of cluster {key!r} are not in the snapshot",
                                field=f"instances.{key}", value=key)
        instances, tasks = self.tables[key]
        try:
            cluster = Cluster.from_arrow(instances, tasks, name=fields["name"], region=fields["region"],
                                         account=fields["account"])
            _restore_tasks(cluster, fields["tasks"])
        except InvalidInputError as error:
            raise SnapshotError(f"the tables of cluster {key!r} do not load: {error}",
                                field=f"tasks.{key}", value=key) from error
        cluster.seed_stream = decoder.decode(fields["seed_stream"])
        meta = decoder.decode(fields["admin_meta"])
        if meta is not None:
            cluster.__dict__["_admin_meta_store"] = meta
        cluster.__dict__.update(decoder.decode(fields["fields"]))
        return cluster


def _task_extras(cluster) -> dict[str, Any]:
    """What the task table does not say, per live row in table order."""
    tasks = cluster.tasks
    unknown = set(tasks.__dict__) - _TASK_STATE
    if unknown:
        raise SnapshotError(f"the task state of cluster {cluster.name!r} holds {sorted(unknown)}, which a "
                            "snapshot does not know how to write", field="tasks", value=sorted(unknown))
    sequences, released, row = [], [], 0
    for chunk in tasks.chunks:
        keep = np.flatnonzero(chunk.alive)
        if not len(keep):
            continue
        seqs = chunk.seqs[keep] if chunk.seqs is not None else chunk.seq_start + keep
        sequences.extend(np.asarray(seqs, dtype=np.int64).tolist())
        if "released" in chunk.__dict__:
            released.extend((row + np.flatnonzero(chunk.released[keep])).tolist())
        row += len(keep)
    return {"sequences": sequences, "next_sequence": tasks.next_sequence, "groups": list(tasks.groups),
            "explicit_arns": [[seq, arn] for seq, arn in tasks.explicit_arns.items()],
            "released": released}


def _restore_tasks(cluster, extras: dict) -> None:
    """Give the loaded rows their original sequence numbers, group codes and released marks."""
    tasks = cluster.tasks
    sequences = np.asarray(extras["sequences"], dtype=np.int64)
    count = sum(len(c) for c in tasks.chunks)
    if len(sequences) != count or (len(sequences) > 1 and (np.diff(sequences) <= 0).any()):
        raise InvalidInputError(f"{count} task rows but {len(sequences)} increasing sequence numbers",
                                field="sequences", value=len(sequences))
    next_sequence = int(extras["next_sequence"])
    if len(sequences) and (sequences[0] < 0 or sequences[-1] >= next_sequence):
        raise InvalidInputError("a task's sequence number is past the next one", field="next_sequence",
                                value=next_sequence)
    loaded_groups = list(tasks.groups)
    groups = [str(g) for g in extras["groups"]]
    index = {g: k for k, g in enumerate(groups)}
    if len(index) != len(groups) or not set(loaded_groups) <= set(index):
        raise InvalidInputError("the task groups do not include every group of the task table",
                                field="groups", value=sorted(set(loaded_groups) - set(index)))
    loaded_arns = tasks.chunk_arns(tasks.chunks[0]) if tasks.chunks else []
    tasks.groups, tasks._group_index = groups, index
    tasks.next_sequence = next_sequence
    tasks.explicit_arns = {int(seq): str(arn) for seq, arn in extras["explicit_arns"]}
    tasks._explicit_index = {arn: seq for seq, arn in tasks.explicit_arns.items()}
    if not tasks.chunks:
        return
    chunk: TaskChunk = tasks.chunks[0]
    remap = np.array([index[g] for g in loaded_groups], dtype=np.int32)
    chunk.group_code = remap[chunk.group_code]
    chunk.seqs, chunk.seq_start = sequences, int(sequences[0])
    tasks._first_seqs = [int(sequences[0])]
    if tasks.chunk_arns(chunk) != loaded_arns:
        raise InvalidInputError("the task ARNs of the table are not those of their sequence numbers",
                                field="task_arn", value=loaded_arns[:1])
    released = np.asarray(extras["released"], dtype=np.int64)
    if len(released):
        if released.min() < 0 or released.max() >= count or \
                (chunk.status[released] != STATUS_INDEX["STOPPING"]).any():
            raise InvalidInputError("a released task row is not a STOPPING row of the table",
                                    field="released", value=released.tolist()[:5])
        chunk.released = np.zeros(count, dtype=np.bool_)
        chunk.released[released] = True
