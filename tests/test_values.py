"""The shared value parsers, and every surface that reads a time zone through them."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import date

import pytest

from bot.app import criteria
from bot.app.criteria import CriteriaInvalid
from bot.app.services import validate_key
from bot.core.errors import ConfigError, UsageError
from bot.core.settings import load_settings
from bot.core.values import (
    parse_date,
    parse_key,
    parse_number,
    parse_sprint_days,
    parse_timezone,
)
from bot.grammar import commands as g

NOT_ZONES = ["Europe", "America", "Mars/Olympus", "../../etc/passwd", "", "Europe/"]


@pytest.fixture(params=["system files", "tzdata package"])
def zone_data(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test once on the system's zone files and once on the ``tzdata`` wheel alone.

    With no search path, ``zoneinfo`` reads the ``tzdata`` package, where an area name is
    a folder inside the package (the case that raised ``IsADirectoryError``).
    """
    if request.param == "tzdata package":
        zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        yield request.param
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.parametrize("text", NOT_ZONES)
def test_a_name_that_is_not_a_zone_is_refused_with_an_example(zone_data: str, text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an IANA time zone; use e\.g\. Europe/Berlin"):
        parse_timezone(text)


@pytest.mark.parametrize("text", ["Europe/Berlin", "America/New_York", "UTC"])
def test_a_zone_name_is_returned_as_typed(zone_data: str, text: str) -> None:
    assert parse_timezone(text) == text


@pytest.mark.parametrize("text", ["Europe", "America"])
def test_an_area_in_a_command_gets_a_usage_message(zone_data: str, text: str) -> None:
    with pytest.raises(UsageError) as caught:
        g.parse(f'define fleet "Fleet" tz={text}')

    assert caught.value.message == (f"{text!r} is not an IANA time zone; use e.g. "
                                    "tz=Europe/Berlin.")


def test_an_area_in_the_environment_names_the_variable(zone_data: str) -> None:
    with pytest.raises(ConfigError, match="OUTCOME_TIMEZONE") as caught:
        load_settings({"OUTCOME_TIMEZONE": "America"})

    assert "is not an IANA time zone" in str(caught.value)


def test_an_area_in_a_criteria_file_points_at_its_line(zone_data: str) -> None:
    text = ("version: 1\ninitiatives:\n- key: fleet\n  name: Fleet\n  schedule:\n"
            "    timezone: Europe\n  metrics: []\n")

    with pytest.raises(CriteriaInvalid) as caught:
        criteria.load(text)

    assert [p.format("criteria.yaml") for p in caught.value.problems] == [
        "criteria.yaml:6: initiatives[0].schedule.timezone: 'Europe' is not an IANA time zone; "
        "use e.g. Europe/Berlin"
    ]


# ---------------------------------------------------------------------------- keys

@pytest.mark.parametrize("text", ["fleet", "deploy-time", "p99_latency", "2026q1", "a" * 64])
def test_a_key_is_returned_as_written(text: str) -> None:
    assert parse_key(text) == text


@pytest.mark.parametrize("text", ["", "Fleet", "-fleet", "_x", "a b", "fleet.deploy", "a" * 65,
                                  "fleet\n", "flëet", "this", "last", "all", "help"])
def test_a_key_that_breaks_a_rule_is_refused_with_the_rules(text: str) -> None:
    with pytest.raises(ValueError, match=r"lowercase letters, digits, '-' or '_'"):
        parse_key(text)


def test_the_services_and_the_grammar_refuse_the_same_keys() -> None:
    with pytest.raises(UsageError, match="'last' cannot be used as an initiative key: use "):
        validate_key("last", "an initiative")
    with pytest.raises(UsageError, match="'last' is not a valid initiative key: use "):
        g.parse("define last")


def test_a_key_typed_in_a_command_is_case_insensitive() -> None:
    assert g.parse("show Fleet") == g.Show("fleet")


# ---------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("text", "value"), [
    ("12", 12.0), ("12.5", 12.5), ("-3", -3.0), ("1e3", 1000.0), (" 7 ", 7.0),
    ("1_000.5", 1000.5), (".5", 0.5), ("+4", 4.0),
])
def test_a_number_is_read_with_grouping_and_exponents(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["2,5", "1,000", "1.234,5", "1,234.5", ",5"])
def test_a_number_with_a_comma_is_refused_with_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_number(text)
    assert str(caught.value) == (
        "must be written with a dot for decimals and no thousands separator, e.g. 2.5 or "
        f"1000 (got {text!r}: a comma reads differently by country)")


@pytest.mark.parametrize("text", ["", "forty", "12 min", "1/2", "--1"])
def test_text_that_is_not_a_number_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"^must be a number, e\.g\. 42 \(got "):
        parse_number(text)


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e999"])
def test_a_number_that_is_not_finite_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^must be a finite number"):
        parse_number(text)


def test_an_option_number_message_names_the_option() -> None:
    with pytest.raises(UsageError) as caught:
        g.parse("metric add fleet deploy baseline=forty")

    assert caught.value.message == "baseline must be a number, e.g. 42 (got 'forty')."


# ---------------------------------------------------------------------------- dates

@pytest.mark.parametrize(("text", "day"), [
    ("2026-12-31", date(2026, 12, 31)), ("2026-1-5", date(2026, 1, 5)),
    (" 2028-02-29 ", date(2028, 2, 29)),
])
def test_an_iso_date_is_read(text: str, day: date) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["", "2026-02-30", "2026-13-01", "31/12/2026", "Dec 31",
                                  "today", "2026-12-31T10:00", "20261231"])
def test_anything_but_an_iso_calendar_date_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"^must be a date like 2026-12-31 \(got "):
        parse_date(text)


def test_a_modal_date_and_an_option_date_read_the_same() -> None:
    assert g.parse_day("2027-03-31", "target date") == parse_date("2027-03-31")
    with pytest.raises(UsageError, match=r"^target date must be a date like 2026-12-31"):
        g.parse_day("2027-02-30", "target date")


# ---------------------------------------------------------------------------- sprint lengths

@pytest.mark.parametrize(("text", "days"), [("14", 14), ("14d", 14), ("2w", 14), ("1d", 1),
                                            ("91d", 91)])
def test_a_sprint_length_is_whole_days(text: str, days: int) -> None:
    assert parse_sprint_days(text) == days


@pytest.mark.parametrize("text", ["0", "0d", "92d", "36h", "soon", ""])
def test_a_sprint_length_outside_1_to_91_days_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="whole days between 1d and 91d"):
        parse_sprint_days(text)


def test_the_environment_and_the_grammar_share_the_sprint_rule() -> None:
    with pytest.raises(ConfigError, match=r"OUTCOME_SPRINT_DAYS='92'.*between 1d and 91d"):
        load_settings({"OUTCOME_SPRINT_DAYS": "92"})
    with pytest.raises(UsageError, match="sprint must be a duration of whole days"):
        g.parse("define fleet sprint=92")
