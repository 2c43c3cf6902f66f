"""Layer operations and authorization tokens (ECR, section 2).

InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload write into the
shared blob store; BatchCheckLayerAvailability and GetDownloadUrlForLayer
read it. GetAuthorizationToken issues the password the registry protocol's
Basic auth carries as ``AWS:<password>``, valid 12 hours of the clock: a
signed token (``quaymaster.ecr.tokens``), so a restarted server still accepts it.
"""

from __future__ import annotations

import base64
import binascii

from quaymaster.ecr.api_model import invalid, to_datetime, validate_request
from quaymaster.ecr.blobs import DigestMismatchError, Upload
from quaymaster.ecr import tokens
from quaymaster.ecr.names import is_digest
from quaymaster.errors import InvalidInputError, ServiceError

TOKEN_LIFETIME = 12 * 3600
PART_SIZE = 10 * 1024 * 1024
ROOT = "root"


class LayerOperations:
    """Mixin of ECRRegistry: layer uploads, layer reads, authorization tokens."""

    def __init__(self):
        self._layer_uploads: dict[str, str] = {}         # upload id -> repository name

    # -- tokens ----------------------------------------------------------
    def get_authorization_token(self, request: dict | None = None, *, principal: str | None = None
                                ) -> dict:
        request = validate_request("GetAuthorizationToken", request)
        for registry_id in request.get("registryIds", []):
            self._registry_id({"registryId": registry_id})
        expires = self.now() + TOKEN_LIFETIME
        password = tokens.issue(self.blobs.token_key, principal or self.root_principal(),
                                self.account, self.region, expires)
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        return {"authorizationData": [{"authorizationToken": token,
                                       "expiresAt": to_datetime(expires),
                                       "proxyEndpoint": self.endpoint}]}

    def root_principal(self) -> str:
        return f"arn:aws:iam::{self.account}:root"

    def authenticate(self, authorization: str | None) -> str | None:
        """The principal a ``Basic`` Authorization header's token was issued to, or None.

        None when the header is missing, malformed, not ``AWS:<password>``, or
        the token is unknown or past its 12 hours.
        """
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(authorization[6:].strip(),
                                                 validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if user != "AWS":
            return None
        return tokens.verify(self.blobs.token_key, password, self.account, self.region, self.now())

    # -- uploads, shared by the API and the registry protocol ----------
    def begin_upload(self, name: str, upload_id: str | None = None) -> Upload:
        """Start an upload into repository ``name`` (which must exist); given an ``upload_id``,
        resume the one of that id (a journaled ``BeginUpload`` or a snapshot's upload)."""
        with self.lock:
            upload = self.blobs.start_upload(upload_id)
            self._layer_uploads[upload.upload_id] = name
            return upload

    def resume_upload(self, name: str, upload_id: str, size: int) -> Upload | None:
        """The upload ``upload_id`` of ``name`` at its acknowledged ``size``, from the bytes its
        file holds; None (and no upload) if they are not all there."""
        with self.lock:
            upload = self.begin_upload(name, upload_id)
            try:
                upload.advance_to(size)
            except InvalidInputError:
                self.cancel_upload(upload_id)
                return None
            return upload

    def uploads_in_progress(self) -> list[dict]:
        """Every upload in progress and its size, made durable (fsynced) as of now."""
        with self.lock:
            out = []
            for upload_id, name in sorted(self._layer_uploads.items()):
                upload = self.blobs.upload(upload_id)
                if upload is not None:
                    upload.sync()
                    out.append({"uploadId": upload_id, "repositoryName": name, "size": upload.size})
            return out

    def upload_for(self, name: str, upload_id: str) -> Upload | None:
        """The upload ``upload_id`` in progress for repository ``name``, or None."""
        upload = self.blobs.upload(upload_id)
        return upload if upload is not None and self._layer_uploads.get(upload_id) == name else None

    def finish_upload(self, repo, upload_id: str, digest: str) -> str:
        """Verify and store the upload as ``digest``, held by ``repo``; DigestMismatchError else.

        The upload is over either way (a mismatch discards it).
        """
        with self.lock:
            stored = self.commit_upload(upload_id, digest)
            self._hold_blob(repo, stored)
            return stored

    def commit_upload(self, upload_id: str, digest: str) -> str:
        """Verify the upload and store its bytes (fsynced) as ``digest``; no repository holds
        it yet (the registry protocol then applies a ``HoldBlob`` write)."""
        with self.lock:
            try:
                return self.blobs.commit(upload_id, digest)
            finally:
                self._layer_uploads.pop(upload_id, None)

    def cancel_upload(self, upload_id: str) -> None:
        with self.lock:
            self.blobs.cancel(upload_id)
            self._layer_uploads.pop(upload_id, None)

    # -- upload operations ---------------------------------------------
    def initiate_layer_upload(self, request: dict) -> dict:
        request = validate_request("InitiateLayerUpload", request)
        repo = self._repo_of(request)
        upload = self.begin_upload(repo.name)
        return {"uploadId": upload.upload_id, "partSize": PART_SIZE}

    def _upload_of(self, request: dict):
        repo = self._repo_of(request)
        upload_id = request["uploadId"]
        upload = self.upload_for(repo.name, upload_id)
        if upload is None:
            raise ServiceError("UploadNotFoundException",
                               f"The upload with id '{upload_id}' does not exist in repository "
                               f"'{repo.name}'")
        return repo, upload

    def upload_layer_part(self, request: dict) -> dict:
        request = validate_request("UploadLayerPart", request)
        repo, upload = self._upload_of(request)
        blob = request["layerPartBlob"]
        if isinstance(blob, str):
            blob = blob.encode()
        first, last = request["partFirstByte"], request["partLastByte"]
        if first != upload.size or last != first + len(blob) - 1:
            raise ServiceError("InvalidLayerPartException",
                               f"The layer part of upload '{upload.upload_id}' must start at byte "
                               f"{upload.size} and end at partFirstByte + length - 1; got "
                               f"partFirstByte {first}, partLastByte {last}, {len(blob)} bytes")
        upload.append(blob)
        return {"registryId": self.account, "repositoryName": repo.name,
                "uploadId": upload.upload_id, "lastByteReceived": upload.size - 1}

    def complete_layer_upload(self, request: dict) -> dict:
        request = validate_request("CompleteLayerUpload", request)
        repo, upload = self._upload_of(request)
        digests = request["layerDigests"]
        if len(digests) != 1 or not is_digest(digests[0]):
            raise invalid(f"Invalid parameter at 'layerDigests': one sha256 digest, not {digests!r}")
        if upload.size == 0:
            raise ServiceError("EmptyUploadException",
                               f"The upload '{upload.upload_id}' contains no layer parts")
        if digests[0] in repo.layers:
            self.cancel_upload(upload.upload_id)
            raise ServiceError("LayerAlreadyExistsException",
                               f"The layer '{digests[0]}' already exists in repository '{repo.name}'")
        try:
            digest = self.finish_upload(repo, upload.upload_id, digests[0])
        except DigestMismatchError as exc:
            raise ServiceError("InvalidLayerException", str(exc)) from None
        return {"registryId": self.account, "repositoryName": repo.name,
                "uploadId": upload.upload_id, "layerDigest": digest}

    # -- reads -----------------------------------------------------------
    def batch_check_layer_availability(self, request: dict) -> dict:
        request = validate_request("BatchCheckLayerAvailability", request)
        repo = self._repo_of(request)
        layers, failures = [], []
        for digest in request["layerDigests"]:
            if not is_digest(digest):
                failures.append({"layerDigest": digest, "failureCode": "InvalidLayerDigest",
                                 "failureReason": f"Invalid layer digest {digest!r}"})
            elif digest in repo.layers and self.blobs.has(digest):
                layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE",
                               "layerSize": self.blobs.size(digest)})
            else:
                failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                                 "failureReason": "Could not find the requested layer"})
        return {"layers": layers, "failures": failures}

    def get_download_url_for_layer(self, request: dict) -> dict:
        request = validate_request("GetDownloadUrlForLayer", request)
        repo = self._repo_of(request)
        digest = request["layerDigest"]
        if not is_digest(digest):
            raise invalid(f"Invalid parameter at 'layerDigest': {digest!r} is not a sha256 digest")
        if digest not in repo.layers or not self.blobs.has(digest):
            raise ServiceError("LayersNotFoundException",
                               f"The layer '{digest}' does not exist in repository '{repo.name}'")
        return {"downloadUrl": f"{self.endpoint}/v2/{repo.name}/blobs/{digest}",
                "layerDigest": digest}

    def _collect_garbage(self, released: set[str]) -> None:
        """Release the blobs a deleted repository held."""
        for digest in released:
            self.blobs.release(digest)
