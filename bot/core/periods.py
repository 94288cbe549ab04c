"""Review periods: this/last sprint, this/last quarter, since a date, between dates, last N days.

Boundaries are local midnights in the initiative's time zone, converted to UTC, so a sprint
that spans a daylight-saving change still starts and ends at 00:00 local time.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.core.calendar import CALENDAR_KINDS, Cadence, calendar_bounds, local_midnight
from bot.core.errors import UsageError

PERIOD_USAGE = (
    "this sprint | last sprint | this quarter | last quarter | last N days | "
    "since YYYY-MM-DD | between YYYY-MM-DD and YYYY-MM-DD"
)

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


@dataclass(frozen=True)
class DayOfYear:
    """A day typed without its year ("Oct 1"): the latest such day, on or before today."""

    month: int
    day: int

    def on_or_before(self, today: date) -> date:
        for year in range(today.year, today.year - 9, -1):
            with contextlib.suppress(ValueError):  # Feb 29 exists in leap years only
                day = date(year, self.month, self.day)
                if day <= today:
                    return day
        raise ValueError(f"no {self} on or before {today}")

    def __str__(self) -> str:
        return f"{date(2000, self.month, self.day):%b} {self.day}"


Day = date | DayOfYear


def on_or_before(day: Day, today: date) -> date:
    """``day`` as a calendar date, a day without a year taken on or before ``today``."""
    return day.on_or_before(today) if isinstance(day, DayOfYear) else day


def _day_text(day: Day | None) -> str:
    return f"{day:%Y-%m-%d}" if isinstance(day, date) else str(day)


@dataclass(frozen=True)
class PeriodSpec:
    """A period as the user said it, before it is resolved against a cadence and a clock.

    A day typed without its year stays a :class:`DayOfYear` until :func:`resolve` knows
    the date in the initiative's time zone.
    """

    # this_sprint, last_sprint, this_quarter, last_quarter, since, between, last_days, and
    # the calendar's this_week, last_week, this_month, last_month, month, quarter,
    # year_to_date (see bot.core.calendar)
    kind: str
    start: Day | None = None
    end: Day | None = None
    days: int = 0
    number: int = 0  # the month (1-12) or the quarter (1-4) of ``month`` / ``quarter``

    def describe(self) -> str:
        if self.kind == "since":
            return f"since {_day_text(self.start)}"
        if self.kind == "between":
            return f"{_day_text(self.start)} – {_day_text(self.end)}"
        if self.kind == "last_days":
            return f"last {self.days} days"
        if self.kind == "month":
            return f"{date(2000, self.number, 1):%B}"
        if self.kind == "quarter":
            return f"Q{self.number}"
        return self.kind.replace("_", " ")


@dataclass(frozen=True)
class Period:
    """A resolved half-open interval [start, end) in UTC, with a human label."""

    start: datetime
    end: datetime
    label: str
    timezone: str

    def clipped_end(self, now: datetime) -> datetime:
        """The end, or ``now`` when the period is still running."""
        return min(self.end, now)

    def dates_text(self) -> str:
        """``Nov 16 – Nov 29, 2026 (Europe/Berlin)``: local calendar days, end inclusive."""
        return f"{days_text(*self.local_dates())} ({self.timezone})"

    def local_dates(self) -> tuple[date, date]:
        zone = ZoneInfo(self.timezone)
        last_instant = self.end - timedelta(microseconds=1)
        return self.start.astimezone(zone).date(), last_instant.astimezone(zone).date()


THIS_SPRINT = PeriodSpec("this_sprint")


@lru_cache(maxsize=1024)  # a review words the same few days for a thousand metrics
def day_text(day: date) -> str:
    """``Nov 18``: a day, without its year."""
    return f"{day:%b} {day.day}"


def days_text(first: date, last: date) -> str:
    """``Nov 16 – Nov 29, 2026``, or ``Dec 1, 2026 – Feb 1, 2027`` across a new year."""
    start = day_text(first) + ("" if first.year == last.year else f", {first.year}")
    return f"{start} – {day_text(last)}, {last.year}"


def resolve(spec: PeriodSpec, cadence: Cadence, now: datetime) -> Period:
    """Turn a spec into UTC boundaries for ``cadence`` at instant ``now``."""
    zone = cadence.zone
    today = now.astimezone(zone).date()
    if spec.kind in CALENDAR_KINDS:
        start_day, end_day, label = calendar_bounds(spec.kind, spec.number, cadence, today)
    elif spec.kind == "since":
        assert spec.start is not None
        start_day, end_day = on_or_before(spec.start, today), today + timedelta(days=1)
        _check_started(start_day, today, cadence.timezone)
        label = f"since {start_day:%b %-d, %Y}"
    elif spec.kind == "between":
        assert spec.start is not None and spec.end is not None
        start_day, last_day = on_or_before(spec.start, today), on_or_before(spec.end, today)
        _check_order(start_day, last_day)
        _check_started(start_day, today, cadence.timezone)
        end_day = last_day + timedelta(days=1)
        label = "custom period"
    elif spec.kind == "last_days":
        end_day = today + timedelta(days=1)
        start_day = end_day - timedelta(days=spec.days)
        label = f"last {spec.days} days"
    else:
        raise UsageError(f"Unknown period {spec.kind!r}.", PERIOD_USAGE)
    return Period(local_midnight(start_day, zone), local_midnight(end_day, zone), label,
                  cadence.timezone)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(text: str) -> Day:
    """Parse ``2026-10-01``, ``Oct 1``, ``1 Oct`` or ``October 1 2026``; without a year,
    a :class:`DayOfYear`."""
    cleaned = text.strip().rstrip("?.!,").lower().replace(",", " ")
    match = _ISO_DATE.match(cleaned)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        words = cleaned.split()
        month = day = year = None
        for word in words:
            stripped = re.sub(r"(st|nd|rd|th)$", "", word) if word[:1].isdigit() else word
            if stripped in MONTHS and month is None:
                month = MONTHS[stripped]
            elif stripped.isdigit() and len(stripped) == 4 and year is None:
                year = int(stripped)
            elif stripped.isdigit() and day is None:
                day = int(stripped)
            else:
                raise ValueError(word)
        if month is None or day is None:
            raise ValueError(text)
        if year is None:
            date(2000, month, day)  # a day that exists in some year (2000 was a leap year)
            return DayOfYear(month, day)
        return date(year, month, day)
    except ValueError as exc:
        raise UsageError(
            f"{text.strip()!r} is not a date I understand.", "YYYY-MM-DD, e.g. 2026-10-01"
        ) from exc


def parse_date(text: str, today: date) -> date:
    """:func:`parse_day`, a day without a year taken as the latest on or before ``today``."""
    return on_or_before(parse_day(text), today)


def _check_order(start: date, end: date) -> None:
    if end < start:
        raise UsageError(f"The period ends ({end}) before it starts ({start}).", PERIOD_USAGE)


def _check_started(start: date, today: date, timezone: str) -> None:
    if start > today:
        raise UsageError(f"The period starts on {start}, after today ({today} in {timezone}): "
                         "there is nothing to review yet. Pick a start on or before today.",
                         PERIOD_USAGE)


def parse_period(words: list[str], today: date | None = None) -> PeriodSpec:
    """Parse the words of a period; an empty list means this sprint.

    With ``today`` (a question asked at a known moment), days typed without a year are
    dated now; without it they are dated when the period is resolved.
    """
    lowered = [w.lower().rstrip("?.!,") for w in words if w.strip()]
    if not lowered:
        return THIS_SPRINT
    text = " ".join(lowered)
    simple = {
        "this sprint": "this_sprint", "sprint": "this_sprint", "current sprint": "this_sprint",
        "last sprint": "last_sprint", "previous sprint": "last_sprint",
        "this quarter": "this_quarter", "quarter": "this_quarter",
        "current quarter": "this_quarter",
        "last quarter": "last_quarter", "previous quarter": "last_quarter",
    }
    if text in simple:
        return PeriodSpec(simple[text])
    match = re.fullmatch(r"(?:last|past) (\d{1,4}) days?", text)
    if match:
        days = int(match[1])
        if not 1 <= days <= 3660:
            raise UsageError("The number of days must be between 1 and 3660.", PERIOD_USAGE)
        return PeriodSpec("last_days", days=days)
    if lowered[0] == "since" and len(lowered) > 1:
        return PeriodSpec("since", start=_parse_day(" ".join(lowered[1:]), today))
    match = re.fullmatch(r"(?:between|from) (.+?) (?:and|to|until) (.+)", text)
    if match:
        start, end = _parse_day(match[1], today), _parse_day(match[2], today)
        if isinstance(start, date) and isinstance(end, date):
            _check_order(start, end)
        return PeriodSpec("between", start=start, end=end)
    raise UsageError(f"{' '.join(words)!r} is not a period I understand.", PERIOD_USAGE)


def _parse_day(text: str, today: date | None) -> Day:
    day = parse_day(text)
    return day if today is None else on_or_before(day, today)


def week_start(day: date) -> date:
    """The Monday on or before ``day``."""
    return day - timedelta(days=day.weekday())


def local_instant(value: datetime | date | None, zone: str, now: datetime) -> datetime:
    """A moment typed as a date (its local midnight) or a local date-time in ``zone``;
    None is ``now``."""
    if value is None:
        return now
    tz = ZoneInfo(zone)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tzinfo=tz)
