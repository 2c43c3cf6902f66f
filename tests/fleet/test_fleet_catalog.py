"""The instance-type catalog: real figures, self-consistent, strictly checked."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quaymaster.errors import InvalidInputError
from quaymaster.fleet.catalog import MemoryModel, load_catalog, parse_catalog, select_types

CATALOG = load_catalog()
GPU_FAMILIES = {"g4dn", "p3"}
ARM_FAMILIES = {"m7g", "c6g"}


def _document() -> dict:
    text = resources.files("quaymaster.fleet").joinpath("instance_types.json").read_text("utf-8")
    return json.loads(text)


def test_catalog_covers_the_common_ecs_families():
    families = {t.family for t in CATALOG.types.values()}
    assert len(CATALOG) >= 30
    assert {"t3", "m5", "m6i", "m7g", "c5", "c6g", "r5", "r6i", "g4dn", "p3", "inf1"} <= families


@pytest.mark.parametrize("item", list(CATALOG.types.values()), ids=lambda t: t.name)
def test_each_type_is_consistent(item):
    assert item.cpu_units == item.vcpus * 1024
    assert 0 < item.ecs_memory_mib < item.memory_mib
    assert item.eni_limit == item.max_network_interfaces - 1 >= 1
    assert (item.gpus > 0) == (item.family in GPU_FAMILIES)
    assert item.architecture == ("arm64" if item.family in ARM_FAMILIES else "x86_64")
    assert item.name.startswith(item.family + ".")
    assert item.weight > 0


def test_published_figures_where_known():
    # docs/sources quoted in the JSON: sentia-2018 table and aws/amazon-ecs-agent#3331.
    assert CATALOG["m5.large"].ecs_memory_mib == 7690
    assert CATALOG["c5.18xlarge"].ecs_memory_mib == 140780
    assert CATALOG["inf1.xlarge"].ecs_memory_mib == 7679
    assert CATALOG["p3.16xlarge"].gpus == 8 and CATALOG["g4dn.12xlarge"].gpus == 4
    assert CATALOG["inf1.xlarge"].gpus == 0  # Inferentia chips are not GPUs to ECS
    # EC2 maximum network interfaces: g4dn.xlarge 3, inf1.6xlarge 8, m5.16xlarge 15.
    assert CATALOG["g4dn.xlarge"].eni_limit == 2
    assert CATALOG["inf1.6xlarge"].eni_limit == 7
    assert CATALOG["m5.16xlarge"].eni_limit == 14


def test_model_entries_follow_the_model_and_observed_ones_stay_close():
    model = CATALOG.memory_model
    for item in CATALOG.types.values():
        predicted = model.registered_memory(item.memory_mib, item.vcpus)
        if item.ecs_memory_source == "model":
            assert item.ecs_memory_mib == predicted
        else:
            assert item.ecs_memory_source in CATALOG.sources
            # The model was fitted to these observations: within 4 % of each.
            assert abs(predicted - item.ecs_memory_mib) <= 0.04 * item.ecs_memory_mib, item.name


def test_memory_model_hand_computed():
    # m5.large: 8192 - (168 + 31*2 + ceil(8192*29/1000) = 238) = 7724
    assert MemoryModel(168, 31, 29).registered_memory(8192, 2) == 7724


@given(st.integers(1, 1 << 22), st.integers(1, 1 << 22), st.integers(1, 192))
def test_memory_model_is_monotone_in_memory(a, b, vcpus):
    low, high = sorted((a, b))
    model = CATALOG.memory_model
    assert model.registered_memory(low, vcpus) <= model.registered_memory(high, vcpus)


@pytest.mark.parametrize("key, value, field", [
    ("cpu_units", 1000, "instance_types[0].cpu_units"),
    ("eni_limit", 9, "instance_types[0].eni_limit"),
    ("ecs_memory_mib", 999_999, "instance_types[0].ecs_memory_mib"),
    ("ecs_memory_source", "blog-nobody-wrote", "instance_types[0].ecs_memory_source"),
    ("architecture", "sparc", "instance_types[0].architecture"),
    ("weight", 0, "instance_types[0].weight"),
    ("vcpus", -2, "instance_types[0].vcpus"),
    ("family", "m5", "instance_types[0].family"),
    ("name", 7, "instance_types[0].name"),
    ("architecture", None, "instance_types[0].architecture"),
])
def test_bad_catalog_entries_are_refused_naming_the_field(key, value, field):
    document = _document()
    document["instance_types"][0][key] = value
    with pytest.raises(InvalidInputError) as info:
        parse_catalog(document)
    assert info.value.field == field and info.value.value == value


def test_model_mismatch_duplicates_and_unknown_keys_are_refused():
    document = _document()
    first_model = next(i for i, t in enumerate(document["instance_types"])
                       if t["ecs_memory_source"] == "model")
    document["instance_types"][first_model]["ecs_memory_mib"] -= 1
    with pytest.raises(InvalidInputError, match="memory_model gives"):
        parse_catalog(document)
    document = _document()
    document["instance_types"].append(copy.deepcopy(document["instance_types"][0]))
    with pytest.raises(InvalidInputError, match="listed twice"):
        parse_catalog(document)
    document = _document()
    document["instance_types"][0]["colour"] = "blue"
    with pytest.raises(InvalidInputError):
        parse_catalog(document)
    with pytest.raises(InvalidInputError):
        parse_catalog({"instance_types": []})


def test_load_catalog_from_a_file(tmp_path):
    path = tmp_path / "mine.json"
    document = _document()
    document["instance_types"] = document["instance_types"][:2]
    path.write_text(json.dumps(document))
    assert list(load_catalog(path).types) == ["t3.micro", "t3.small"]
    path.write_text("{not json")
    with pytest.raises(InvalidInputError) as info:
        load_catalog(path)
    assert info.value.field == "catalog"
    for unreadable in (tmp_path / "missing.json", tmp_path, 0):  # 0 would be a file descriptor
        with pytest.raises(InvalidInputError) as info:
            load_catalog(unreadable)
        assert info.value.field == "catalog"


@pytest.mark.parametrize("entry", [5, "t3.micro", ["name", "t3.micro"]])
def test_catalog_entries_must_be_objects(entry):
    document = _document()
    document["instance_types"][1] = entry
    with pytest.raises(InvalidInputError) as info:
        parse_catalog(document)
    assert info.value.field == "instance_types[1]"


def test_resolve_names_and_patterns():
    assert [t.name for t in CATALOG.resolve("m7g.*")] == [
        "m7g.medium", "m7g.large", "m7g.xlarge", "m7g.2xlarge", "m7g.4xlarge"]
    assert [t.name for t in CATALOG.resolve(" c5.large ")] == ["c5.large"]
    for bad in ("zz.large", "q9.*", "", 7):
        with pytest.raises(InvalidInputError) as info:
            CATALOG.resolve(bad)
        assert info.value.field == "instance_types" and info.value.value == bad


def test_select_types_list_keeps_catalog_weights_and_collapses_overlaps():
    types, weights = select_types(CATALOG, ["t3.large", "t3.*", "m5.xlarge"])
    assert [t.name for t in types][:2] == ["t3.large", "t3.micro"]
    assert len(types) == 7 and weights == [t.weight for t in types]


def test_select_types_mapping_splits_each_share_by_catalog_weight():
    types, weights = select_types(CATALOG, {"c6g.*": 1, "m5.large": 3})
    c6g = [w for t, w in zip(types, weights) if t.family == "c6g"]
    assert sum(c6g) == pytest.approx(1.0)
    assert weights[-1] == pytest.approx(3.0) and types[-1].name == "m5.large"
    family_weights = [t.weight for t in types if t.family == "c6g"]
    assert c6g == pytest.approx([w / sum(family_weights) for w in family_weights])


@pytest.mark.parametrize("selection", [
    "m5.large", [], {}, {"m5.*": 1, "m5.large": 1}, {"m5.large": 0}, {"m5.large": float("nan")},
    {"m5.large": True}, ["m5.large", "nope.large"],
])
def test_select_types_refuses_bad_selections(selection):
    with pytest.raises(InvalidInputError):
        select_types(CATALOG, selection)
