"""Verdicts on synthetic series whose truth is known: noise, a level shift, a trend, a
last-day spike, weekly seasonality, sparse data (bot.core.variation)."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.change_points import steps
from bot.core.changes import Change, Movement
from bot.core.periods import Period
from bot.core.points import Point
from bot.core.review import InitiativeReview, MetricDefinition, MetricReview, Review, Status
from bot.core.variation import (
    MIN_WINDOW_VALUES,
    Assessment,
    DailySeries,
    Verdict,
    assess,
    noise_of,
    weekday_offsets,
    weekly_noise_of,
    windows,
)

START = date(2031, 3, 3)  # a Monday: the sprint's first day
END = START + timedelta(days=13)  # its last
HISTORY = 28  # days of history before the sprint
SEEDS = range(300)


def series(value: Callable[[int, random.Random], float], seed: int = 0,
           days: range | list[int] | None = None) -> DailySeries:
    """Daily values from ``value(n, rng)``, n counting days from the sprint's start."""
    rng = random.Random(seed)
    days = days if days is not None else range(-HISTORY, 14)
    return DailySeries.of([(START + timedelta(days=n), value(n, rng)) for n in days])


def offsets_of(values: DailySeries) -> list[float] | None:
    return weekday_offsets(values.days, values.values)


def judge(values: DailySeries, floor: float = 0.0):
    before, after = windows(START, END)
    return assess(values, before, after, floor=floor)


def noise(sd: float = 2.0) -> Callable[[int, random.Random], float]:
    return lambda n, rng: 40 + rng.gauss(0, sd)


def days_of(window: tuple[int, int]) -> tuple[date, date]:
    return date.fromordinal(window[0]), date.fromordinal(window[1])


def test_the_windows_are_the_week_before_the_period_and_its_last_week() -> None:
    before, after = windows(START, END)
    assert days_of(before) == (START - timedelta(days=7), START - timedelta(days=1))
    assert days_of(after) == (END - timedelta(days=6), END)
    # Three days into a period: its days so far, and as many before it.
    before, after = windows(START, START + timedelta(days=2))
    assert days_of(before) == (START - timedelta(days=1), START - timedelta(days=1))
    assert days_of(after) == (START + timedelta(days=2), START + timedelta(days=2))


def test_pure_noise_is_within_normal_variation_in_nearly_every_series() -> None:
    verdicts = [judge(series(noise(), seed)).verdict for seed in SEEDS]
    false_moves = sum(v is Verdict.MOVED for v in verdicts) / len(SEEDS)
    assert false_moves <= 0.02, false_moves
    assert verdicts.count(Verdict.WITHIN) >= 0.9 * len(SEEDS)


def test_a_level_shift_mid_period_is_a_move_with_the_levels_on_both_sides() -> None:
    for seed in range(20):
        shifted = series(lambda n, rng: (31 if n < 6 else 24) + rng.gauss(0, 1), seed)
        found = judge(shifted)
        assert found.verdict is Verdict.MOVED
        assert found.before is not None and found.after is not None
        assert found.before.low < 31 < found.before.high or abs(found.before.value - 31) < 1
        assert abs(found.after.value - 24) < 1 and found.delta is not None
        assert found.delta < -5 and found.strength is not None and found.strength > 5


def test_a_steady_trend_is_a_move_in_its_direction() -> None:
    for seed in range(20):
        rising = judge(series(lambda n, rng: 100 + 0.8 * n + rng.gauss(0, 2), seed))
        falling = judge(series(lambda n, rng: 100 - 0.8 * n + rng.gauss(0, 2), seed))
        assert rising.verdict is Verdict.MOVED and (rising.delta or 0) > 0
        assert falling.verdict is Verdict.MOVED and (falling.delta or 0) < 0


def test_a_spike_on_the_last_day_is_a_spike_not_a_move() -> None:
    for seed in range(50):
        spiky = series(lambda n, rng: 40 + rng.gauss(0, 2) + (30 if n == 13 else 0), seed)
        found = judge(spiky)
        assert found.verdict is Verdict.SPIKE, (seed, found)
        assert found.spike == END
        assert found.after is not None and abs(found.after.value - 40) < 3


def test_weekly_seasonality_is_removed_and_makes_no_false_move() -> None:
    def weekly(n: int, rng: random.Random) -> float:
        weekend = (START + timedelta(days=n)).weekday() >= 5
        return 100 - (45 if weekend else 0) + rng.gauss(0, 2)

    verdicts = []
    for seed in SEEDS:
        found = judge(series(weekly, seed))
        assert found.seasonal
        verdicts.append(found.verdict)
    assert sum(v is Verdict.MOVED for v in verdicts) / len(SEEDS) <= 0.02
    offsets = offsets_of(series(weekly, 1))
    assert offsets is not None and abs(sum(offsets)) < 1e-9  # centred
    assert all(-50 < offsets[d] - offsets[0] < -40 for d in (5, 6))  # the weekend's dip
    assert all(abs(offsets[d] - offsets[0]) < 5 for d in range(5))


