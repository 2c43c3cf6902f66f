"""Building images through the ECR API for tests."""

import base64
import hashlib
import json

OCI = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_layer(registry, repo: str, data: bytes) -> str:
    upload = registry.initiate_layer_upload({"repositoryName": repo})
    registry.upload_layer_part({"repositoryName": repo, "uploadId": upload["uploadId"],
                                "partFirstByte": 0, "partLastByte": len(data) - 1,
                                "layerPartBlob": data})
    return registry.complete_layer_upload({"repositoryName": repo, "uploadId": upload["uploadId"],
                                           "layerDigests": [sha(data)]})["layerDigest"]


def manifest_for(config: bytes, layers: list[bytes], media_type: str = OCI) -> str:
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": sha(config), "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": sha(layer), "size": len(layer)} for layer in layers]}
    return json.dumps(doc, sort_keys=True)


def push(registry, repo: str, layers: list[bytes], tag: str | None = None,
         config: bytes = b'{"architecture":"amd64"}') -> str:
    """Upload what is missing and PutImage; the image digest."""
    have = registry.batch_check_layer_availability(
        {"repositoryName": repo, "layerDigests": [sha(b) for b in [config, *layers]]})
    present = {layer["layerDigest"] for layer in have["layers"]}
    for blob in dict.fromkeys([config, *layers]):
        if sha(blob) not in present:
            upload_layer(registry, repo, blob)
    request = {"repositoryName": repo, "imageManifest": manifest_for(config, layers)}
    if tag:
        request["imageTag"] = tag
    return registry.put_image(request)["image"]["imageId"]["imageDigest"]


PUSH_ACTIONS = {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"}


def allow_all(principal, action, arn):
    return True


def deny_pushes(principal, action, arn):
    return action not in PUSH_ACTIONS


def password_of(registry, principal=None):
    token = registry.get_authorization_token({}, principal=principal)
    token = token["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password
