"""Did a series move beyond its own normal variation? Window estimates and verdicts.

Pure arithmetic on a series' daily values (the mean of each day's samples; coarser
series give one value per sample). The method, its assumptions and its limits are written
up in the README ("How a review is computed"):

- *Normal variation* is the day-to-day noise of the series' own history before the
  period's last window: the median absolute deviation of consecutive differences, scaled
  to a standard deviation. Differences ignore a level and a steady trend; the median
  ignores spikes. With three weeks of daily values, each weekday's typical offset is
  removed first, so a quiet weekend is not a move.
- *Before* and *after* are the medians of the days in a window (the days just before the
  period starts, the last days of the period), with a 95 % interval from that noise.
- The *verdict*: moved, when the difference is at least ``MOVED_AT`` standard errors and
  larger than the user's ``noise=`` floor; a spike, when only the last day stands out;
  within normal variation otherwise; not enough data below the minimum sample sizes.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate, cycle, repeat
from operator import sub, truediv
from statistics import median

from bot.core.change_points import MEDIAN_SE, Step, steps
from bot.core.periods import day_text

WINDOW_DAYS = 7  # a window holds a whole week, so weekdays weigh alike
HISTORY_DAYS = 28  # days before the period whose values teach the normal variation
STEP_LOOKBACK_DAYS = 7  # a shift is searched from this long before the before window
MIN_WINDOW_VALUES = 3  # fewer values in a window: not enough data
MIN_HISTORY_VALUES = 8  # fewer values to estimate the noise from: not enough data
SEASONAL_AFTER_DAYS = 21  # three weeks of daily values: weekday offsets may be removed
SEASONAL_RANGE = 3.0  # ... when they spread this many noise deviations (noise alone: ~2)
MOVED_AT = 3.0  # standard errors: about 3 false moves in 1,000 quiet series
SPIKE_AT = 4.0  # noise deviations of one day from its window's level
MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median abs. deviation
INTERVAL_Z = 1.96  # 95 % intervals


class Verdict(enum.StrEnum):
    MOVED = "moved"
    WITHIN = "within normal variation"
    SPIKE = "spike"
    NOT_ENOUGH = "not enough data"
    NO_DATA = "no data"


Window = tuple[int, int]  # first and last day (ordinals, ``date.toordinal()``), inclusive


@dataclass(frozen=True)
class DailySeries:
    """A series' daily values: ``values[i]`` is the mean of day ``days[i]``'s samples
    (ordinals, ascending). Two lists, not an object a day: a review reads tens of
    thousands of days."""

    days: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, pairs: Sequence[tuple[date, float]]) -> DailySeries:
        """From (day, value) pairs in any order."""
        ordered = sorted((day.toordinal(), value) for day, value in pairs)
        return cls([day for day, _ in ordered], [value for _, value in ordered])

    def __len__(self) -> int:
        return len(self.days)


@dataclass(frozen=True)
class Estimate:
    """A window's level: the median of its days, with a 95 % interval."""

    value: float
    low: float
    high: float
    days: int
    first: date
    last: date


@dataclass(frozen=True)
class Assessment:
    """What a series did over a period, judged against its normal variation."""

    verdict: Verdict
    before: Estimate | None = None
    after: Estimate | None = None
    noise: float | None = None  # one day's normal variation (a standard deviation)
    strength: float | None = None  # |after - before| in standard errors
    spike: date | None = None  # the last day, when it alone stands out
    seasonal: bool = False  # weekday offsets were removed
    reason: str = ""
    step: Step | None = None  # the latest shift of level inside or just before the period

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after.value - self.before.value


