from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import UsageError
from bot.core.periods import Cadence, DayOfYear, PeriodSpec, parse_date, parse_period, resolve
from bot.grammar import commands as g

BERLIN = Cadence(sprint_days=14, sprint_anchor=date(2026, 3, 16), timezone="Europe/Berlin")


def test_this_sprint_starts_at_local_midnight_of_the_sprint_start():
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    period = resolve(PeriodSpec("this_sprint"), BERLIN, now)
    assert period.start == datetime(2026, 3, 15, 23, tzinfo=UTC)  # 00:00 CET
    assert period.local_dates() == (date(2026, 3, 16), date(2026, 3, 29))


def test_a_sprint_across_the_spring_dst_change_ends_at_local_midnight_and_is_an_hour_short():
    # Europe/Berlin springs forward on 2026-03-29; the sprint ends at 00:00 CEST on Mar 30.
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    period = resolve(PeriodSpec("this_sprint"), BERLIN, now)
    assert period.end == datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert period.end.astimezone(ZoneInfo("Europe/Berlin")).hour == 0
    assert period.end - period.start == timedelta(days=14, hours=-1)


def test_a_sprint_across_the_autumn_dst_change_is_an_hour_long():
    cadence = Cadence(sprint_days=7, sprint_anchor=date(2026, 10, 19), timezone="Europe/Berlin")
    period = resolve(PeriodSpec("this_sprint"), cadence, datetime(2026, 10, 22, tzinfo=UTC))
    # Berlin falls back on 2026-10-25, inside the week from Oct 19.
    assert period.end - period.start == timedelta(days=7, hours=1)


def test_last_sprint_is_the_one_before_and_anchors_in_the_future_still_work():
    cadence = Cadence(sprint_days=14, sprint_anchor=date(2027, 1, 4), timezone="UTC")
    now = datetime(2026, 11, 29, tzinfo=UTC)
    this = resolve(PeriodSpec("this_sprint"), cadence, now)
    last = resolve(PeriodSpec("last_sprint"), cadence, now)
    assert last.end == this.start
    assert this.start <= now < this.end


def test_quarters_follow_a_fiscal_year_starting_in_february():
    cadence = Cadence(timezone="America/New_York", fiscal_year_start_month=2)
    now = datetime(2026, 11, 29, 15, tzinfo=UTC)
    this = resolve(PeriodSpec("this_quarter"), cadence, now)
    last = resolve(PeriodSpec("last_quarter"), cadence, now)
    assert this.local_dates() == (date(2026, 11, 1), date(2027, 1, 31))
    assert last.local_dates() == (date(2026, 8, 1), date(2026, 10, 31))
    assert "FY2027 Q4" in this.label


def test_calendar_quarters_at_the_turn_of_the_year():
    now = datetime(2027, 1, 2, tzinfo=UTC)
    last = resolve(PeriodSpec("last_quarter"), Cadence(), now)
    assert last.local_dates() == (date(2026, 10, 1), date(2026, 12, 31))
    assert "Q4 2026" in last.label


def test_since_between_and_last_days_cover_whole_local_days():
    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    cadence = Cadence(timezone="Europe/Berlin")
    since = resolve(PeriodSpec("since", start=date(2026, 10, 1)), cadence, now)
    assert since.local_dates() == (date(2026, 10, 1), date(2026, 11, 29))
    between = resolve(
        PeriodSpec("between", start=date(2026, 10, 1), end=date(2026, 10, 31)), cadence, now
    )
    assert between.local_dates() == (date(2026, 10, 1), date(2026, 10, 31))
    assert resolve(PeriodSpec("last_days", days=7), cadence, now).local_dates() == (
        date(2026, 11, 23),
        date(2026, 11, 29),
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("", PeriodSpec("this_sprint")),
        ("last sprint", PeriodSpec("last_sprint")),
        ("this quarter", PeriodSpec("this_quarter")),
        ("last 30 days", PeriodSpec("last_days", days=30)),
        ("since 2026-10-01", PeriodSpec("since", start=date(2026, 10, 1))),
        ("since Oct 1", PeriodSpec("since", start=date(2026, 10, 1))),
        (
            "between 2026-09-01 and 2026-09-30",
            PeriodSpec("between", start=date(2026, 9, 1), end=date(2026, 9, 30)),
        ),
    ],
)
def test_period_words_parse(words, expected):
    assert parse_period(words.split(), today=date(2026, 11, 29)) == expected


