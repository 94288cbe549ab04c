"""The review model and its arithmetic: before → after, progress, status, movement.

Pure code: it takes points and metric definitions and returns dataclasses that every
renderer (Block Kit, Markdown, HTML, terminal, charts) reads. Nothing here touches the
database or Slack.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core.changes import (
    Change,
    DayWindows,
    MetricDefinition,
    Movement,
    classify_movement,
    end_of,
    judged_change,
)
from bot.core.deliverables import DeliverableReview
from bot.core.drivers import Drivers, Levels, is_weight, segment_drivers, weight_segment
from bot.core.forecast import Forecast, forecast
from bot.core.periods import Period, day_text, days_text
from bot.core.points import Point
from bot.core.variation import DailySeries, window_level

__all__ = ["Change", "DayWindows", "InitiativeReview", "MetricDefinition", "MetricReview",
           "Movement", "Review", "SegmentReview", "Status", "assess_status",
           "classify_movement", "evaluate_metric", "format_number", "meets_target",
           "movement_score", "one_line_summary", "progress_fraction", "project"]

AT_RISK_PROGRESS = 0.75  # projected to close at least this share of the gap: at risk, not off


class Status(enum.StrEnum):
    ACHIEVED = "achieved"
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF_TRACK = "off track"
    NO_DATA = "no data"
    STALE = "stale"
    NO_TARGET = "no target"


@dataclass(frozen=True)
class SegmentReview:
    segment: str
    change: Change
    regressed_while_total_improved: bool = False


@dataclass(frozen=True)
class MetricReview:
    """One metric over one period."""

    definition: MetricDefinition
    change: Change
    status: Status
    status_reason: str
    progress: float | None
    projected: float | None
    score: float | None
    segments: tuple[SegmentReview, ...] = ()
    history: tuple[Point, ...] = ()
    segment_history: dict[str, tuple[Point, ...]] = field(default_factory=dict)
    last_sample_at: datetime | None = None
    forecast: Forecast | None = None  # when the target is reached at the recent pace
    drivers: Drivers | None = None  # each segment's part in the total's change

    @property
    def hidden_regressions(self) -> tuple[SegmentReview, ...]:
        return tuple(s for s in self.segments if s.regressed_while_total_improved)


@dataclass(frozen=True)
class InitiativeReview:
    key: str
    name: str
    why: str
    status: str
    channel: str
    period: Period
    metrics: tuple[MetricReview, ...]
    deliverables: tuple[DeliverableReview, ...] = ()

    @property
    def shipped(self) -> tuple[DeliverableReview, ...]:
        """The deliverables that shipped in the period, in order."""
        return tuple(d for d in self.deliverables if d.in_period)

    @property
    def data_time(self) -> datetime | None:
        times = [m.last_sample_at for m in self.metrics if m.last_sample_at]
        return max(times) if times else None

    @property
    def what_moved(self) -> str:
        """A one-line summary of the biggest movement in this initiative."""
        return one_line_summary(self.metrics)


@dataclass(frozen=True)
class Review:
    """A review of several initiatives over one period, as of ``generated_at``."""

    title: str
    period_label: str
    generated_at: datetime
    initiatives: tuple[InitiativeReview, ...]

    def ranked_movers(self) -> list[tuple[InitiativeReview, MetricReview]]:
        """Every metric that moved, biggest movement relative to its gap first."""
        moved = [
            (initiative, metric)
            for initiative in self.initiatives
            for metric in initiative.metrics
            if metric.change.movement in (Movement.IMPROVED, Movement.REGRESSED)
        ]
        return sorted(moved, key=lambda pair: -abs(pair[1].score or 0.0)
                      * pair[1].change.weight)

    def count_by_status(self) -> dict[Status, int]:
        counts: dict[Status, int] = {}
        for initiative in self.initiatives:
            for metric in initiative.metrics:
                counts[metric.status] = counts.get(metric.status, 0) + 1
        return counts


def meets_target(value: float, definition: MetricDefinition) -> bool:
    assert definition.target is not None
    if definition.higher_is_better:
        return value >= definition.target
    return value <= definition.target


def progress_fraction(value: float, baseline: float, target: float) -> float | None:
    """Share of the baseline → target gap closed at ``value`` (1.0 = target reached)."""
    gap = target - baseline
    if gap == 0:
        return None
    return (value - baseline) / gap


def project(baseline: Point, latest: Point, target_date: date) -> float | None:
    """Linear projection of the pace since the baseline to the end of the target date."""
    elapsed = (latest.at - baseline.at).total_seconds()
    if elapsed <= 0:
        return None
    rate = (latest.value - baseline.value) / elapsed
    remaining = (end_of(target_date) - latest.at).total_seconds()
    return latest.value + rate * max(remaining, 0.0)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"


def assess_status(
    definition: MetricDefinition,
    latest: Point | None,
    baseline: Point | None,
    evaluated_at: datetime,
    ahead: Forecast | None = None,
) -> tuple[Status, str, float | None, float | None]:
    """Status, its reason, progress toward target and the projected value at target date,
    from the ``latest`` point (its value the current level, where daily values give one);
    with a forecast from daily values (``ahead``), on track means reached by the target
    date even at the slow end of its range."""
    if latest is None:
        return Status.NO_DATA, "no samples recorded yet", None, None
    age = evaluated_at - latest.at
    if age > definition.stale_after:
        return (Status.STALE, f"last value is {_age(age)} old "
                f"(stale after {_age(definition.stale_after)})", None, None)
    if definition.target is None:
        return Status.NO_TARGET, "no target agreed yet", None, None
    progress = None
    if baseline is not None:
        progress = progress_fraction(latest.value, baseline.value, definition.target)
    if meets_target(latest.value, definition):
        return Status.ACHIEVED, "target reached", progress, None
    if definition.target_date is None or (baseline is None and ahead is None):
        reason = "target not reached and no target date to project to"
        return Status.AT_RISK, reason + (f"; {pace_text(ahead)}" if ahead else ""), \
            progress, None
    if evaluated_at >= end_of(definition.target_date):
        return (Status.OFF_TRACK, f"target date {definition.target_date:%Y-%m-%d} passed",
                progress, None)
    if ahead is not None:
        return _status_ahead(ahead, definition.target_date, progress, evaluated_at)
    assert baseline is not None
    projected = project(baseline, latest, definition.target_date)
    if projected is None:
        return Status.AT_RISK, "not enough history to project", progress, None
    projected_progress = progress_fraction(projected, baseline.value, definition.target)
    when = f"{definition.target_date:%Y-%m-%d}"
    if projected_progress is None or projected_progress >= 1:
        return Status.ON_TRACK, f"at this pace reaches target by {when}", progress, projected
    if projected_progress >= AT_RISK_PROGRESS:
        return (Status.AT_RISK, f"at this pace closes {projected_progress:.0%} of the gap "
                f"by {when}", progress, projected)
    return (Status.OFF_TRACK, f"at this pace closes only {max(projected_progress, 0):.0%} "
            f"of the gap by {when}", progress, projected)


def pace_text(ahead: Forecast) -> str:
    """'at this pace: Mar 3 – Apr 20, 2027; needs 2.0× today's pace'."""
    if ahead.in_sight:
        assert ahead.earliest is not None and ahead.latest is not None
        first, last = ahead.earliest, ahead.latest
        text = "at this pace: " + (days_text(first, last) if first != last
                                   else f"{day_text(first)}, {first.year}")
    else:
        text = "not in sight at this pace"
    ratio = ahead.pace_ratio()
    if ratio is not None and ratio > 1.05:
        text += f"; needs {ratio:.1f}× today's pace"
    elif ratio is None and ahead.needed is not None and ahead.needed != 0:
        text += f"; needs {format_number(abs(ahead.needed))} a day the other way"
    return text


