"""A series' before → after and its verdict, and what a metric is judged by.

Pure code, like :mod:`bot.core.review`, which builds on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.core.criteria_rules import total_of
from bot.core.periods import day_text
from bot.core.points import Point
from bot.core.variation import Assessment, DailySeries, Verdict, Window, assess

DayWindows = tuple[Window, Window]  # before, after
FULL_STRENGTH = 6.0  # standard errors at which a move counts fully in the ranking


class Movement(enum.StrEnum):
    IMPROVED = "improved"
    REGRESSED = "regressed"
    FLAT = "flat"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MetricDefinition:
    """What a review needs to know about a metric (decoupled from the ORM row)."""

    key: str
    name: str
    unit: str = ""
    direction: str = "up"
    question: str = ""
    baseline: float | None = None
    baseline_at: datetime | None = None
    target: float | None = None
    target_date: date | None = None
    noise: float = 0.0
    stale_after: timedelta = timedelta(days=7)
    total: str | None = None  # as the source declares it (bot.core.drivers)

    @property
    def total_relation(self) -> str:
        """How the total relates to its segments: sum, mean, weighted, min, max, none."""
        return total_of(self.unit, {"total": self.total})

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "up"


@dataclass(frozen=True)
class Change:
    """Before → after for one series (the total or one segment). With an ``assessment``,
    before and after are window levels, judged against the series' normal variation."""

    before: Point | None
    after: Point | None
    movement: Movement
    assessment: Assessment | None = None

    @property
    def verdict(self) -> str:
        """'improved, beyond normal variation', 'a spike on Nov 28, not a move', …"""
        found = self.assessment
        if found is None or found.verdict is Verdict.NO_DATA:
            return self.movement.value
        if found.verdict is Verdict.MOVED:
            how = "well beyond" if (found.strength or 0) >= FULL_STRENGTH else "beyond"
            return f"{self.movement.value}, {how} normal variation"
        if found.verdict is Verdict.SPIKE and found.spike is not None:
            return f"a spike on {day_text(found.spike)}, not a move"
        if found.verdict is Verdict.NOT_ENOUGH and self.movement is not Movement.UNKNOWN:
            return f"{self.movement.value} by your noise threshold (too little data to learn " \
                "its normal variation)"
        return found.verdict.value

    @property
    def weight(self) -> float:
        """How much of its size a move counts in a ranking: a weak one less."""
        strength = self.assessment.strength if self.assessment else None
        if strength is None:
            return 1.0
        return min(strength, FULL_STRENGTH) / FULL_STRENGTH

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after.value - self.before.value

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or self.before is None or self.before.value == 0:
            return None
        return delta / abs(self.before.value)


def classify_movement(before: Point | None, after: Point | None,
                      definition: MetricDefinition) -> Movement:
    """Improved, regressed or flat, by the metric's direction and noise threshold."""
    if before is None or after is None:
        return Movement.UNKNOWN
    delta = after.value - before.value
    if abs(delta) <= definition.noise or delta == 0:
        return Movement.FLAT
    return _way(delta, definition)


def _way(delta: float, definition: MetricDefinition) -> Movement:
    """Improved or regressed: a change of ``delta`` by the metric's direction."""
    return Movement.IMPROVED if (delta > 0) == definition.higher_is_better \
        else Movement.REGRESSED


def judged_change(before: Point | None, after: Point | None, definition: MetricDefinition,
                  values: DailySeries | None, windows: DayWindows | None) -> Change:
    """Before → after of one series: window levels judged against its normal variation
    when its daily ``values`` allow; else the points, judged by the user's noise
    threshold when there is one."""
    if values is None or windows is None:
        return Change(before, after, classify_movement(before, after, definition))
    found = assess(values, *windows, floor=definition.noise)
    if found.before is None or found.after is None:
        movement = (classify_movement(before, after, definition) if definition.noise > 0
                    else Movement.UNKNOWN)
        return Change(before, after, movement, found)
    start = Point(before.at if before else end_of(found.before.last), found.before.value)
    end = Point(after.at if after else end_of(found.after.last), found.after.value)
    movement = (_way(end.value - start.value, definition) if found.verdict is Verdict.MOVED
                else Movement.FLAT)
    return Change(start, end, movement, found)


def end_of(day: date) -> datetime:
    """Midnight after ``day`` (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