@pytest.mark.parametrize(
    "words",
    [
        "next sprint",
        "last -3 days",
        "last 0 days",
        "since yesterday-ish",
        "between 2026-10-05 and 2026-10-01",
        "since 2026-13-01",
    ],
)
def test_bad_periods_are_refused_with_the_accepted_forms(words):
    with pytest.raises(UsageError) as error:
        parse_period(words.split(), today=date(2026, 11, 29))
    assert error.value.message


def test_a_date_without_a_year_means_the_most_recent_one():
    assert parse_date("Dec 15", today=date(2026, 11, 29)) == date(2025, 12, 15)
    assert parse_date("1 October", today=date(2026, 11, 29)) == date(2026, 10, 1)


def test_a_day_without_a_year_is_dated_when_the_review_runs_not_when_it_is_typed():
    command = g.parse("review since Oct 1")
    assert isinstance(command, g.ReviewCommand)
    assert command.period == PeriodSpec("since", start=DayOfYear(10, 1))

    in_november = resolve(command.period, BERLIN, datetime(2026, 11, 29, 12, tzinfo=UTC))
    in_january = resolve(command.period, BERLIN, datetime(2027, 1, 3, 12, tzinfo=UTC))
    in_october = resolve(command.period, BERLIN, datetime(2027, 10, 2, 12, tzinfo=UTC))

    assert in_november.local_dates()[0] == date(2026, 10, 1)
    assert in_january.local_dates()[0] == date(2026, 10, 1)
    assert in_october.local_dates()[0] == date(2027, 10, 1)


def test_a_day_without_a_year_is_dated_in_the_initiatives_time_zone():
    # 22:30 UTC on Sep 30 is already Oct 1 in Berlin: "since Oct 1" starts today there.
    period = resolve(PeriodSpec("since", start=DayOfYear(10, 1)), BERLIN,
                     datetime(2026, 9, 30, 22, 30, tzinfo=UTC))
    assert period.local_dates()[0] == date(2026, 10, 1)

    in_utc = Cadence(timezone="UTC")
    earlier = resolve(PeriodSpec("since", start=DayOfYear(10, 1)), in_utc,
                      datetime(2026, 9, 30, 22, 30, tzinfo=UTC))
    assert earlier.local_dates()[0] == date(2025, 10, 1)


def test_february_29_without_a_year_is_the_latest_leap_day():
    assert DayOfYear(2, 29).on_or_before(date(2027, 3, 1)) == date(2024, 2, 29)
    assert DayOfYear(2, 29).on_or_before(date(2028, 2, 29)) == date(2028, 2, 29)
    with pytest.raises(UsageError):
        parse_period(["since", "Feb", "30"])


def test_a_yearless_range_across_new_year_keeps_its_order_and_a_reversed_one_is_refused():
    spec = parse_period(["between", "Dec", "20", "and", "Jan", "5"])
    period = resolve(spec, BERLIN, datetime(2027, 1, 10, 12, tzinfo=UTC))
    assert period.local_dates() == (date(2026, 12, 20), date(2027, 1, 5))

    reversed_range = parse_period(["between", "Jan", "5", "and", "Dec", "20"])
    with pytest.raises(UsageError, match=r"ends .* before it starts"):
        resolve(reversed_range, BERLIN, datetime(2027, 1, 10, 12, tzinfo=UTC))
    assert reversed_range.describe() == "Jan 5 – Dec 20"