def _status_ahead(ahead: Forecast, target_date: date, progress: float | None,
                  evaluated_at: datetime) -> tuple[Status, str, float | None, float | None]:
    """On track when even the forecast's slow end is by the target date, at risk when its
    range still reaches it, off track otherwise."""
    days_left = (end_of(target_date) - evaluated_at) / timedelta(days=1)
    projected = ahead.level + ahead.pace * days_left
    text = f"{pace_text(ahead)} (target date {day_text(target_date)})"
    if ahead.latest is not None and ahead.latest <= target_date:
        return Status.ON_TRACK, text, progress, projected
    if ahead.earliest is not None and ahead.earliest <= target_date:
        return Status.AT_RISK, text, progress, projected
    return Status.OFF_TRACK, text, progress, projected


def movement_score(change: Change, definition: MetricDefinition,
                   baseline: float | None) -> float | None:
    """Change in the good direction as a share of the baseline → target gap."""
    delta = change.delta
    if delta is None:
        return None
    good = delta if definition.higher_is_better else -delta
    if definition.target is not None and baseline is not None and definition.target != baseline:
        return good / abs(definition.target - baseline)
    relative = change.relative
    if relative is None:
        return None
    return relative if definition.higher_is_better else -relative


def one_line_summary(metrics: tuple[MetricReview, ...] | list[MetricReview]) -> str:
    """'Deploy time 40 → 12 min (improved); 1 segment regressed' style summary."""
    moved = [m for m in metrics if m.change.movement in (Movement.IMPROVED, Movement.REGRESSED)]
    if not metrics:
        return "No metrics defined yet."
    if not moved:
        missing = sum(1 for m in metrics if m.status in (Status.NO_DATA, Status.STALE))
        if missing:
            return f"Nothing moved; {missing} metric(s) without fresh data."
        return "Nothing moved beyond normal variation."
    top = max(moved, key=lambda m: abs(m.score or 0.0))
    assert top.change.before is not None and top.change.after is not None
    unit = f" {top.definition.unit}" if top.definition.unit else ""
    text = (f"{top.definition.name} {format_number(top.change.before.value)} → "
            f"{format_number(top.change.after.value)}{unit} ({top.change.movement.value})")
    others = len(moved) - 1
    if others:
        text += f"; {others} other metric(s) moved"
    hidden = sum(len(m.hidden_regressions) for m in metrics)
    if hidden:
        text += f"; {hidden} segment(s) regressed while the total improved"
    return text


