"""Registry writes: the changes /v2/ traffic makes, in a form a journal can replay.

The ECR API's mutating operations are journaled by the endpoint as calls. A
push through the registry protocol is not an API call: its bytes go to the
content-addressed blob store (fsynced before the push is acknowledged) and
what changes in the registry is small metadata, one of these writes:

- ``EnsureRepository {repositoryName}``: create the repository if absent
  (a pull-through cache's first pull).
- ``HoldBlob {repositoryName, digest}``: the repository holds a blob the
  store has (an upload finished, a mount, a pulled-through layer).
- ``PutManifest {repositoryName, manifest (base64), mediaType, tag}``: a
  manifest pushed, by tag or (``tag`` null) by digest.
- ``BatchDeleteImage``: the API operation's own request (a manifest or tag
  DELETE).
- ``BeginUpload {repositoryName, uploadId}``, ``UploadPart {repositoryName, uploadId,
  size}``, ``EndUpload {repositoryName, uploadId}``: a chunked upload in progress. Its
  bytes are in the store's file of the upload, fsynced before the part is acknowledged;
  replayed, the upload is resumed with the same id at the acknowledged size.

``apply_write(operation, params)`` applies one under the registry's lock and,
when ``write_log`` is a list (the endpoint sets one), appends it there; the
endpoint journals what it finds in the log after each call and replays a
journaled write with ``apply_write`` again. Replay is deterministic: the same
writes on the same state give the same registry.
"""

from __future__ import annotations

import base64
import binascii

from quaymaster.ecr.api_model import invalid
from quaymaster.ecr.names import check_digest, check_repository_name
from quaymaster.errors import InvalidInputError, ServiceError

WRITES = {"EnsureRepository": "_ensure_repository", "HoldBlob": "_hold_stored_blob",
          "PutManifest": "_put_manifest_write", "BatchDeleteImage": "_delete_images_write",
          "BeginUpload": "_begin_upload_write", "UploadPart": "_upload_part_write",
          "EndUpload": "_end_upload_write"}


def hold_blob(name: str, digest: str) -> tuple[str, dict]:
    return "HoldBlob", {"repositoryName": name, "digest": digest}


def begin_upload(name: str, upload_id: str) -> tuple[str, dict]:
    return "BeginUpload", {"repositoryName": name, "uploadId": upload_id}


def upload_part(name: str, upload_id: str, size: int) -> tuple[str, dict]:
    return "UploadPart", {"repositoryName": name, "uploadId": upload_id, "size": size}


def end_upload(name: str, upload_id: str) -> tuple[str, dict]:
    return "EndUpload", {"repositoryName": name, "uploadId": upload_id}


def put_manifest(name: str, raw: bytes, media_type: str | None, tag: str | None) -> tuple[str, dict]:
    return "PutManifest", {"repositoryName": name, "manifest": base64.b64encode(raw).decode(),
                           "mediaType": media_type, "tag": tag}


class RegistryWrites:
    """Mixin of ECRRegistry: the replayable writes of the registry protocol."""

    def __init__(self):
        self.write_log: list[tuple[str, dict]] | None = None   # None: nobody journals them

    def apply_write(self, operation: str, params: dict):
        """Apply one write (see the module docstring); ServiceError changes nothing."""
        if operation not in WRITES:
            raise invalid(f"Unknown registry write {operation!r}: one of {', '.join(WRITES)}")
        with self.lock:
            result = getattr(self, WRITES[operation])(params)
            if self.write_log is not None:
                self.write_log.append((operation, params))
        return result

    def apply_writes(self, writes: list[tuple[str, dict]]) -> list:
        return [self.apply_write(operation, params) for operation, params in writes]

    def take_writes(self) -> list[tuple[str, dict]]:
        """The writes applied since the last call (to journal them), emptied."""
        if not self.write_log:
            return []
        log, self.write_log = self.write_log, []
        return log

    # -- the writes ----------------------------------------------------
    def _ensure_repository(self, params: dict):
        name = check_repository_name(params.get("repositoryName"))
        if name not in self.repositories:
            self.create_repository({"repositoryName": name})
        return self.repositories[name]

    def _hold_stored_blob(self, params: dict) -> str:
        repo = self.repository(params.get("repositoryName"))
        digest = check_digest(params.get("digest"))
        if not self.blobs.has(digest):
            raise ServiceError("LayersNotFoundException",
                               f"The layer '{digest}' is not in the blob store: it cannot be held "
                               f"by repository '{repo.name}'")
        self._hold_blob(repo, digest)
        return digest

    def _put_manifest_write(self, params: dict):
        repo = self.repository(params.get("repositoryName"))
        try:
            raw = base64.b64decode(params.get("manifest") or "", validate=True)
        except (binascii.Error, TypeError):
            raise invalid("Invalid parameter at 'manifest': not base64") from None
        return self.store_manifest(repo, raw, params.get("mediaType"), params.get("tag"),
                                   strict=False)

    def _delete_images_write(self, params: dict) -> dict:
        return self.handle("BatchDeleteImage", params)

    def _begin_upload_write(self, params: dict) -> str:
        repo = self.repository(params.get("repositoryName"))
        upload_id = params.get("uploadId")
        if self._layer_uploads.get(upload_id) != repo.name:   # live, it began already
            try:
                self.begin_upload(repo.name, upload_id)
            except InvalidInputError as error:
                raise invalid(str(error)) from None
        return upload_id

    def _upload_part_write(self, params: dict) -> int:
        repo = self.repository(params.get("repositoryName"))
        upload_id, size = params.get("uploadId"), params.get("size")
        upload = self.upload_for(repo.name, upload_id) if isinstance(upload_id, str) else None
        if upload is None or isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ServiceError("UploadNotFoundException", f"The upload with id '{upload_id}' does not "
                                                          f"exist in repository '{repo.name}'")
        try:
            upload.advance_to(size)   # live: already there; replayed: read from the upload's file
        except InvalidInputError:
            self.cancel_upload(upload_id)
            raise ServiceError("UploadNotFoundException", f"The bytes of upload '{upload_id}' are not "
                                                          "all in the blob store any more") from None
        return size

    def _end_upload_write(self, params: dict) -> None:
        upload_id = params.get("uploadId")
        if isinstance(upload_id, str) and upload_id in self._layer_uploads:
            self.cancel_upload(upload_id)
