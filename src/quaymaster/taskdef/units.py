"""Task-level ``cpu`` and ``memory`` values: ECS's strings to integers.

ECS accepts the task size as text and converts it when the definition is
registered: ``cpu`` in CPU units (``"1024"``) or vCPUs (``"1 vCPU"``,
``"0.25 vcpu"``; 1 vCPU = 1024 units), ``memory`` in MiB (``"512"``) or GB
(``"2 GB"``, ``"2GB"``; 1 GB = 1024 MiB). Units are case-insensitive and may be
separated from the number by spaces. A value that does not come out as a whole
number of units or MiB (``"0.1 vCPU"`` = 102.4 units) is refused. A JSON
integer is accepted as the plain number (the spec allows it; botocore would
insist on a string).
"""

from __future__ import annotations

import re
from fractions import Fraction

from quaymaster.errors import TaskDefinitionError
from quaymaster.model.schema import INT64_MAX
from quaymaster.taskdef.parse import shown

_CPU_UNITS_PER_VCPU = 1024
_MIB_PER_GB = 1024
_NUMBER_WITH_UNIT = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$")


def parse_cpu(value: object, field: str = "cpu") -> int:
    """CPU units of a task-level ``cpu``: ``"1024"``, ``"1 vCPU"``, ``"0.25 vcpu"`` or 1024."""
    return _parse(value, field, what="cpu", unit_name="vcpu", unit_size=_CPU_UNITS_PER_VCPU,
                  plain="CPU units")


def parse_memory(value: object, field: str = "memory") -> int:
    """MiB of a task-level ``memory`` value: ``"512"``, ``"2 GB"``, ``"2GB"`` or 512."""
    return _parse(value, field, what="memory", unit_name="gb", unit_size=_MIB_PER_GB,
                  plain="MiB")


def _parse(value: object, field: str, *, what: str, unit_name: str, unit_size: int,
           plain: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TaskDefinitionError(f"task {what} must be a string such as \"1024\", got {value!r}",
                                  field=field, value=value)
    if isinstance(value, int):
        if value < 0:
            raise TaskDefinitionError(f"task {what} must not be negative, got {value!r}",
                                      field=field, value=value)
        return _within_int64(value, value, field, what, plain)
    match = _NUMBER_WITH_UNIT.match(value)
    unit = match.group("unit").lower() if match else None
    if match is None or unit not in ("", unit_name):
        raise TaskDefinitionError(
            f"task {what} {value!r} is not a number of {plain} or of "
            f"{unit_name_display(unit_name)}",
            field=field, value=value)
    try:
        number = Fraction(match.group("number"))
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise TaskDefinitionError(f"task {what} {shown(value)} has too many digits", field=field,
                                  value=value) from None
    amount = number * unit_size if unit else number
    if amount.denominator != 1:
        raise TaskDefinitionError(
            f"task {what} {shown(value)} is not a whole number of {plain} ({_approximately(amount)})",
            field=field, value=value)
    return _within_int64(int(amount), value, field, what, plain)


def _approximately(amount: Fraction) -> str:
    """A fraction shown as a decimal (without float, which overflows past 1e308)."""
    whole, rest = divmod(amount.numerator, amount.denominator)
    text = str(whole) if len(str(whole)) <= 30 else f"about 10^{len(str(whole)) - 1}"
    return f"{text}.{rest * 1000 // amount.denominator:03d}..."


def _within_int64(amount: int, value: object, field: str, what: str, plain: str) -> int:
    """``amount``, refused when placement's int64 columns could not hold it."""
    if amount > INT64_MAX:
        raise TaskDefinitionError(f"task {what} {shown(value)} is more than {INT64_MAX} {plain}",
                                  field=field, value=value)
    return amount


def unit_name_display(unit_name: str) -> str:
    """How the unit is written in messages."""
    return {"vcpu": "vCPUs", "gb": "GB"}[unit_name]
