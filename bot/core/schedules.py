"""When digests are due: pure computation of a schedule's occurrences.

A sprint digest is posted a lead time before the retro, which is the last given weekday of
each sprint at a wall-clock time in the schedule's zone; a quarterly digest is posted a
number of days before the quarter ends. Lead times are subtracted on the wall clock, so a
09:00 retro with a 24 h lead posts at 09:00 the day before, on both sides of a
daylight-saving change. Each occurrence has a period key derived from the period itself,
never from the firing time, so a double fire cannot double-post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.periods import PeriodSpec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ScheduleRule:
    """The timing part of a digest schedule."""

    kind: str  # sprint | quarter
    timezone: str
    local_time: time
    retro_weekday: int = 4
    lead: timedelta = timedelta(hours=24)
    days_before: int = 3
    sprint_days: int = 14
    sprint_anchor: date = date(2026, 1, 5)
    fiscal_year_start_month: int = 1


@dataclass(frozen=True)
class Occurrence:
    """One due digest: its period, when it fires (UTC), and an instant inside the period."""

    period_key: str
    fire_at: datetime
    period_at: datetime
    spec: PeriodSpec


def _wall_clock(day: date, at: time, zone: ZoneInfo, minus: timedelta = timedelta()
                ) -> datetime:
    local = datetime.combine(day, at) - minus
    return local.replace(tzinfo=zone).astimezone(UTC)


def _sprint_occurrences(rule: ScheduleRule, start: datetime, end: datetime
                        ) -> list[Occurrence]:
    zone = ZoneInfo(rule.timezone)
    length = timedelta(days=rule.sprint_days)
    first_day = (start - rule.lead).astimezone(zone).date() - length
    index = (first_day - rule.sprint_anchor).days // rule.sprint_days
    found: list[Occurrence] = []
    while True:
        sprint_start = rule.sprint_anchor + index * length
        last_day = sprint_start + length - timedelta(days=1)
        retro_day = last_day - timedelta(days=(last_day.weekday() - rule.retro_weekday) % 7)
        if retro_day < sprint_start:  # a sprint shorter than a week without that weekday
            retro_day = last_day
        fire_at = _wall_clock(retro_day, rule.local_time, zone, rule.lead)
        if fire_at >= end:
            return found
        if fire_at >= start:
            period_at = _wall_clock(retro_day, rule.local_time, zone)
            found.append(Occurrence(f"sprint:{sprint_start.isoformat()}", fire_at, period_at,
                                    PeriodSpec("this_sprint")))
        index += 1


def _month_start(year: int, month_index: int) -> date:
    return date(year + month_index // 12, month_index % 12 + 1, 1)


def _quarter_occurrences(rule: ScheduleRule, start: datetime, end: datetime
                         ) -> list[Occurrence]:
    zone = ZoneInfo(rule.timezone)
    first = start.astimezone(zone).date()
    months_into_year = (first.month - rule.fiscal_year_start_month) % 12
    month_index = first.month - 1 - months_into_year % 3 - 3
    found: list[Occurrence] = []
    while True:
        quarter_start = _month_start(first.year, month_index)
        quarter_end = _month_start(first.year, month_index + 3)
        fire_day = quarter_end - timedelta(days=rule.days_before)
        fire_at = _wall_clock(fire_day, rule.local_time, zone)
        if fire_at >= end:
            return found
        if fire_at >= start:
            found.append(Occurrence(f"quarter:{quarter_start.isoformat()}", fire_at, fire_at,
                                    PeriodSpec("this_quarter")))
        month_index += 3


def occurrences(rule: ScheduleRule, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence firing in [start, end), oldest first."""
    if rule.kind == "sprint":
        return _sprint_occurrences(rule, start, end)
    if rule.kind == "quarter":
        return _quarter_occurrences(rule, start, end)
    raise ValueError(f"unknown schedule kind {rule.kind!r}")


def next_occurrence(rule: ScheduleRule, after: datetime) -> Occurrence:
    """The first occurrence at or after ``after``."""
    horizon = timedelta(days=max(rule.sprint_days, 31) * 4)
    found = occurrences(rule, after, after + horizon)
    if not found:
        raise ValueError("schedule never fires")
    return found[0]
