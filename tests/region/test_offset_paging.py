"""The one pagination implementation: every codec's pages cover a listing exactly once, bad tokens refused."""

import pytest
from hypothesis import given, settings, strategies as st

from quaymaster.errors import ServiceError
from quaymaster.paging import DecimalOffset, PrefixedBase64, TaggedJsonBase64, offset_page
from quaymaster.region import Region

CODECS = [PrefixedBase64("qm:"), TaggedJsonBase64("images"), DecimalOffset()]


class BadToken(Exception):
    pass


def walk(items, size, codec):
    pages, token = [], None
    while True:
        chunk, token = offset_page(items, token, size, codec, BadToken)
        pages.append(chunk)
        if token is None:
            return pages


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(), max_size=40), st.integers(1, 12), st.sampled_from(CODECS))
def test_pages_cover_the_listing_once_in_order(items, size, codec):
    pages = walk(items, size, codec)
    assert [x for p in pages for x in p] == items
    assert all(len(p) == size for p in pages[:-1]) and len(pages[-1]) <= size
    assert len(pages) == max(1, -(-len(items) // size))


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("token", ["", "garbage", "²", "-1", "eyJvIjotMSwidyI6ImltYWdlcyJ9", "cW06LTE="])
def test_undecodable_or_negative_tokens_are_refused(codec, token):
    with pytest.raises(BadToken):
        offset_page(list(range(5)), token, 2, codec, BadToken)


def test_a_token_past_the_end_is_refused_unless_allowed():
    codec = DecimalOffset()
    with pytest.raises(BadToken):
        offset_page([1, 2], "3", 1, codec, BadToken)
    assert offset_page([1, 2], "3", 1, codec, BadToken, past_end_ok=True) == ([], None)


def test_ecr_tokens_of_one_listing_are_refused_by_another():
    token = TaggedJsonBase64("images").encode(2)
    with pytest.raises(BadToken):
        offset_page(list(range(5)), token, 2, TaggedJsonBase64("repositories"), BadToken)


def test_ecs_list_operations_keep_their_bounds_and_messages():
    region = Region()
    for i in range(3):
        region.handle("ecs", "CreateCluster", {"clusterName": f"c{i}"})
    first = region.handle("ecs", "ListClusters", {"maxResults": 2})
    rest = region.handle("ecs", "ListClusters", {"nextToken": first["nextToken"]})
    assert len(first["clusterArns"]) == 2 and len(rest["clusterArns"]) == 1 and "nextToken" not in rest
    with pytest.raises(ServiceError, match="maxResults must be between 1 and 100, found 101"):
        region.handle("ecs", "ListClusters", {"maxResults": 101})
    with pytest.raises(ServiceError, match="Invalid nextToken") as bad:
        region.handle("ecs", "ListClusters", {"nextToken": "nope"})
    assert bad.value.code == "InvalidParameterException"
