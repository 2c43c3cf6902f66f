"""Content-addressed blob store: sha256-verified, shared by every repository.

A blob is stored once under its digest whatever repository it was pushed to
(repositories only record which digests they hold). Without a directory the
store lives in memory; with one, blobs live under ``<dir>/blobs/sha256/`` and
each is written to a temporary file, fsynced and renamed into place, so a
crash leaves either the whole blob or none of it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import pathlib
import re
from typing import Iterator

from quaymaster.ecr.names import is_digest
from quaymaster.errors import InvalidInputError

CHUNK = 1 << 20


class DigestMismatchError(InvalidInputError):
    """The bytes do not hash to the digest the client declared."""


_UPLOAD_ID = re.compile(r"^[0-9]{8}-[0-9a-f]{12}$")


class Upload:
    """An upload in progress: bytes appended in order, hashed as they arrive.

    On disk its bytes are the file ``<root>/uploads/<upload id>``, so a restarted server
    finds the parts it acknowledged (:meth:`sync` makes them durable) and picks the upload
    up where the journal says it was (:meth:`advance_to`).
    """

    def __init__(self, upload_id: str, spool):
        self.upload_id = upload_id
        self._spool = spool
        self._hash = hashlib.sha256()
        self.size = 0

    def append(self, data: bytes) -> int:
        self.trim()
        self._spool.write(data)
        self._hash.update(data)
        self.size += len(data)
        return self.size

    def sync(self) -> None:
        """The bytes appended so far are on disk (fsynced) before they are acknowledged."""
        if not isinstance(self._spool, io.BytesIO):
            self._spool.flush()
            os.fsync(self._spool.fileno())

    def advance_to(self, size: int) -> None:
        """Make the upload its spool's first ``size`` bytes (a journaled part, replayed); the
        bytes past it (the next parts, or never acknowledged ones) are cut off by :meth:`trim`
        before the upload goes on. InvalidInputError if the spool holds fewer (they were lost
        with the machine)."""
        if size < self.size:   # never after an acknowledged part; hashed again from the start
            self._hash, self.size = hashlib.sha256(), 0
        self._spool.seek(self.size)
        while self.size < size:
            chunk = self._spool.read(min(CHUNK, size - self.size))
            if not chunk:
                raise InvalidInputError(f"upload {self.upload_id} holds {self.size} bytes, not the "
                                        f"{size} acknowledged", field="size", value=size)
            self._hash.update(chunk)
            self.size += len(chunk)
        self._untrimmed = True

    def trim(self) -> None:
        """Cut the spool at the upload's size (after :meth:`advance_to`), before it grows or is stored."""
        if self.__dict__.pop("_untrimmed", False):
            self._spool.seek(self.size)
            self._spool.truncate()

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