def windows(start: date, end: date, days: int = WINDOW_DAYS) -> tuple[Window, Window]:
    """The before window (the ``days`` before ``start``) and the after window (the last
    ``days`` up to ``end``, never before ``start``), as inclusive ranges of day ordinals;
    a period shorter than two windows gets two of half its length."""
    first, last = start.toordinal(), end.toordinal()
    span = min(days, max((last - first + 1) // 2, 1))
    return (first - span, first - 1), (max(first, last - span + 1), last)


def window_level(series: DailySeries, window: Window) -> float | None:
    """The median of ``series``' days in ``window``; None when it has none."""
    found = series.values[bisect_left(series.days, window[0]):
                          bisect_right(series.days, window[1])]
    return median(found) if found else None


def weekday_offsets(days: Sequence[int], values: Sequence[float],
                    noise: float | None = None) -> list[float] | None:
    """Each weekday's typical offset from the level around it (index 0 = Monday), or
    None when there are not three weeks of daily values to tell, or the offsets are no
    larger than the noise would make them (``noise``: ``noise_of(values)``, when known)."""
    if len(days) < SEASONAL_AFTER_DAYS or not _daily(days):
        return None
    running = [0.0, *accumulate(values)]
    residuals: list[list[float]] = [[] for _ in range(7)]
    # The level around a day: the mean of the week centred on it (one of each weekday),
    # as in a classical decomposition; only where all seven days are there.
    if days[-1] - days[0] == len(days) - 1:  # no gaps: by slices, far faster
        weeks = map(truediv, map(sub, running[7:], running), repeat(7))
        centred = list(map(sub, values[3:], weeks))
        first = (days[3] + 6) % 7  # the weekday of the first centred day (Monday: 0)
        for offset in range(7):
            residuals[(first + offset) % 7] = centred[offset::7]
    else:
        for index in range(3, len(days) - 3):
            if days[index + 3] - days[index - 3] == 6:
                level = (running[index + 4] - running[index - 3]) / 7
                residuals[(days[index] + 6) % 7].append(values[index] - level)
    if not all(residuals):
        return None
    offsets = [median(found) for found in residuals]
    if noise is None:
        noise = noise_of(values)
    if noise is not None and max(offsets) - min(offsets) <= SEASONAL_RANGE * noise:
        return None
    centre = sum(offsets) / 7
    return [offset - centre for offset in offsets]


def _daily(days: Sequence[int]) -> bool:
    """Whether values come about daily: on at least two in three of the days from the
    first to the last."""
    return len(days) >= 2 and 3 * len(days) >= 2 * (days[-1] - days[0] + 1)


def noise_of(values: Sequence[float]) -> float | None:
    """One value's normal variation from consecutive differences (robust to a level, a
    steady trend and spikes); None with fewer than ``MIN_HISTORY_VALUES`` values."""
    if len(values) < MIN_HISTORY_VALUES:
        return None
    return _scatter(list(map(sub, values[1:], values)))


def weekly_noise_of(days: Sequence[int], values: Sequence[float]) -> float | None:
    """Normal variation from the differences between days a week apart: blind to a
    weekly pattern, so it is not flattered by the offsets fitted to the same days."""
    if days and days[-1] - days[0] == len(days) - 1:  # no gaps: by slices, far faster
        steps = list(map(sub, values[7:], values))
    else:
        by_day = dict(zip(days, values, strict=True))
        steps = [value - by_day[day - 7] for day, value in by_day.items() if day - 7 in by_day]
    return _scatter(steps) if len(steps) >= MIN_HISTORY_VALUES else None


def _scatter(steps: Sequence[float]) -> float:
    """The standard deviation of one value, from differences of two (robustly)."""
    centre = median(steps)
    return MAD_TO_SD * median(list(map(abs, map(sub, steps, repeat(centre))))) / math.sqrt(2)


def _deseasonalised(days: Sequence[int], values: Sequence[float], offsets: list[float]
                    ) -> list[float]:
    """``values`` less their weekday's offset."""
    if days[-1] - days[0] == len(days) - 1:  # no gaps: the offsets repeat every 7 values
        week = [offsets[(days[0] + 6 + index) % 7] for index in range(7)]
        return list(map(sub, values, cycle(week)))
    return [value - offsets[(day + 6) % 7] for day, value in zip(days, values, strict=True)]


def _estimate(days: Sequence[int], values: Sequence[float], noise: float) -> Estimate:
    level = median(values)
    half = INTERVAL_Z * MEDIAN_SE * noise / math.sqrt(len(values))
    return Estimate(level, level - half, level + half, len(values),
                    date.fromordinal(days[0]), date.fromordinal(days[-1]))


def assess(series: DailySeries, before_window: Window, after_window: Window, *,
           floor: float = 0.0) -> Assessment:
    """Judge the move from ``before_window`` to ``after_window`` in ``series``;
    ``floor`` is the user's noise threshold."""
    days = series.days
    if not days:
        return Assessment(Verdict.NO_DATA, reason="no samples")
    after_from = bisect_left(days, after_window[0])
    after_to = bisect_right(days, after_window[1])
    before_to = bisect_right(days, before_window[1])
    before_from = min(bisect_left(days, before_window[0]), max(before_to - MIN_WINDOW_VALUES,
                                                                0))  # sparse: the last three
    history_days, history = days[:after_from], series.values[:after_from]
    plain = noise_of(history)
    offsets = weekday_offsets(history_days, history, plain)
    if offsets is None:
        values, noise = series.values, plain
    else:
        values = _deseasonalised(days, series.values, offsets)
        noise = weekly_noise_of(history_days, history)
    before_count, after_count = before_to - before_from, after_to - after_from
    if before_count < MIN_WINDOW_VALUES or after_count < MIN_WINDOW_VALUES or noise is None:
        return Assessment(Verdict.NOT_ENOUGH, noise=noise, seasonal=offsets is not None,
                          reason=_shortage(before_count, after_count, after_from))
    start = _estimate(days[before_from:before_to], values[before_from:before_to], noise)
    end = _estimate(days[after_from:after_to], values[after_from:after_to], noise)
    delta = end.value - start.value
    error = math.hypot(start.value - start.low, end.value - end.low) / INTERVAL_Z
    strength = abs(delta) / error if error else (math.inf if delta else 0.0)
    spike = _spike(days[after_from:after_to], values[after_from:after_to], noise, floor)
    if strength >= MOVED_AT and abs(delta) > floor:
        verdict, reason = Verdict.MOVED, f"{strength:.1f} standard errors"
    elif spike is not None:
        verdict, reason = Verdict.SPIKE, f"only {day_text(spike)} stands out"
    else:
        verdict, reason = Verdict.WITHIN, ("within the noise threshold"
                                           if strength >= MOVED_AT else
                                           f"{strength:.1f} standard errors")
    shifts: list[Step] = []
    if verdict is Verdict.MOVED:  # a shift that explains the move; searched from a week
        near = bisect_left(days, before_window[0] - STEP_LOOKBACK_DAYS)  # before its window
        shifts = [step for step in steps(days[near:], values[near:], noise)
                  if step.day.toordinal() >= before_window[0]]
    return Assessment(verdict, start, end, noise, strength, spike, offsets is not None,
                      reason, shifts[-1] if shifts else None)


def _spike(days: Sequence[int], values: Sequence[float], noise: float, floor: float
           ) -> date | None:
    """The window's last day when it alone lies ``SPIKE_AT`` deviations from the rest."""
    if len(values) < 2:
        return None
    gap = abs(values[-1] - median(values[:-1]))
    return date.fromordinal(days[-1]) if gap > max(SPIKE_AT * noise, floor) else None


def _shortage(before: int, after: int, history: int) -> str:
    parts = []
    if before < MIN_WINDOW_VALUES:
        parts.append(f"{before} value(s) before the period")
    if after < MIN_WINDOW_VALUES:
        parts.append(f"{after} in its last days")
    if history < MIN_HISTORY_VALUES:
        parts.append(f"{history} to learn its normal variation from")
    return (", ".join(parts) + f" (needs {MIN_WINDOW_VALUES} in each window and "
            f"{MIN_HISTORY_VALUES} of history)")
