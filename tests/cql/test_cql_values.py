"""Typed values (versions, numbers, times) and the mask kernels, against plain references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quaymaster.cql import values
from quaymaster.kernels.cql_masks import gather_by_code, or_positive_into

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("a,b,order", [
    ("1.14.5", "1.100.0", -1), ("1.14", "1.14.0", 0), ("1.14", "1.14.0.0.1", -1), ("2", "1.999", 1),
    ("01.2", "1.02", 0), ("0", "0.0.0", 0), ("1.9.0", "1.10", -1),
])
def test_versions_compare_part_by_part_padded_with_zeros(a, b, order):
    ka, kb = values.version_key(a), values.version_key(b)
    assert (ka > kb) - (ka < kb) == order


@pytest.mark.parametrize("text", ["", "1.", ".1", "1..2", "v1.2", "1.2-beta", "1 .2", "١.٢", "+1"])
def test_non_versions(text):
    assert values.version_key(text) is None
    with pytest.raises(values.BadValue):
        values.parse_version(text)


decimal_texts = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + (f".{fraction}" if fraction else "")
    + (f"e{exponent}" if exponent is not None else ""),
    st.sampled_from(["", "+", "-"]), st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{1,5}", fullmatch=True)),
    st.one_of(st.none(), st.integers(-30, 30)))


@given(decimal_texts, decimal_texts)
def test_decimal_numbers_compare_exactly(a, b):
    expected = (Decimal(a) > Decimal(b)) - (Decimal(a) < Decimal(b))
    assert values.compare_numbers(values.decimal_number(a), values.decimal_number(b)) == expected


def test_numbers_too_large_for_decimal_still_compare():
    huge, larger = "1e99999999999999999999999", "2e99999999999999999999999"
    assert values.compare_attribute(huge, larger) == -1
    assert values.compare_attribute("-" + huge, "5") == -1
    assert values.compare_attribute("1e-99999999999999999999999", "0") == 1


@pytest.mark.parametrize("value,argument,order", [
    ("10", "9", 1), ("10", "9x", -1), ("abc", "5", 1), ("1.14.5", "1.2", -1), ("-0", "0", 0),
    ("0010", "1e1", 0), (".5", "1", -1),  # '.5' is not a decimal number: code points
])
def test_attribute_order_numbers_else_code_points(value, argument, order):
    assert values.compare_attribute(value, argument) == order


moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.just(UTC)).map(lambda m: m.replace(microsecond=0))


@given(moments, st.integers(-23 * 60 - 59, 23 * 60 + 59))
def test_times_in_the_four_forms(moment, offset_minutes):
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    naive = moment.replace(tzinfo=None).isoformat()          # 0999-01-01T00:00:00: 4-digit years
    assert values.parse_time(naive + "Z") == micros
    assert values.parse_time(naive + "+00:00") == micros
    assert values.parse_time(naive) == micros
    midnight = moment.replace(hour=0, minute=0, second=0)
    assert values.parse_time(naive[:10]) == (midnight - EPOCH) // timedelta(microseconds=1)
    if 2 <= moment.year <= 9998:   # keep the local time inside datetime's range
        local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
        assert values.parse_time(local.isoformat()) == micros
    assert values.format_time(micros) == moment.isoformat()


@pytest.mark.parametrize("text", ["2018-02-30", "2018-13-01", "2018-02-13T24:00:00", "2018-02-13T10:60:00Z",
                                  "2018-02-13T10:00:00+24:00", "2018-02-13T10:00", "18-02-13",
                                  "2018-02-13T10:00:00.5Z", "2018-02-13 10:00:00", "2018-02-13T10:00:00z"])
def test_times_outside_the_four_forms(text):
    with pytest.raises(values.BadValue):
        values.parse_time(text)


@given(st.lists(st.integers(-1, 7), max_size=60), st.lists(st.booleans(), min_size=8, max_size=8),
       st.booleans())
def test_gather_by_code_broadcasts_per_value_decisions(codes, table, missing):
    got = gather_by_code(np.array(codes, dtype=np.int32), np.array(table), missing)
    assert got.tolist() == [missing if c < 0 else table[c] for c in codes]


@given(st.lists(st.tuples(st.booleans(), st.integers(-2, 3)), max_size=60))
def test_or_positive_into(pairs):
    out = np.array([p for p, _ in pairs], dtype=np.bool_)
    or_positive_into(out, np.array([c for _, c in pairs], dtype=np.int64))
    assert out.tolist() == [p or c > 0 for p, c in pairs]