def test_a_season_is_not_assumed_without_three_weeks_of_daily_values() -> None:
    assert offsets_of(series(noise(), days=range(-10, 10))) is None
    assert offsets_of(series(noise(), days=range(-70, 14, 7))) is None  # weekly samples
    assert offsets_of(series(noise(), days=range(-28, 14))) is None  # no weekly pattern


def test_the_users_noise_floor_holds_back_a_move_smaller_than_it() -> None:
    shifted = series(lambda n, rng: (31 if n < 6 else 29) + rng.gauss(0, 0.2))
    assert judge(shifted).verdict is Verdict.MOVED
    held = judge(shifted, floor=3.0)
    assert held.verdict is Verdict.WITHIN and held.reason == "within the noise threshold"


@pytest.mark.parametrize(("days", "short"), [
    (list(range(0, 14)), "0 value(s) before the period"),
    ([*range(-28, 0), *range(7, 9)], "2 in its last days"),
    ([*range(-3, 0), *range(7, 14)], "3 to learn its normal variation from"),
])
def test_too_few_values_is_not_enough_data_saying_what_is_missing(days: list[int],
                                                                  short: str) -> None:
    found = judge(series(noise(), days=days))
    assert found.verdict is Verdict.NOT_ENOUGH
    assert short in found.reason and f"needs {MIN_WINDOW_VALUES} in each window" in found.reason
    assert judge(DailySeries()).verdict is Verdict.NO_DATA


def test_a_weekly_metric_compares_its_last_three_weeks_before_the_period() -> None:
    weekly = series(lambda n, rng: 10 + rng.gauss(0, 0.5) + (4 if n >= 0 else 0),
                    days=[*range(-70, 0, 7), *range(0, 14)])
    found = judge(weekly)
    assert found.before is not None and found.before.days == 3
    assert found.before.first == START - timedelta(days=21)
    assert found.verdict is Verdict.MOVED


def test_the_noise_of_a_trend_is_its_scatter_not_its_slope() -> None:
    rng = random.Random(7)
    trend = [5.0 * n + rng.gauss(0, 1) for n in range(60)]
    estimate = noise_of(trend)
    assert estimate is not None and 0.7 < estimate < 1.4
    assert noise_of(trend[:7]) is None


def test_of_two_moves_of_the_same_share_of_the_gap_the_stronger_ranks_first() -> None:
    at = datetime(2031, 3, 16, tzinfo=UTC)

    def moved(key: str, strength: float) -> MetricReview:
        change = Change(Point(at, 10), Point(at, 20), Movement.IMPROVED,
                        Assessment(Verdict.MOVED, strength=strength))
        return MetricReview(MetricDefinition(key, key.title()), change, Status.ON_TRACK, "",
                            0.5, None, score=0.5)

    weak, strong, certain = moved("weak", 3.5), moved("strong", 9.0), moved("certain", math.inf)
    period = Period(datetime.combine(START, datetime.min.time(), UTC),
                    datetime.combine(END, datetime.min.time(), UTC), "this sprint", "UTC")
    review = Review("r", "this sprint", at, (InitiativeReview(
        "i", "I", "", "agreed", "", period, (weak, strong, certain)),))
    assert [m.definition.key for _, m in review.ranked_movers()] == ["strong", "certain",
                                                                     "weak"]
    assert weak.change.weight == pytest.approx(3.5 / 6) and strong.change.weight == 1.0
    assert weak.change.verdict == "improved, beyond normal variation"
    assert strong.change.verdict == "improved, well beyond normal variation"


# ---------------------------------------------------------------- change points


def test_a_level_shift_is_dated_within_a_day_with_the_levels_on_both_sides() -> None:
    errors = []
    for seed in range(100):
        shift = 2 + seed % 8  # the first day at the new level, 5 or more days before the end
        found = judge(series(lambda n, rng, s=shift: (31 if n < s else 24) + rng.gauss(0, 1),
                             seed))
        assert found.step is not None, seed
        errors.append(abs((found.step.day - (START + timedelta(days=shift))).days))
        assert abs(found.step.before - 31) < 1.5 and abs(found.step.after - 24) < 1.5, seed
    assert max(errors) <= 1 and sum(e == 0 for e in errors) >= 90, errors


def test_a_shift_long_before_the_period_is_not_reported() -> None:
    found = judge(series(lambda n, rng: (31 if n < -20 else 24) + rng.gauss(0, 1)))
    assert found.step is None


@pytest.mark.parametrize(("name", "value"), [
    ("noise", noise()),
    ("a steady trend", lambda n, rng: 100 + 0.8 * n + rng.gauss(0, 2)),
    ("a last-day spike", lambda n, rng: 40 + rng.gauss(0, 2) + (30 if n == 13 else 0)),
    ("weekly seasonality", lambda n, rng: 100 - (45 if (START + timedelta(days=n)).weekday()
                                                 >= 5 else 0) + rng.gauss(0, 2)),
])
def test_no_step_is_found_where_there_is_none(name: str, value) -> None:
    found = [judge(series(value, seed)).step for seed in range(200)]
    assert sum(step is not None for step in found) <= 4, name


