"""The shared value parsers, and every surface that reads a time zone through them."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

import pytest

from bot.app import criteria
from bot.app.criteria import CriteriaInvalid
from bot.core.errors import ConfigError, UsageError
from bot.core.settings import load_settings
from bot.core.values import parse_timezone
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
