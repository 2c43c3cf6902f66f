"""The typed error of a snapshot that cannot be written or read (``quaymaster.errors``)."""

from quaymaster.errors import SnapshotError

__all__ = ["SnapshotError"]
