"""Review periods at their edges: fiscal years, quarter starts, labels, date and period words.

Written against surviving mutants of ``bot/core/periods.py``; every clock is a fixed instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.errors import UsageError
from bot.core.periods import (
    PERIOD_USAGE,
    THIS_SPRINT,
    Cadence,
    Period,
    PeriodSpec,
    local_midnight,
    parse_date,
    parse_period,
    resolve,
    week_start,
)

APRIL = Cadence(timezone="UTC", fiscal_year_start_month=4)
TODAY = date(2026, 11, 29)


def quarter(cadence: Cadence, now: datetime, kind: str = "this_quarter") -> Period:
    return resolve(PeriodSpec(kind), cadence, now)


# ------------------------------------------------------------------------- fiscal quarters


def test_the_first_fiscal_quarter_of_a_year_starting_in_april_is_labelled_with_its_fiscal_year():
    # A fiscal year is named by the calendar year it ends in (the same rule that makes
    # Nov 2026 "FY2027 Q4" for a year starting in February): April 2026 opens FY2027.
    first = quarter(APRIL, datetime(2026, 4, 1, tzinfo=UTC))
    assert first.local_dates() == (date(2026, 4, 1), date(2026, 6, 30))
    assert first.label == "this quarter (FY2027 Q1)"


def test_every_quarter_of_an_april_fiscal_year_carries_the_same_fiscal_year():
    labels = [quarter(APRIL, datetime(2026, month, 15, tzinfo=UTC)).label
              for month in (4, 7, 10)] + [quarter(APRIL, datetime(2027, 3, 31, tzinfo=UTC)).label]
    assert labels == [f"this quarter (FY2027 Q{n})" for n in (1, 2, 3, 4)]


def test_the_last_day_before_the_fiscal_year_starts_is_in_the_previous_fiscal_year():
    last = quarter(APRIL, datetime(2026, 3, 31, 23, 59, tzinfo=UTC))
    assert last.local_dates() == (date(2026, 1, 1), date(2026, 3, 31))
    assert last.label == "this quarter (FY2026 Q4)"


def test_last_quarter_steps_back_across_the_fiscal_year_boundary():
    previous = quarter(APRIL, datetime(2026, 4, 2, tzinfo=UTC), "last_quarter")
    assert previous.local_dates() == (date(2026, 1, 1), date(2026, 3, 31))
    assert previous.label == "last quarter (FY2026 Q4)"


def test_a_fiscal_year_starting_in_december_puts_december_in_the_first_quarter():
    december = Cadence(timezone="UTC", fiscal_year_start_month=12)
    first = quarter(december, datetime(2026, 12, 1, tzinfo=UTC))
    assert first.local_dates() == (date(2026, 12, 1), date(2027, 2, 28))
    assert first.label == "this quarter (FY2027 Q1)"
    assert quarter(december, datetime(2027, 11, 30, tzinfo=UTC)).label == (
        "this quarter (FY2027 Q4)")


def test_calendar_quarters_are_labelled_with_the_calendar_year():
    cadence = Cadence(timezone="UTC")
    assert quarter(cadence, datetime(2026, 1, 1, tzinfo=UTC)).label == "this quarter (Q1 2026)"
    assert quarter(cadence, datetime(2026, 12, 31, tzinfo=UTC)).label == "this quarter (Q4 2026)"
    assert quarter(cadence, datetime(2026, 3, 31, tzinfo=UTC)).local_dates() == (
        date(2026, 1, 1), date(2026, 3, 31))


def test_a_quarter_is_cut_at_local_midnights_of_the_cadence_zone():
    tokyo = Cadence(timezone="Asia/Tokyo", fiscal_year_start_month=4)
    # 2026-03-31 16:00 UTC is already April 1st in Tokyo.
    period = quarter(tokyo, datetime(2026, 3, 31, 16, tzinfo=UTC))
    assert period.start == datetime(2026, 3, 31, 15, tzinfo=UTC)
    assert period.end == datetime(2026, 6, 30, 15, tzinfo=UTC)
    assert period.timezone == "Asia/Tokyo"


# ------------------------------------------------------------------------- sprints


def test_a_sprint_starts_on_its_anchor_day_and_the_last_sprint_ends_there():
    cadence = Cadence(sprint_days=14, sprint_anchor=date(2026, 11, 16), timezone="UTC")
    this = resolve(THIS_SPRINT, cadence, datetime(2026, 11, 16, tzinfo=UTC))
    assert (this.start, this.end, this.label) == (
        datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "this sprint")
    last = resolve(PeriodSpec("last_sprint"), cadence, datetime(2026, 11, 29, 23, tzinfo=UTC))
    assert (last.start, last.end, last.label) == (
        datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC), "last sprint")


# ------------------------------------------------------------------------- other periods


def test_since_between_and_last_days_are_labelled_and_end_after_the_last_local_day():
    now = datetime(2026, 11, 29, 10, tzinfo=UTC)
    cadence = Cadence(timezone="UTC")
    since = resolve(PeriodSpec("since", start=date(2026, 10, 1)), cadence, now)
    assert (since.start, since.end, since.label) == (
        datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "since Oct 1, 2026")
    between = resolve(PeriodSpec("between", start=date(2026, 10, 1), end=date(2026, 10, 31)),
                      cadence, now)
    assert (between.end, between.label) == (datetime(2026, 11, 1, tzinfo=UTC), "custom period")
    week = resolve(PeriodSpec("last_days", days=7), cadence, now)
    assert (week.start, week.end, week.label) == (
        datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "last 7 days")


def test_an_unknown_period_kind_is_a_usage_error_with_the_accepted_forms():
    with pytest.raises(UsageError) as caught:
        resolve(PeriodSpec("next_sprint"), Cadence(), datetime(2026, 11, 29, tzinfo=UTC))
    assert caught.value.message == "Unknown period 'next_sprint'."
    assert caught.value.usage == PERIOD_USAGE


def test_a_period_spec_describes_itself_as_the_user_would_say_it():
    assert PeriodSpec("since", start=date(2026, 10, 1)).describe() == "since 2026-10-01"
    assert PeriodSpec("between", start=date(2026, 10, 1), end=date(2026, 10, 31)).describe() \
        == "2026-10-01 – 2026-10-31"
    assert PeriodSpec("last_days", days=30).describe() == "last 30 days"
    assert PeriodSpec("last_quarter").describe() == "last quarter"


def test_a_running_period_is_clipped_at_now_and_a_past_one_at_its_end():
    period = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC),
                    "this sprint", "UTC")
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert period.clipped_end(now) == now
    assert period.clipped_end(now + timedelta(days=30)) == period.end


def test_the_dates_text_names_the_year_once_or_twice_and_ends_on_the_last_included_day():
    zone = "Europe/Berlin"
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo(zone)
    same_year = Period(local_midnight(date(2026, 11, 16), berlin),
                       local_midnight(date(2026, 11, 30), berlin), "s", zone)
    assert same_year.dates_text() == "Nov 16 – Nov 29, 2026 (Europe/Berlin)"
    across = Period(local_midnight(date(2026, 12, 28), berlin),
                    local_midnight(date(2027, 1, 11), berlin), "s", zone)
    assert across.dates_text() == "Dec 28, 2026 – Jan 10, 2027 (Europe/Berlin)"


# ------------------------------------------------------------------------- date words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-01", date(2026, 10, 1)),
        ("2026-1-5", date(2026, 1, 5)),
        ("Oct 1", date(2026, 10, 1)),
        ("1st October", date(2026, 10, 1)),
        ("October 22nd, 2024", date(2024, 10, 22)),
        ("2024 sept 3rd", date(2024, 9, 3)),
        ("May 4th!", date(2026, 5, 4)),
        ("3 August", date(2026, 8, 3)),
        ("Nov 29", TODAY),
        ("Nov 30", date(2025, 11, 30)),
        ("  dec 31? ", date(2025, 12, 31)),
    ],
)
def test_date_words_parse_and_a_yearless_date_is_the_latest_on_or_before_today(text, expected):
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["Oct", "12", "Oct 1 Nov", "Oct 32", "2026-02-30", "oct 1 2026 2027", "first of oct"],
)
def test_a_date_that_is_not_one_is_a_usage_error_that_shows_the_iso_form(text):
    with pytest.raises(UsageError) as caught:
        parse_date(text, today=TODAY)
    assert caught.value.message == f"{text.strip()!r} is not a date I understand."
    assert caught.value.usage == "YYYY-MM-DD, e.g. 2026-10-01"


# ------------------------------------------------------------------------- period words


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("this sprint", PeriodSpec("this_sprint")),
        ("sprint", PeriodSpec("this_sprint")),
        ("Current Sprint?", PeriodSpec("this_sprint")),
        ("previous sprint", PeriodSpec("last_sprint")),
        ("quarter", PeriodSpec("this_quarter")),
        ("current quarter", PeriodSpec("this_quarter")),
        ("last quarter", PeriodSpec("last_quarter")),
        ("previous quarter", PeriodSpec("last_quarter")),
        ("past 1 day", PeriodSpec("last_days", days=1)),
        ("last 3660 days", PeriodSpec("last_days", days=3660)),
        ("since oct 1st 2025", PeriodSpec("since", start=date(2025, 10, 1))),
        ("from Oct 1 to Oct 1", PeriodSpec("between", start=date(2026, 10, 1),
                                            end=date(2026, 10, 1))),
        ("between Oct 1 until Oct 31", PeriodSpec("between", start=date(2026, 10, 1),
                                                   end=date(2026, 10, 31))),
    ],
)
def test_every_period_phrase_parses(words, expected):
    assert parse_period(words.split(), today=TODAY) == expected


def test_blank_words_mean_this_sprint():
    assert parse_period(["", "  "], today=TODAY) == THIS_SPRINT


@pytest.mark.parametrize("days", ["0", "3661"])
def test_a_number_of_days_outside_one_to_3660_is_refused(days):
    with pytest.raises(UsageError) as caught:
        parse_period(["last", days, "days"], today=TODAY)
    assert caught.value.message == "The number of days must be between 1 and 3660."
    assert caught.value.usage == PERIOD_USAGE


def test_a_period_that_ends_before_it_starts_is_refused_naming_both_dates():
    with pytest.raises(UsageError) as caught:
        parse_period(["between", "2026-10-05", "and", "2026-10-01"], today=TODAY)
    assert caught.value.message == "The period ends (2026-10-01) before it starts (2026-10-05)."
    assert caught.value.usage == PERIOD_USAGE


def test_an_unknown_phrase_is_refused_quoting_it_as_typed():
    with pytest.raises(UsageError) as caught:
        parse_period(["Since"], today=TODAY)
    assert caught.value.message == "'Since' is not a period I understand."
    assert caught.value.usage == PERIOD_USAGE
    with pytest.raises(UsageError) as two_words:
        parse_period(["next", "Sprint"], today=TODAY)
    assert two_words.value.message == "'next Sprint' is not a period I understand."


def test_yearless_dates_in_period_words_are_read_against_the_given_today():
    long_ago = date(2020, 1, 10)
    assert parse_period(["since", "Jan", "5"], today=long_ago) == PeriodSpec(
        "since", start=date(2020, 1, 5))
    assert parse_period(["from", "Dec", "20", "to", "Jan", "5"], today=long_ago) == PeriodSpec(
        "between", start=date(2019, 12, 20), end=date(2020, 1, 5))
    assert parse_period(["from", "Jan", "2", "to", "Jan", "5"], today=long_ago) == PeriodSpec(
        "between", start=date(2020, 1, 2), end=date(2020, 1, 5))


def test_a_week_starts_on_the_monday_on_or_before_the_day():
    assert week_start(date(2026, 11, 16)) == date(2026, 11, 16)  # a Monday
    assert week_start(date(2026, 11, 22)) == date(2026, 11, 16)  # the Sunday after
