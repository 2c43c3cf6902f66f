"""Schedules: AWS's documented cron examples as next-fire tables, at(), rate(), time zones."""

import datetime as dt

import pytest

from quaymaster.errors import ServiceError
from quaymaster.scaling.schedule import parse_schedule

UTC = dt.timezone.utc


def ms(text):
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000) \
        if "+" not in text else int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def iso(value):
    return dt.datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


def runs(expression, after, count=3, timezone=None, anchor=0):
    schedule = parse_schedule(expression, timezone)
    out, t = [], ms(after)
    for _ in range(count):
        t = schedule.next_after(t, anchor)
        if t is None:
            break
        out.append(iso(t))
    return out


# The examples of AWS's cron expression reference (EventBridge, which scheduled scaling uses),
# and one of each wildcard it documents. 2026-01-01 is a Thursday.
@pytest.mark.parametrize("expression, after, expected", [
    ("cron(0 10 * * ? *)", "2026-01-01T09:00", ["2026-01-01T10:00", "2026-01-02T10:00",
                                                "2026-01-03T10:00"]),
    ("cron(15 12 * * ? *)", "2026-01-01T12:15", ["2026-01-02T12:15", "2026-01-03T12:15",
                                                 "2026-01-04T12:15"]),
    ("cron(0 18 ? * MON-FRI *)", "2026-01-02T19:00", ["2026-01-05T18:00", "2026-01-06T18:00",
                                                      "2026-01-07T18:00"]),
    ("cron(0 8 1 * ? *)", "2026-01-01T08:00", ["2026-02-01T08:00", "2026-03-01T08:00",
                                               "2026-04-01T08:00"]),
    ("cron(0/15 * * * ? *)", "2026-01-01T00:07", ["2026-01-01T00:15", "2026-01-01T00:30",
                                                  "2026-01-01T00:45"]),
    ("cron(0/10 * ? * MON-FRI *)", "2026-01-02T23:55", ["2026-01-05T00:00", "2026-01-05T00:10",
                                                        "2026-01-05T00:20"]),
    ("cron(0/5 8-17 ? * MON-FRI *)", "2026-01-01T17:54", ["2026-01-01T17:55", "2026-01-02T08:00",
                                                          "2026-01-02T08:05"]),
    ("cron(0 9 ? * 2#1 *)", "2026-01-01T00:00", ["2026-01-05T09:00", "2026-02-02T09:00",
                                                 "2026-03-02T09:00"]),   # first Monday
    ("cron(0 12 ? * 3#2 *)", "2026-01-01T00:00", ["2026-01-13T12:00", "2026-02-10T12:00",
                                                  "2026-03-10T12:00"]),  # second Tuesday
    ("cron(0 12 L * ? *)", "2026-01-31T12:00", ["2026-02-28T12:00", "2026-03-31T12:00",
                                                "2026-04-30T12:00"]),    # last day of the month
    ("cron(0 0 ? * 6L *)", "2026-01-01T00:00", ["2026-01-30T00:00", "2026-02-27T00:00",
                                                "2026-03-27T00:00"]),    # last Friday
    ("cron(0 12 3W * ? *)", "2026-01-01T00:00", ["2026-01-02T12:00", "2026-02-03T12:00",
                                                 "2026-03-03T12:00"]),   # 3 Jan is a Saturday
    ("cron(0 12 1W * ? *)", "2026-02-01T00:00", ["2026-02-02T12:00", "2026-03-02T12:00",
                                                 "2026-04-01T12:00"]),   # 1 Feb/Mar are Sun: Mon
    ("cron(0 0 1 1 ? 2030)", "2026-01-01T00:00", ["2030-01-01T00:00"]),  # the year field
    ("cron(30 6 * * ? 2026-2027)", "2027-12-31T07:00", []),
    ("cron(0 0 29 2 ? *)", "2026-01-01T00:00", ["2028-02-29T00:00", "2032-02-29T00:00",
                                                "2036-02-29T00:00"]),    # sparse: leap days
    ("cron(0 0 ? * L *)", "2026-01-01T00:00", ["2026-01-03T00:00", "2026-01-10T00:00",
                                               "2026-01-17T00:00"]),   # L alone: Saturday
    ("cron(0 0 L-2 * ? *)", "2026-01-01T00:00", ["2026-01-29T00:00", "2026-02-26T00:00",
                                                 "2026-03-29T00:00"]),
    ("cron(0 0 1W 8 ? *)", "2026-01-01T00:00", ["2026-08-03T00:00", "2027-08-02T00:00",
                                                "2028-08-01T00:00"]),   # 1 Aug 2026 is a Sat
    ("cron(0 0 31W 5 ? *)", "2026-01-01T00:00", ["2026-05-29T00:00", "2027-05-31T00:00",
                                                 "2028-05-31T00:00"]),  # 31 May 2026 is a Sun
    ("cron(0 0 ? * 6#5 *)", "2026-01-01T00:00", ["2026-01-30T00:00", "2026-05-29T00:00",
                                                 "2026-07-31T00:00"]),  # a fifth Friday only
    ("cron(0 22-2 * * ? *)", "2026-01-01T00:30", ["2026-01-01T01:00", "2026-01-01T02:00",
                                                  "2026-01-01T22:00"]),  # a range that wraps
    ("cron(0 0 ? * FRI-MON *)", "2026-01-05T00:00", ["2026-01-09T00:00", "2026-01-10T00:00",
                                                     "2026-01-11T00:00"]),
    ("cron(0 0 1 1 ? */2)", "2026-01-01T00:00", ["2028-01-01T00:00", "2030-01-01T00:00",
                                                 "2032-01-01T00:00"]),  # increments of years
    ("cron(0 0 1 1 ? 2027/3)", "2026-01-01T00:00", ["2027-01-01T00:00", "2030-01-01T00:00",
                                                    "2033-01-01T00:00"]),
    ("cron(0 0 1 1 ? 2026-2030/2,2040)", "2026-01-01T00:00", ["2028-01-01T00:00", "2030-01-01T00:00",
                                                              "2040-01-01T00:00"]),
    ("cron(0 0 1/10 * ? *)", "2026-01-01T00:00", ["2026-01-11T00:00", "2026-01-21T00:00",
                                                  "2026-01-31T00:00"]),
    ("cron(0 0 1 1/3 ? *)", "2026-01-01T00:00", ["2026-04-01T00:00", "2026-07-01T00:00",
                                                 "2026-10-01T00:00"]),
    ("cron(0 0 ? * SUN#2 *)", "2026-01-01T00:00", ["2026-01-11T00:00", "2026-02-08T00:00",
                                                   "2026-03-08T00:00"]),
    ("cron(0 0 ? JAN,JUL MON *)", "2026-01-20T00:00", ["2026-01-26T00:00", "2026-07-06T00:00",
                                                       "2026-07-13T00:00"]),
])
def test_cron_next_runs(expression, after, expected):
    assert runs(expression, after) == expected