def format_number(value: float | None) -> str:
    """Compact human formatting: 12, 12.5, 0.42, 1,234, 1.2M."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value:,.0f}"
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:,.0f}" if magnitude >= 1000 else f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def evaluate_metric(
    definition: MetricDefinition,
    *,
    period: Period,
    now: datetime,
    before: dict[str, Point | None],
    after: dict[str, Point | None],
    first_sample: Point | None,
    history: dict[str, list[Point]] | None = None,
    daily: dict[str, DailySeries] | None = None,
    windows: DayWindows | None = None,
) -> MetricReview:
    """Review one metric. ``before``/``after`` map segment ('' = total) to its points;
    ``daily`` its series' daily values, judged over ``windows``."""
    evaluated_at = period.clipped_end(now)

    def change_of(segment: str) -> Change:
        values = None if daily is None else daily.get(segment, DailySeries())
        return judged_change(before.get(segment), after.get(segment), definition, values,
                             windows)

    total_change = change_of("")
    baseline_point = None
    if definition.baseline is not None:
        baseline_point = Point(definition.baseline_at or (first_sample.at if first_sample
                                                          else period.start),
                               definition.baseline)
    elif first_sample is not None:
        baseline_point = first_sample
    total = daily.get("") if daily is not None else None
    ahead = None
    if total is not None and definition.target is not None:
        ahead = forecast(total.days, total.values, definition.target, definition.target_date,
                         (evaluated_at - timedelta(microseconds=1)).date())
    latest = after.get("")
    level = total_change.assessment.after if total_change.assessment else None
    if latest is not None and level is not None:  # a last-day spike reaches no target
        latest = Point(latest.at, level.value)
    status, reason, progress, projected = assess_status(
        definition, latest, baseline_point, evaluated_at, ahead
    )
    segments = []
    for segment in sorted(set(before) | set(after)):
        if not segment or is_weight(segment):
            continue
        change = change_of(segment)
        segments.append(SegmentReview(
            segment,
            change,
            regressed_while_total_improved=(
                change.movement is Movement.REGRESSED
                and total_change.movement is Movement.IMPROVED
            ),
        ))
    history = history or {}
    baseline_value = baseline_point.value if baseline_point else None
    latest = after.get("")
    return MetricReview(
        definition=definition,
        change=total_change,
        status=status,
        status_reason=reason,
        progress=progress,
        projected=projected,
        score=movement_score(total_change, definition, baseline_value),
        segments=tuple(segments),
        history=tuple(history.get("", ())),
        segment_history={k: tuple(v) for k, v in history.items() if k},
        last_sample_at=latest.at if latest else None,
        forecast=ahead,
        drivers=_drivers(definition, segments, before, after, daily, windows),
    )


def _drivers(definition: MetricDefinition, segments: list[SegmentReview],
             before: dict[str, Point | None], after: dict[str, Point | None],
             daily: dict[str, DailySeries] | None, windows: DayWindows | None
             ) -> Drivers | None:
    """Each segment's contribution to the total's change, from the segments' levels
    and, for a weighted total, their weights' levels over the same windows."""
    levels = {s.segment: (s.change.before.value, s.change.after.value) for s in segments
              if s.change.before is not None and s.change.after is not None}
    weights: dict[str, Levels] = {}
    for segment in levels:
        name = weight_segment(segment)
        found = _weight_levels(daily.get(name) if daily else None, windows,
                               before.get(name), after.get(name))
        if found is not None:
            weights[segment] = found
    return segment_drivers(definition.total_relation, levels, weights)


def _weight_levels(series: DailySeries | None, windows: DayWindows | None,
                   before: Point | None, after: Point | None) -> Levels | None:
    """A weight's level in the before and after windows (else at the period's ends)."""
    if series is not None and windows is not None:
        start, end = window_level(series, windows[0]), window_level(series, windows[1])
        if start is not None and end is not None:
            return start, end
    if before is not None and after is not None:
        return before.value, after.value
    return None
