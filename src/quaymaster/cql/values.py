"""The typed values of CQL (docs/semantics.md: cluster query language, ECS contract section 4).

Arguments are parsed here once, at compile time: dotted versions, times,
integers, decimal numbers and patterns. A malformed argument raises
:class:`BadValue` with a message; the parser turns it into a ``CQLError`` at
the argument's position. Instance values are read with the same functions, so
the expression and the instance always agree on what a version or a number is.
"""

from __future__ import annotations

import functools
import re
import warnings
from datetime import UTC, datetime, timedelta

import re2

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # refusals are reported as CQL errors, not on stderr

# ASCII digits only: Python's \d and int() also accept other scripts' digits.
_VERSION_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_NUMBER_RE = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?")
_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?)?")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
MICROS = 1_000_000


class BadValue(Exception):
    """An argument that does not parse for its subject or operator."""


# -- dotted versions ----------------------------------------------------------

def version_key(text: str) -> tuple[int, ...] | None:
    """The comparison key of a dotted version, or None if ``text`` is not one.

    Parts compare as integers and a shorter version is padded with zeros
    (``1.14 == 1.14.0``); dropping trailing zero parts makes that padding
    implicit, so plain tuple comparison orders versions.
    """
    if not _VERSION_RE.fullmatch(text):
        return None
    parts = [int(p) for p in text.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def parse_version(text: str) -> tuple[int, ...]:
    key = version_key(text)
    if key is None:
        raise BadValue(f"invalid version {_show(text)} for agentVersion: expected numbers "
                       "separated by dots, like 1.14.5")
    return key


# -- integers -----------------------------------------------------------------

def parse_integer(text: str) -> int:
    if not _INTEGER_RE.fullmatch(text):
        raise BadValue(f"invalid integer {_show(text)} for runningTasksCount")
    return int(text)


# -- times ----------------------------------------------------------------------

def parse_time(text: str) -> int:
    """Microseconds since the epoch (UTC) of one of the four accepted forms.

    ``2018-06-18T22:28:28+00:00`` (any ``+HH:MM``/``-HH:MM`` offset),
    ``2018-06-18T22:28:28Z``, ``2018-06-18T22:28:28`` (UTC) and ``2018-06-18``
    (midnight UTC). Computed in integers so year 1 with an offset cannot
    overflow ``datetime``.
    """
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise BadValue(f"invalid time {_show(text)} for registeredAt: expected 2018-06-18, "
                       "2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00")
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        ordinal = datetime(int(year), int(month), int(day)).toordinal()
    except ValueError as exc:
        raise BadValue(f"invalid time {_show(text)} for registeredAt: {exc}") from None
    clock = [int(v) if v is not None else 0 for v in (hour, minute, second)]
    if clock[0] > 23 or clock[1] > 59 or clock[2] > 59:
        raise BadValue(f"invalid time {_show(text)} for registeredAt: time of day out of range")
    offset = 0
    if zone and zone != "Z":
        off_hours, off_minutes = int(zone[1:3]), int(zone[4:6])
        if off_hours > 23 or off_minutes > 59:
            raise BadValue(f"invalid time {_show(text)} for registeredAt: offset out of range")
        offset = (off_hours * 3600 + off_minutes * 60) * (1 if zone[0] == "+" else -1)
    seconds = ((ordinal - _EPOCH_ORDINAL) * 86400 + clock[0] * 3600 + clock[1] * 60
               + clock[2] - offset)
    return seconds * MICROS


def format_time(micros: int) -> str:
    """The string a pattern on ``registeredAt`` is matched against.

    ISO 8601 in UTC as Python writes it: ``2018-06-18T22:28:28+00:00``, with
    ``.ffffff`` when there are microseconds.
    """
    try:
        return (_EPOCH + timedelta(microseconds=int(micros))).isoformat()
    except OverflowError:  # beyond datetime's years 1..9999
        return str(int(micros))


# -- decimal numbers (attribute:* with an ordered operator) -------------------

Number = tuple  # (sign, exponent, digits): sign * 0.digits * 10**exponent


def decimal_number(text: str) -> Number | None:
    """``text`` as an exact decimal number, or None if it is not one.

    Optional sign, digits, optional fraction, optional exponent. Kept as
    digits and an integer exponent rather than float (which rounds) or
    Decimal (which refuses huge exponents) so every comparison is exact.
    """
    match = _NUMBER_RE.fullmatch(text)
    if match is None:
        return None
    sign_text, whole, fraction, exponent = match.groups()
    digits = whole + (fraction or "")
    significant = digits.lstrip("0")
    if not significant:
        return (0, 0, "")
    # Value = 0.<significant> * 10**power, with power from the decimal point's place.
    power = len(whole) - (len(digits) - len(significant)) + (int(exponent) if exponent else 0)
    return (-1 if sign_text == "-" else 1, power, significant.rstrip("0"))


def compare_numbers(a: Number, b: Number) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b``."""
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    if a[0] == 0:
        return 0
    # Same sign: compare magnitudes, exponent first, then digits (no trailing zeros,
    # so lexicographic order is numeric order), and flip for negatives.
    magnitude = _cmp((a[1], a[2]), (b[1], b[2]))
    return magnitude * a[0]


def compare_attribute(value: str, argument: str) -> int:
    """Order of an attribute value and an argument: numbers if both are, else code points."""
    a, b = decimal_number(value), decimal_number(argument)
    if a is not None and b is not None:
        return compare_numbers(a, b)
    return _cmp(value, argument)


def _cmp(a, b) -> int:
    return (a > b) - (a < b)


# -- patterns -----------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def compile_pattern(text: str) -> LinearPattern:
    """A compiled regular expression; matching uses ``fullmatch`` (the whole value).

    The syntax is Python's (its messages report syntax errors); matching is RE2's,
    linear in the value, so a pattern that needs backtracking (backreferences,
    lookaround, possessive or atomic groups, conditionals) is refused.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and friends
            re.compile(text)
    except re.error as exc:
        raise BadValue(f"invalid pattern {_show(text)}: {exc.msg}") from None
    except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
        raise BadValue(f"invalid pattern {_show(text)}: {exc}") from None
    try:
        return LinearPattern(re2.compile(_as_re2(text), _RE2_OPTIONS))
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        raise BadValue(f"pattern {_show(text)} cannot be matched in linear time ({reason}); CQL "
                       "patterns take no backreferences, lookaround, possessive or atomic groups, "
                       "and repeat counts up to 1000") from None
    except (UnicodeEncodeError, ValueError, OverflowError, MemoryError) as exc:
        raise BadValue(f"invalid pattern {_show(text)}: {exc}") from None


class LinearPattern:
    """An RE2 pattern: ``fullmatch`` answers True or False, in time linear in the value."""

    __slots__ = ("_regexp",)

    def __init__(self, regexp):
        self._regexp = regexp

    def fullmatch(self, value: str) -> bool:
        try:
            return self._regexp.fullmatch(value) is not None
        except UnicodeEncodeError:  # a lone surrogate: no pattern text can equal it
            return False


def _as_re2(text: str) -> str:
    """The pattern in RE2's syntax where it differs: Python reads ``a{,3}`` as ``a{0,3}``
    where RE2 reads it literally. Rewritten only where Python parses both alike (so a
    ``{,`` inside a class or before a non-number stays as written)."""
    if "{," not in text:
        return text
    rewritten = text.replace("{,", "{0,")
    try:
        parse = re._parser.parse  # type: ignore[attr-defined]  # Python's own parse tree
        same = str(parse(text)) == str(parse(rewritten))
    except re.error:
        return text
    return rewritten if same else text


def _show(text: str, limit: int = 60) -> str:
    """A value quoted for a message, shortened so a 2000-character token stays readable."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return repr(text)