class BlobStore:
    """Blobs by digest, in memory (``root=None``) or on disk under ``root``.

    ``resume_uploads``: the files of uploads in progress are kept at start-up, for a
    server that picks them up again from its journal (``begin_replay``/``end_replay``
    remove those nobody resumes); otherwise an earlier process's uploads are garbage.
    """

    def __init__(self, root: str | os.PathLike | None = None, *, resume_uploads: bool = False):
        self.root = pathlib.Path(root) if root is not None else None
        self._memory: dict[str, bytes] = {}
        self._uploads: dict[str, Upload] = {}
        self._ids = itertools.count(1)
        self.blobs_written = 0  # distinct blobs stored: a re-upload of a known blob adds none
        self._holders: dict[str, int] = {}  # how many repositories hold each blob
        self._deferred: set[str] | None = None  # while replaying: blobs let go of, kept for now
        self._token_key: bytes | None = None
        if self.root is not None:
            (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            (self.root / "uploads").mkdir(parents=True, exist_ok=True)
            if not resume_uploads:   # nobody will resume an earlier process's uploads
                self._remove_stale_uploads()

    # -- reading -------------------------------------------------------
    def has(self, digest: str) -> bool:
        if not is_digest(digest):
            return False
        if self.root is None:
            return digest in self._memory
        return self._path(digest).is_file()

    def size(self, digest: str) -> int:
        if self.root is None:
            return len(self._memory[digest])
        return self._path(digest).stat().st_size

    def get(self, digest: str) -> bytes:
        if self.root is None:
            return self._memory[digest]
        return self._path(digest).read_bytes()

    def iter_bytes(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The blob's bytes ``[start, end)`` in chunks (for streaming large layers)."""
        if self.root is None:
            data = self._memory[digest]
            stop = len(data) if end is None else end
            for pos in range(start, stop, CHUNK):
                yield data[pos:min(pos + CHUNK, stop)]
            return
        with open(self._path(digest), "rb") as f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    # -- writing -------------------------------------------------------
    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store ``data``; its digest. A declared ``expected`` digest must match."""
        upload = self.start_upload()
        upload.append(data)
        return self.commit(upload.upload_id, expected)

    def start_upload(self, upload_id: str | None = None) -> Upload:
        """A new upload; or, given the ``upload_id`` of one an earlier process journaled, that
        upload again at size 0 over the bytes its file holds (``Upload.advance_to``)."""
        if upload_id is not None:
            if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
                raise InvalidInputError(f"not an upload id: {upload_id!r}", field="uploadId",
                                        value=upload_id)
            known = self._uploads.get(upload_id)
            if known is not None:   # this process still has it (a rebuild without restart)
                known._hash, known.size = hashlib.sha256(), 0
                return known
        else:
            upload_id = f"{next(self._ids):08d}-{os.urandom(6).hex()}"
        if self.root is None:
            spool = io.BytesIO()
        else:
            path = self.root / "uploads" / upload_id
            spool = open(path, "r+b" if path.exists() else "w+b")
        upload = Upload(upload_id, spool)
        self._uploads[upload_id] = upload
        return upload

    def upload(self, upload_id: str) -> Upload | None:
        return self._uploads.get(upload_id)

    def cancel(self, upload_id: str) -> None:
        upload = self._uploads.pop(upload_id, None)
        if upload is not None:
            self._discard(upload)

    def commit(self, upload_id: str, expected: str | None = None) -> str:
        """Finish an upload: verify ``expected`` and store it under its digest.

        A mismatch raises DigestMismatchError and discards the upload (the
        client starts again, as the distribution spec has it).
        """
        upload = self._uploads.pop(upload_id)
        upload.trim()
        digest = upload.digest
        if expected is not None and expected != digest:
            self._discard(upload)
            raise DigestMismatchError(
                f"digest {expected!r} does not match the uploaded content ({digest})",
                field="digest", value=expected)
        if self.has(digest):
            self._discard(upload)
        elif self.root is None:
            self._memory[digest] = upload._spool.getvalue()
            self.blobs_written += 1
        else:
            spool = upload._spool
            spool.flush()
            os.fsync(spool.fileno())
            spool.close()
            os.replace(spool.name, self._path(digest))
            self._fsync_dir(self._path(digest).parent)
            self.blobs_written += 1
        return digest

    def retain(self, digest: str) -> None:
        """One more repository holds ``digest``."""
        self._holders[digest] = self._holders.get(digest, 0) + 1

    def release(self, digest: str) -> None:
        """One repository fewer holds ``digest``; the last release deletes the blob."""
        left = self._holders.get(digest, 0) - 1
        if left > 0:
            self._holders[digest] = left
            return
        self._holders.pop(digest, None)
        if self._deferred is not None:
            self._deferred.add(digest)
        else:
            self.delete(digest)

    # -- rebuilding the registries that use the store -----------------
    def begin_replay(self) -> None:
        """Every registry using the store is about to be rebuilt (snapshot, then journal replay).

        Holders are counted anew, and a blob let go of during the replay is
        only deleted at ``end_replay``: the files on disk are the store's
        *final* state, and a blob a replayed delete lets go of may be held
        again by a later journaled push.
        """
        self._holders = {}
        self._deferred = set()

    def end_replay(self) -> None:
        """Delete the blobs the replay let go of that nothing holds any more, and the files of
        uploads nobody resumed."""
        deferred, self._deferred = self._deferred or set(), None
        for digest in sorted(deferred):
            if digest not in self._holders:
                self.delete(digest)
        self._remove_stale_uploads()

    def _remove_stale_uploads(self) -> None:
        if self.root is None:
            return
        for stale in (self.root / "uploads").iterdir():
            if stale.name not in self._uploads:
                stale.unlink()

    @property
    def token_key(self) -> bytes:
        """The key authorization tokens are signed with (kept under the root, see ``tokens``)."""
        if self._token_key is None:
            from quaymaster.ecr.tokens import load_or_create_key
            self._token_key = load_or_create_key(self.root)
        return self._token_key

    def delete(self, digest: str) -> None:
        if self.root is None:
            self._memory.pop(digest, None)
        else:
            try:
                self._path(digest).unlink()
            except FileNotFoundError:
                pass

    def digests(self) -> list[str]:
        if self.root is None:
            return sorted(self._memory)
        return sorted("sha256:" + p.name for p in (self.root / "blobs" / "sha256").iterdir()
                      if not p.name.startswith("."))

    # -- internals -----------------------------------------------------
    def _path(self, digest: str) -> pathlib.Path:
        if not is_digest(digest):  # never let a client-chosen string become a path
            raise InvalidInputError(f"not a sha256 digest: {digest!r}", field="digest", value=digest)
        return self.root / "blobs" / "sha256" / digest.split(":", 1)[1]

    def _discard(self, upload: Upload) -> None:
        upload._spool.close()
        if self.root is not None:
            try:
                os.unlink(upload._spool.name)
            except FileNotFoundError:
                pass

    @staticmethod
    def _fsync_dir(path: pathlib.Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
