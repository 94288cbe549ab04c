"""When will a metric reach its target at its recent pace? A date range, and the pace the
target date needs.

The recent pace is the least-squares line through the last ``RECENT_DAYS`` daily values.
The range is the classical inverse-prediction (calibration) interval: every day on which
the line, within its 95 % confidence band, may cross the target. It is a closed range
only when the pace is clearly not zero; otherwise the target is not in sight at this pace.
Pure arithmetic, like :mod:`bot.core.variation`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from operator import mul

RECENT_DAYS = 28  # the pace is read from the last four weeks
MIN_VALUES = 10  # fewer daily values than this in them: no forecast
T_95 = 2.05  # Student's t for 95 % at about 26 degrees of freedom (28 days)


@dataclass(frozen=True)
class Forecast:
    """The recent pace (units a day), when the target is reached at it, and what the
    target date needs."""

    pace: float
    level: float  # the line's value on the last day
    expected: date | None  # where the line crosses the target; None: it does not
    earliest: date | None  # the 95 % range of that day; None: not in sight at this pace
    latest: date | None
    needed: float | None  # the pace that reaches the target on the target date

    @property
    def in_sight(self) -> bool:
        return self.earliest is not None and self.latest is not None

    def pace_ratio(self) -> float | None:
        """The needed pace as a multiple of today's (2.0: twice as fast)."""
        if self.needed is None or self.pace == 0 or (self.needed > 0) != (self.pace > 0):
            return None
        return self.needed / self.pace


def forecast(days: Sequence[int], values: Sequence[float], target: float,
             target_day: date | None, today: date) -> Forecast | None:
    """The forecast from daily values (``days`` as ordinals, ascending) up to ``today``,
    or None with fewer than ``MIN_VALUES`` of them in the last ``RECENT_DAYS``."""
    last = today.toordinal()
    low, high = bisect_left(days, last - RECENT_DAYS + 1), bisect_right(days, last)
    if high - low < MIN_VALUES:
        return None
    xs, ys = days[low:high], values[low:high]
    count = len(xs)
    mean_x, mean_y = math.fsum(xs) / count, math.fsum(ys) / count
    spread = math.fsum([(x - mean_x) ** 2 for x in xs])
    cross = math.fsum(map(mul, xs, ys)) - count * mean_x * mean_y
    slope = cross / spread
    squares = math.fsum(map(mul, ys, ys)) - count * mean_y ** 2  # about the mean
    residual = math.sqrt(max(squares - slope * cross, 0.0) / (count - 2))
    now = xs[-1] - mean_x  # today, as an offset from the days' mean
    level = mean_y + slope * now
    expected = None
    if slope != 0 and (target - mean_y) / slope >= now:
        expected = _day(mean_x + (target - mean_y) / slope)
    earliest, latest = _crossing_range(slope, target - mean_y, residual, count, spread)
    if latest is None or latest < now:  # not in sight, or only in the past
        earliest = latest = None
    elif earliest is not None:
        earliest = max(earliest, now)
    needed = None
    if target_day is not None and target_day.toordinal() > xs[-1]:
        needed = (target - level) / (target_day.toordinal() - xs[-1])
    return Forecast(slope, level, expected,
                    _day(mean_x + earliest) if earliest is not None else None,
                    _day(mean_x + latest) if latest is not None else None, needed)


def _crossing_range(slope: float, gap: float, residual: float, count: int, spread: float
                    ) -> tuple[float | None, float | None]:
    """The offsets u from the days' mean where the line's 95 % band holds the target:
    (slope * u - gap)^2 <= t^2 * s^2 * (1/n + u^2 / Sxx), solved for u."""
    band = (T_95 * residual) ** 2
    a = slope ** 2 - band / spread
    if a <= 0:  # the pace is not clearly different from zero
        return None, None
    b, c = -2 * slope * gap, gap ** 2 - band / count
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    low, high = sorted(((-b - root) / (2 * a), (-b + root) / (2 * a)))
    return low, high


def _day(ordinal: float) -> date | None:
    """The day of a fractional ordinal, or None far outside the calendar."""
    if not 1 <= ordinal < date.max.toordinal():
        return None
    return date.fromordinal(math.ceil(ordinal))
