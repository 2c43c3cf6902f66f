"""Fargate: the size table of the limits, ECS's error text, placement refused, zone spread."""

import math

import pytest

from quaymaster.errors import ServiceError
from quaymaster.scaling.fargate import check_fargate_size, check_no_placement, spread_zones


@pytest.mark.parametrize("cpu, memory", [
    (256, 512), (256, 2048), (512, 1024), (512, 4096), (1024, 8192), (2048, 16384), (4096, 30720),
    (8192, 16384), (8192, 61440), (16384, 32768), (16384, 122880)])
def test_table_sizes_accepted(cpu, memory):
    check_fargate_size(cpu, memory)


@pytest.mark.parametrize("cpu, memory", [
    (256, 4096), (256, 1536), (512, 512), (1024, 9216), (4096, 31744), (8192, 18432),
    (16384, 36864), (128, 512), (32768, 65536), ("256", 512), (256, None), (True, 512)])
def test_other_sizes_refused(cpu, memory):
    with pytest.raises(ServiceError) as info:
        check_fargate_size(cpu, memory)
    assert info.value.code == "ClientException"
    assert info.value.message.startswith("Invalid 'cpu' setting for task.")


def test_placement_refused():
    with pytest.raises(ServiceError, match="placementStrategy"):
        check_no_placement([{"type": "binpack", "field": "cpu"}], None)
    with pytest.raises(ServiceError, match="placementConstraints"):
        check_no_placement(None, [{"type": "distinctInstance"}])
    check_no_placement([], [])


def test_zone_spread():
    assert spread_zones(5, ["a", "b", "c"]) == ["a", "b", "c", "a", "b"]
    assert spread_zones(3, ["a", "b", "c"], {"a": 2, "b": 0, "c": 1}) == ["b", "b", "c"]
    assert spread_zones(2, ["a", "a", "b"]) == ["a", "b"]          # duplicate subnets' zone once
    with pytest.raises(ServiceError, match="subnets"):
        spread_zones(1, [])


def test_spot_interruptions_are_seeded_per_task_and_at_the_rate():
    from quaymaster.scaling.fargate import spot_interruptions
    tasks = list(range(2000))
    first = spot_interruptions(7, tasks, 10, 0.5)
    assert (first == spot_interruptions(7, tasks, 10, 0.5)).all()
    assert (first[1000:] == spot_interruptions(7, tasks[1000:], 10, 0.5)).all()  # per task
    assert not (first == spot_interruptions(7, tasks, 11, 0.5)).all()
    hits = sum(spot_interruptions(7, tasks, minute, 0.5).sum() for minute in range(60))
    expected = 2000 * 60 * (1 - math.exp(-0.5 / 60))   # about 1000 in 2000 task-hours
    assert abs(hits - expected) < 4 * math.sqrt(expected)
    assert not spot_interruptions(7, tasks, 3, 0).any()
    with pytest.raises(ServiceError):
        spot_interruptions(7, tasks, 3, float("nan"))
