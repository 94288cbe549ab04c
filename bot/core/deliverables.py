"""Deliverables in a review: what shipped in the period, and what moved after each.

A deliverable is the impact map's *What*: it names the metrics (the *How* measured) it is
meant to move. Since it shipped, each of them is judged from the week before the ship
day to the period's last days, against its own normal variation, as the review judges
the period. A deliverable that moves nothing measured is flagged: if a feature cannot be
measured, it is not complete.

Pure code: days are ordinals of the initiative's local dates, as in
:mod:`bot.core.variation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.core.changes import Change, DayWindows, MetricDefinition, judged_change
from bot.core.variation import WINDOW_DAYS, DailySeries

UNMEASURED_NOTE = "if a feature cannot be measured, it is not complete"


def clean_name(name: str) -> str:
    """A deliverable's name as stored: its words, single-spaced."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """What makes two names the same deliverable: their words, whatever the case."""
    return clean_name(name).casefold()


@dataclass(frozen=True)
class Deliverable:
    """What a review needs to know about a deliverable (decoupled from the ORM row)."""

    name: str
    moves: tuple[str, ...] = ()  # metric keys
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class MovedSince:
    """One of a deliverable's metrics, from the week before it shipped to the period's
    last days."""

    definition: MetricDefinition
    change: Change


@dataclass(frozen=True)
class DeliverableReview:
    name: str
    moves: tuple[str, ...]
    shipped_at: datetime | None
    shipped_on: date | None  # the local day it shipped
    in_period: bool  # shipped inside the period reviewed
    since: tuple[MovedSince, ...] = ()  # for one shipped in the period
    unmeasured: str | None = None  # why it moves nothing measured, when it does not


def unmeasured_reason(deliverable: Deliverable, metric_keys: Sequence[str],
                      with_data: Sequence[str] | None = None) -> str | None:
    """Why ``deliverable`` moves nothing measured, or None when it names a metric of the
    initiative (that has data, when ``with_data`` lists those that do)."""
    if not deliverable.moves:
        return "names no metric it is meant to move"
    known = [key for key in deliverable.moves if key in metric_keys]
    if not known:
        return f"moves {', '.join(deliverable.moves)}, which are not metrics of this initiative"
    if with_data is not None and not any(key in with_data for key in known):
        return "its metrics have no data yet"
    return None


def review_deliverables(deliverables: Sequence[Deliverable],
                        definitions: Mapping[str, MetricDefinition],
                        daily: Mapping[str, DailySeries], period_days: tuple[date, date],
                        after_window: tuple[int, int], timezone: str,
                        with_data: Sequence[str]) -> tuple[DeliverableReview, ...]:
    """Each deliverable as the review shows it: ``definitions`` and ``daily`` (a metric's
    total's daily values) by metric key; ``period_days`` the period's first and last local
    days; ``after_window`` the period's last window (day ordinals)."""
    zone = ZoneInfo(timezone)
    first, last = period_days
    reviewed = []
    for deliverable in deliverables:
        shipped_on = (deliverable.shipped_at.astimezone(zone).date()
                      if deliverable.shipped_at else None)
        in_period = shipped_on is not None and first <= shipped_on <= last
        since: tuple[MovedSince, ...] = ()
        if in_period:
            assert shipped_on is not None
            windows = _windows_since(shipped_on, after_window)
            since = tuple(MovedSince(definitions[key], _change_since(
                definitions[key], daily.get(key), windows))
                for key in deliverable.moves if key in definitions)
        reviewed.append(DeliverableReview(
            deliverable.name, deliverable.moves, deliverable.shipped_at, shipped_on,
            in_period, since, unmeasured_reason(deliverable, list(definitions), with_data)))
    return tuple(reviewed)


def _windows_since(shipped_on: date, after_window: tuple[int, int]) -> DayWindows:
    """The week before the ship day, and the period's last window from the day after it
    (the ship day itself is half before, half after)."""
    day = shipped_on.toordinal()
    return (day - WINDOW_DAYS, day - 1), (max(day + 1, after_window[0]), after_window[1])


def _change_since(definition: MetricDefinition, series: DailySeries | None,
                  windows: DayWindows) -> Change:
    # No noise floor beyond the metric's own: the same verdicts as the period's.
    return judged_change(None, None, definition, series or DailySeries(), windows)
