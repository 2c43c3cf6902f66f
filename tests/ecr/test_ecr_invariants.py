"""Random sequences of pushes, tag moves, deletes and mounts keep the registry consistent.

Invariants after every step: the store holds exactly the blobs some
repository holds; every blob an image names is held by its repository; the
tag map and each image's tags agree; an index's images are present.
"""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ecr_helpers import push, sha
from quaymaster.ecr import ECRRegistry
from quaymaster.errors import ServiceError

REPOS = ["r/one", "r/two"]
LAYERS = [b"a", b"b", b"c", b"d"]
TAGS = ["v1", "v2", "latest"]


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.registry = ECRRegistry()
        for name in REPOS:
            self.registry.create_repository({"repositoryName": name})

    @rule(repo=st.sampled_from(REPOS), layers=st.lists(st.sampled_from(LAYERS), min_size=1,
                                                      max_size=3, unique=True),
          tag=st.none() | st.sampled_from(TAGS))
    def push_image(self, repo, layers, tag):
        try:
            push(self.registry, repo, layers, tag=tag)
        except ServiceError as exc:
            assert exc.code in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException")

    @rule(repo=st.sampled_from(REPOS), tag=st.sampled_from(TAGS), by_digest=st.booleans())
    def delete(self, repo, tag, by_digest):
        record = self.registry.repositories[repo].image_tags.get(tag)
        image_id = {"imageDigest": record} if by_digest and record else {"imageTag": tag}
        self.registry.batch_delete_image({"repositoryName": repo, "imageIds": [image_id]})

    @rule(repo=st.sampled_from(REPOS))
    def toggle_immutability(self, repo):
        current = self.registry.repositories[repo].tag_mutability
        self.registry.put_image_tag_mutability({"repositoryName": repo, "imageTagMutability":
                                                "MUTABLE" if current == "IMMUTABLE" else "IMMUTABLE"})

    @rule(repo=st.sampled_from(REPOS))
    def recreate(self, repo):
        self.registry.delete_repository({"repositoryName": repo, "force": True})
        self.registry.create_repository({"repositoryName": repo})

    @invariant()
    def consistent(self):
        held = set()
        for repo in self.registry.repositories.values():
            held |= repo.layers
            for digest, record in repo.images.items():
                assert set(record.manifest.blobs) <= repo.layers
                for tag in record.tags:
                    assert repo.image_tags[tag] == digest
            for tag, digest in repo.image_tags.items():
                assert tag in repo.images[digest].tags
        assert set(self.registry.blobs.digests()) == held
        assert all(self.registry.blobs.get(d) == b for b in LAYERS if (d := sha(b)) in held)


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
