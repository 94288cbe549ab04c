"""The forecast to target on simulated trends whose crossing day is known
(bot.core.forecast): its 95 % range covers the true day, it says when the target is not
in sight, and the pace the target date needs."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.forecast import Forecast, forecast
from bot.core.points import Point
from bot.core.review import MetricDefinition, Status, assess_status

TODAY = date(2031, 3, 16)


def trend(start: float, pace: float, noise: float, seed: int, days: int = 28
          ) -> tuple[list[int], list[float]]:
    """``days`` daily values up to TODAY on the line ``start + pace * n``, with noise."""
    rng = random.Random(seed)
    first = TODAY.toordinal() - days + 1
    return ([first + n for n in range(days)],
            [start + pace * n + rng.gauss(0, noise) for n in range(days)])


def test_the_range_covers_the_true_day_in_at_least_90_percent_of_simulated_trends() -> None:
    covered, widths, runs = 0, [], 0
    for seed in range(1000):
        rng = random.Random(seed)
        pace = -rng.uniform(0.2, 1.0)  # minutes a day, toward a lower target
        noise = rng.uniform(0.5, 2.0)
        days, values = trend(40.0, pace, noise, seed)
        target = 40.0 + pace * 27 - rng.uniform(5, 25)  # 5-25 minutes below today's level
        true_day = date.fromordinal(days[0]) + timedelta(days=(target - 40.0) / pace)
        found = forecast(days, values, target, None, TODAY)
        assert found is not None
        if not found.in_sight:
            continue
        runs += 1
        assert found.earliest is not None and found.latest is not None
        covered += found.earliest <= true_day + timedelta(days=1) and \
            true_day <= found.latest + timedelta(days=1)
        widths.append((found.latest - found.earliest).days)
    assert runs >= 900  # clear trends: nearly always a closed range
    assert covered / runs >= 0.90, covered / runs
    assert sorted(widths)[len(widths) // 2] < 60  # and a useful one (median width, days)


def test_a_flat_series_has_no_date_in_sight() -> None:
    days, values = trend(40.0, 0.0, 1.0, seed=3)
    found = forecast(days, values, 12.0, date(2031, 6, 30), TODAY)
    assert found is not None and not found.in_sight
    assert found.needed is not None and found.needed < 0
    assert found.expected is None or found.expected > TODAY + timedelta(days=365)


def test_a_pace_away_from_the_target_puts_it_out_of_sight() -> None:
    days, values = trend(30.0, 0.5, 0.5, seed=4)  # rising, while the target is lower
    found = forecast(days, values, 12.0, date(2031, 6, 30), TODAY)
    assert found is not None and not found.in_sight and found.expected is None


def test_the_needed_pace_is_measured_against_todays() -> None:
    days, values = trend(40.0, -0.5, 0.01, seed=5)  # 26.5 today, 0.5 a day down
    target_day = TODAY + timedelta(days=10)
    found = forecast(days, values, 16.5, target_day, TODAY)  # 10 below: needs 1.0 a day
    assert found is not None
    assert found.pace == pytest.approx(-0.5, abs=0.01)
    assert found.needed == pytest.approx(-1.0, abs=0.01)
    assert found.pace_ratio() == pytest.approx(2.0, abs=0.05)
    assert found.expected in (TODAY + timedelta(days=20), TODAY + timedelta(days=21))
    assert found.earliest is not None and found.latest is not None
    assert found.earliest <= found.expected <= found.latest


def test_too_few_recent_values_give_no_forecast() -> None:
    days, values = trend(40.0, -0.5, 1.0, seed=6, days=9)
    assert forecast(days, values, 12.0, None, TODAY) is None


def test_the_status_reads_the_forecast_range_against_the_target_date() -> None:
    deadline = date(2031, 4, 30)
    metric = MetricDefinition("deploy", "Deploy time", unit="min", direction="down",
                              baseline=40.0, target=12.0, target_date=deadline)
    now = datetime(2031, 3, 16, 12, tzinfo=UTC)
    latest = Point(now, 20.0)

    def status(earliest: date | None, latest_day: date | None, ratio_pace: float = -0.2
               ) -> tuple[Status, str]:
        ahead = Forecast(-0.2, 20.0, earliest, earliest, latest_day, ratio_pace)
        found, reason, _, projected = assess_status(metric, latest, None, now, ahead)
        assert projected is not None and projected < 20.0
        return found, reason

    assert status(date(2031, 4, 10), date(2031, 4, 30)) == (
        Status.ON_TRACK, "at this pace: Apr 10 – Apr 30, 2031 (target date Apr 30)")
    assert status(date(2031, 4, 20), date(2031, 5, 12))[0] is Status.AT_RISK
    assert status(date(2031, 5, 1), date(2031, 6, 1), -0.5) == (
        Status.OFF_TRACK, "at this pace: May 1 – Jun 1, 2031; needs 2.5× today's pace "
        "(target date Apr 30)")
    assert status(None, None, -0.5) == (
        Status.OFF_TRACK, "not in sight at this pace; needs 2.5× today's pace "
        "(target date Apr 30)")
    assert status(date(2031, 12, 1), date(2032, 2, 1))[1].startswith(
        "at this pace: Dec 1, 2031 – Feb 1, 2032")


@pytest.mark.parametrize(("pace", "needed", "ratio"), [
    (0.25, 0.5, 2.0), (-0.25, -0.5, 2.0), (1.0, 2.0, 2.0), (0.5, 0.5, 1.0),
    (0.25, -0.5, None), (-0.25, 0.5, None), (0.0, 0.5, None), (0.25, None, None),
    (0.25, 0.0, None),
])
def test_the_pace_ratio_compares_paces_in_the_same_direction_only(
        pace: float, needed: float | None, ratio: float | None) -> None:
    ahead = Forecast(pace, 20.0, None, None, None, needed)
    assert ahead.pace_ratio() == (None if ratio is None else pytest.approx(ratio))