def test_cron_in_a_time_zone_follows_its_wall_clock():
    # 08:00 in Paris is 07:00 UTC in winter and 06:00 UTC in summer (change on 29 March 2026)
    assert runs("cron(0 8 * * ? *)", "2026-03-27T12:00", 3, "Europe/Paris") == [
        "2026-03-28T07:00", "2026-03-29T06:00", "2026-03-30T06:00"]


def test_skipped_and_repeated_wall_times():
    # 02:30 does not exist in New York on 8 March 2026: it runs an hour later, at 03:30 EDT
    assert runs("cron(30 2 * * ? *)", "2026-03-07T12:00", 3, "America/New_York") == [
        "2026-03-08T07:30", "2026-03-09T06:30", "2026-03-10T06:30"]
    # 01:30 happens twice on 1 November 2026: it runs once, the first time (EDT)
    assert runs("cron(30 1 * * ? *)", "2026-10-31T12:00", 3, "America/New_York") == [
        "2026-11-01T05:30", "2026-11-02T06:30", "2026-11-03T06:30"]


def test_at_runs_once_in_its_zone():
    assert runs("at(2026-01-05T06:30:00)", "2026-01-01T00:00", 3, "Asia/Tokyo") == ["2026-01-04T21:30"]
    assert runs("at(2026-01-05T06:30:00)", "2026-01-05T06:30") == []


def test_rate_counts_from_its_anchor():
    anchor = ms("2026-01-01T00:00")
    schedule = parse_schedule("rate(90 minutes)")
    assert schedule.next_after(anchor - 1, anchor) == anchor
    assert schedule.next_after(anchor, anchor) == anchor + 90 * 60_000
    assert schedule.next_after(anchor + 90 * 60_000 + 1, anchor) == anchor + 180 * 60_000
    assert parse_schedule("rate(1 day)").period_ms == 86_400_000
    assert parse_schedule("rate(2 hours)").period_ms == 7_200_000


@pytest.mark.parametrize("expression, timezone, words", [
    ("cron(0 10 1 * MON *)", None, "both the day-of-month and the day-of-week"),
    ("cron(0 10 * * * *)", None, "both the day-of-month and the day-of-week"),
    ("cron(0 10 ? * ? *)", None, "not a valid cron expression"),
    ("cron(0 10 * * ?)", None, "not a valid cron expression"),
    ("cron(61 10 * * ? *)", None, "not a valid cron expression"),
    ("cron(0 10 * * ? 1969)", None, "not a valid cron expression"),
    ("cron(0 10 * * ? 1960/5)", None, "1970-2199"),
    ("cron(0 0 LW * ? *)", None, "not a valid cron expression"),
    ("rate(0 minutes)", None, "must be at("),
    ("rate(5 weeks)", None, "must be at("),
    ("at(2026-02-30T00:00:00)", None, "not a valid date"),
    ("at(2026-01-01 00:00:00)", None, "must be at("),
    ("every day", None, "must be at("),
    ("cron(0 10 * * ? *)", "Mars/Olympus_Mons", "Timezone"),
    ("cron(0 10 * * ? *)", "", "Timezone"),
    ("cron(0 10 * * ? *)", "../../etc/passwd", "Timezone"),
])
def test_bad_schedules_refused_naming_the_field(expression, timezone, words):
    with pytest.raises(ServiceError) as info:
        parse_schedule(expression, timezone)
    assert info.value.code == "ValidationException"
    assert words in info.value.message
    assert ("Timezone" if timezone is not None else "Schedule") in info.value.message
