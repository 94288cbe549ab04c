"""An initiative's calendar: its sprints, its (fiscal) quarters, weeks, months and year.

Each period here is a range of local calendar days ``[start, end)``; :mod:`bot.core.periods`
turns those into UTC instants at local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import UsageError

CALENDAR_KINDS = frozenset({
    "this_sprint", "last_sprint", "this_quarter", "last_quarter", "this_week", "last_week",
    "this_month", "last_month", "month", "quarter", "year_to_date",
})


@dataclass(frozen=True)
class Cadence:
    """How an initiative's reviews are cut: sprint length and anchor, zone, fiscal year."""

    sprint_days: int = 14
    sprint_anchor: date = date(2026, 1, 5)
    timezone: str = "UTC"
    fiscal_year_start_month: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """00:00 of ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def sprint_start(day: date, cadence: Cadence) -> date:
    """The first day of the sprint that ``day`` falls in."""
    offset = (day - cadence.sprint_anchor).days // cadence.sprint_days
    return cadence.sprint_anchor + timedelta(days=offset * cadence.sprint_days)


def quarter_start(day: date, fy_start_month: int) -> date:
    """The first day of the (fiscal) quarter that ``day`` falls in."""
    months_into_year = (day.month - fy_start_month) % 12
    return add_months(date(day.year, day.month, 1), -(months_into_year % 3))


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)


def quarter_label(start: date, fy_start_month: int) -> str:
    """``Q3 2026``, or ``FY2027 Q1`` for a fiscal year that starts in another month."""
    quarter = ((start.month - fy_start_month) % 12) // 3 + 1
    if fy_start_month == 1:
        return f"Q{quarter} {start.year}"
    fiscal_year = start.year if start.month < fy_start_month else start.year + 1
    return f"FY{fiscal_year} Q{quarter}"


def _year_start(day: date, fy_start_month: int) -> date:
    months_into_year = (day.month - fy_start_month) % 12
    return add_months(date(day.year, day.month, 1), -months_into_year)


def _latest_started(first_of: date, step_months: int, today: date) -> date:
    """``first_of`` moved back a year at a time until it is on or before ``today``."""
    while first_of > today:
        first_of = add_months(first_of, -step_months)
    return first_of


def calendar_bounds(kind: str, number: int, cadence: Cadence, today: date
                    ) -> tuple[date, date, str]:
    """The local days ``[start, end)`` and the label of a calendar period around ``today``.

    A named month or numbered quarter is the latest one that has started: on Dec 3, 2026,
    "October" is Oct 2026 and "Q1" is the first quarter of 2026 (of the fiscal year).
    """
    fy = cadence.fiscal_year_start_month
    if kind in ("this_sprint", "last_sprint"):
        start = sprint_start(today, cadence)
        if kind == "last_sprint":
            start -= timedelta(days=cadence.sprint_days)
        return start, start + timedelta(days=cadence.sprint_days), kind.replace("_", " ")
    if kind in ("this_quarter", "last_quarter", "quarter"):
        if kind == "quarter":
            if not 1 <= number <= 4:
                raise UsageError(f"Q{number} is not a quarter: Q1 to Q4.")
            first = add_months(_year_start(today, fy), 3 * (number - 1))
            start = _latest_started(first, 12, today)
            prefix = f"Q{number}"
        else:
            start = quarter_start(today, fy)
            if kind == "last_quarter":
                start = add_months(start, -3)
            prefix = kind.replace("_", " ")
        label = quarter_label(start, fy)
        return start, add_months(start, 3), label if kind == "quarter" else f"{prefix} ({label})"
    if kind in ("this_week", "last_week"):
        start = today - timedelta(days=today.weekday())
        if kind == "last_week":
            start -= timedelta(days=7)
        return start, start + timedelta(days=7), kind.replace("_", " ")
    if kind in ("this_month", "last_month", "month"):
        if kind == "month":
            if not 1 <= number <= 12:
                raise UsageError(f"{number} is not a month: 1 to 12.")
            start = _latest_started(date(today.year, number, 1), 12, today)
        else:
            start = add_months(today, -1 if kind == "last_month" else 0)
        return start, add_months(start, 1), f"{start:%B %Y}"
    if kind == "year_to_date":
        start = _year_start(today, fy)
        label = "year to date" if fy == 1 else "fiscal year to date"
        return start, today + timedelta(days=1), label
    raise UsageError(f"Unknown period {kind!r}.")
