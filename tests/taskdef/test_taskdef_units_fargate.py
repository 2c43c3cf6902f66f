"""Task-level cpu/memory strings and the Fargate size table (limits.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from quaymaster.errors import TaskDefinitionError
from quaymaster.taskdef import parse_task_definition
from quaymaster.taskdef.fargate import FARGATE_SIZES, is_fargate_size
from quaymaster.taskdef.units import parse_cpu, parse_memory
from taskdef_builders import container, definition

CPU_STRINGS = [
    ("1024", 1024), ("1 vCPU", 1024), ("1 vcpu", 1024), ("1vCPU", 1024), ("0.25 vCPU", 256),
    ("0.125 VCPU", 128), ("2 vCpu", 2048), ("0.5 vcpu", 512), ("  512  ", 512),
    ("192 vCPU", 196608), (4096, 4096),
]
MEMORY_STRINGS = [
    ("512", 512), ("2 GB", 2048), ("2GB", 2048), ("2 gb", 2048), ("0.5 GB", 512), ("1Gb", 1024),
    ("30 GB", 30720), (2048, 2048),
]
BAD_CPU = ["", "vCPU", "1 GB", "1.5", "0.1 vCPU", "-1", "1e3", "one", "1 vCPU extra", True, 1.0,
           None, [1024], -5, "\u0661\u0660\u0662\u0664"]  # the last: 1024 in Arabic-Indic digits
BAD_MEMORY = ["", "GB", "1 vCPU", "512.5", "0.1 GB", "2 TB", "2 MiB", "-512", False, 2.0, None, -1]


@pytest.mark.parametrize(("text", "units"), CPU_STRINGS)
def test_cpu_strings(text, units):
    assert parse_cpu(text) == units


@pytest.mark.parametrize(("text", "mib"), MEMORY_STRINGS)
def test_memory_strings(text, mib):
    assert parse_memory(text) == mib


@pytest.mark.parametrize("value", BAD_CPU)
def test_bad_cpu_strings_name_field_and_value(value):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_cpu(value)
    assert caught.value.field == "cpu"
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", [2**63, str(2**63), "9" * 5000, "9" * 5000 + " vCPU"])
@pytest.mark.parametrize("parse, field", [(parse_cpu, "cpu"), (parse_memory, "memory")])
def test_sizes_beyond_int64_or_python_digits_are_refused(parse, field, value):
    with pytest.raises(TaskDefinitionError) as caught:
        parse(value)
    assert caught.value.field == field and caught.value.value == value


def test_the_largest_int64_size_is_accepted():
    assert parse_memory(str(2**63 - 1)) == parse_memory(2**63 - 1) == 2**63 - 1


@pytest.mark.parametrize("value", BAD_MEMORY)
def test_bad_memory_strings_name_field_and_value(value):
    with pytest.raises(TaskDefinitionError) as caught:
        parse_memory(value)
    assert caught.value.field == "memory"
    assert repr(value) in str(caught.value)


@given(st.integers(0, 10 ** 6))
def test_cpu_units_and_vcpus_agree(units):
    # quarter vCPUs are exact in both spellings
    assert parse_cpu(str(units)) == units
    assert parse_cpu(f"{units} vCPU") == units * 1024
    assert parse_cpu(f"{units / 4} vcpu") == units * 256


@given(st.integers(1, 1024))
def test_gb_is_1024_mib(gigabytes):
    assert parse_memory(f"{gigabytes} GB") == parse_memory(f"{gigabytes}GB") == gigabytes * 1024


def _fargate(cpu, memory):
    return definition(container(memory=None), networkMode="awsvpc", cpu=cpu, memory=memory,
                      requiresCompatibilities=["FARGATE"])


# The table of limits.md, written out by hand (not from FARGATE_SIZES).
VALID_PAIRS = [
    (256, 512), (256, 1024), (256, 2048),
    (512, 1024), (512, 2048), (512, 3072), (512, 4096),
    (1024, 2048), (1024, 5120), (1024, 8192),
    (2048, 4096), (2048, 9216), (2048, 16384),
    (4096, 8192), (4096, 20480), (4096, 30720),
    (8192, 16384), (8192, 20480), (8192, 61440),
    (16384, 32768), (16384, 40960), (16384, 122880),
]
INVALID_PAIRS = [
    (256, 256), (256, 1536), (256, 3072), (512, 512), (512, 5120), (1024, 1024), (1024, 9216),
    (2048, 3072), (2048, 17408), (4096, 31744), (8192, 18432), (8192, 65536), (16384, 36864),
    (16384, 131072), (128, 512), (384, 1024), (32768, 65536),
]


@pytest.mark.parametrize(("cpu", "memory"), VALID_PAIRS)
def test_valid_fargate_pairs(cpu, memory):
    assert is_fargate_size(cpu, memory)
    requirements = parse_task_definition(_fargate(str(cpu), str(memory))).requirements()
    assert (requirements.cpu, requirements.memory) == (cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), INVALID_PAIRS)
def test_invalid_fargate_pairs(cpu, memory):
    assert not is_fargate_size(cpu, memory)
    with pytest.raises(TaskDefinitionError) as caught:
        parse_task_definition(_fargate(str(cpu), str(memory)))
    assert caught.value.field == "cpu"
    assert "Invalid 'cpu' setting for task." in str(caught.value)


def test_fargate_pairs_in_vcpu_and_gb_spelling():
    requirements = parse_task_definition(_fargate("0.25 vCPU", "0.5 GB")).requirements()
    assert (requirements.cpu, requirements.memory) == (256, 512)
    with pytest.raises(TaskDefinitionError, match="Invalid 'cpu' setting"):
        parse_task_definition(_fargate("0.25 vCPU", "3 GB"))


def test_fargate_table_counts():
    # 3 + 4 + 7 + 13 + 23 + 12 + 12 sizes, as limits.md's steps give them
    assert {cpu: len(sizes) for cpu, sizes in FARGATE_SIZES.items()} == {
        256: 3, 512: 4, 1024: 7, 2048: 13, 4096: 23, 8192: 12, 16384: 12}


@given(st.integers(0, 20000), st.integers(0, 130000))
def test_is_fargate_size_matches_the_written_rule(cpu, memory):
    ranges = {256: None, 512: (1024, 4096, 1024), 1024: (2048, 8192, 1024),
              2048: (4096, 16384, 1024), 4096: (8192, 30720, 1024),
              8192: (16384, 61440, 4096), 16384: (32768, 122880, 8192)}
    if cpu == 256:
        expected = memory in (512, 1024, 2048)
    elif cpu in ranges:
        low, high, step = ranges[cpu]
        expected = low <= memory <= high and (memory - low) % step == 0
    else:
        expected = False
    assert is_fargate_size(cpu, memory) == expected