def test_weekday_offsets_agree_with_and_without_a_missing_day() -> None:
    def weekly(n: int, rng: random.Random) -> float:
        return 50 + [0, 1, 2, 3, 4, -20, -25][(START + timedelta(days=n)).weekday()] + \
            rng.gauss(0, 0.5)

    whole = series(weekly, 2)  # every day: the offsets come from slices
    gappy = DailySeries(whole.days[:20] + whole.days[21:], whole.values[:20] + whole.values[21:])
    fast, slow = offsets_of(whole), offsets_of(gappy)
    assert fast is not None and slow is not None
    assert all(abs(a - b) < 0.5 for a, b in zip(fast, slow, strict=True)), (fast, slow)
    assert fast[5] - fast[0] == pytest.approx(-20, abs=1)


def test_the_weekly_noise_and_the_offsets_taken_off_follow_the_days_not_positions() -> None:
    def weekly(n: int, rng: random.Random) -> float:
        return 50 + [0, 1, 2, 3, 4, -20, -25][(START + timedelta(days=n)).weekday()] + \
            rng.gauss(0, 0.5)

    for whole in (series(weekly, 3), series(weekly, 4, [*range(-HISTORY, 5), *range(6, 14)])):
        by_day = dict(zip(whole.days, whole.values, strict=True))
        apart = [value - by_day[day - 7] for day, value in by_day.items() if day - 7 in by_day]
        centre = statistics.median(apart)
        spread = statistics.median([abs(step - centre) for step in apart])
        assert weekly_noise_of(whole.days, whole.values) == 1.4826 * spread / math.sqrt(2)
        found = judge(whole)
        assert found.seasonal and found.after is not None
        first = found.after.first.toordinal()
        offsets = weekday_offsets([day for day in by_day if day < first],
                                  [value for day, value in by_day.items() if day < first])
        assert offsets is not None  # learnt before the last window, taken off in it
        after = [value - offsets[date.fromordinal(day).weekday()]
                 for day, value in by_day.items() if day >= first]
        assert found.after.value == statistics.median(after)


def test_no_step_is_looked_for_without_noise_to_measure_it_or_enough_days() -> None:
    days = list(range(START.toordinal(), START.toordinal() + 12))
    shifted = [31.0] * 6 + [24.0] * 6
    assert steps(days, shifted, 0.0) == []  # a series that never varied
    assert steps(days[:5], shifted[:5], 1.0) == []  # fewer than three days a side
    (step,) = steps(days, shifted, 0.5)
    assert (step.day, step.before, step.after) == (START + timedelta(days=6), 31.0, 24.0)


def test_a_windows_level_has_a_symmetric_interval_and_its_own_days() -> None:
    found = judge(series(noise(), 11))
    assert found.before is not None and found.after is not None
    for level in (found.before, found.after):
        assert level.low < level.value < level.high
        assert level.high - level.value == pytest.approx(level.value - level.low)
        assert level.days == 7
    assert (found.before.first, found.before.last) == (START - timedelta(days=7),
                                                       START - timedelta(days=1))
    assert (found.after.first, found.after.last) == (END - timedelta(days=6), END)
    assert found.noise is not None and 1.4 < found.noise < 2.8  # the noise is 2


def test_a_series_that_never_varied_moves_with_any_change_and_stays_put_without() -> None:
    constant = series(lambda n, rng: 5.0)
    still = judge(constant)
    assert still.verdict is Verdict.WITHIN and still.strength == 0.0
    stepped = judge(series(lambda n, rng: 5.0 if n < 7 else 5.5))
    assert stepped.verdict is Verdict.MOVED and stepped.strength == math.inf


def test_without_a_floor_a_small_clear_move_is_a_move() -> None:
    small = series(lambda n, rng: (10 if n < 5 else 10.5) + rng.gauss(0, 0.05))
    assert judge(small).verdict is Verdict.MOVED
    assert judge(small, floor=0.5).verdict is Verdict.WITHIN


def test_three_values_in_each_window_are_enough_and_the_noise_is_still_reported() -> None:
    days = [*range(-28, -7), -3, -2, -1, 11, 12, 13]  # three days in each window
    found = judge(series(noise(), 5, days=days))
    assert found.verdict is not Verdict.NOT_ENOUGH
    assert found.before is not None and found.before.days == 3
    short = judge(series(noise(), 5, days=[*range(-28, 0), 12, 13]))
    assert short.verdict is Verdict.NOT_ENOUGH and short.noise is not None
    assert not short.seasonal


def test_a_spike_is_measured_against_the_rest_of_its_window() -> None:
    two_days = judge(series(lambda n, rng: 40 + rng.gauss(0, 1) + (15 if n == 13 else 0), 3,
                            days=[*range(-28, 0), 7, 8, 9, 10, 11, 12, 13]))
    assert two_days.spike == END
    high_then_low = judge(series(lambda n, rng: 40 + rng.gauss(0, 1) + (15 if n == 12 else 0),
                                 3))
    assert high_then_low.spike is None  # the last day is ordinary
