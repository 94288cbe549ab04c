"""Build review models from the database: the one place reviews read samples."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.models import Initiative, Metric
from bot.periods import Cadence, Period, PeriodSpec, resolve
from bot.review import InitiativeReview, MetricDefinition, MetricReview, Review, evaluate_metric
from bot.samples import (
    Point,
    earliest,
    first_after,
    latest_at_or_before,
    segments_of,
    series,
)
from bot.services import list_initiatives

MAX_CHART_POINTS = 600


def cadence_of(initiative: Initiative) -> Cadence:
    return Cadence(
        sprint_days=initiative.sprint_days,
        sprint_anchor=initiative.sprint_anchor,
        timezone=initiative.timezone,
        fiscal_year_start_month=initiative.fiscal_year_start_month,
    )


def definition_of(metric: Metric) -> MetricDefinition:
    return MetricDefinition(
        key=metric.key,
        name=metric.name,
        unit=metric.unit,
        direction=metric.direction,
        question=metric.question,
        baseline=metric.baseline_value,
        baseline_at=metric.baseline_at,
        target=metric.target_value,
        target_date=metric.target_date,
        noise=metric.noise,
        stale_after=timedelta(seconds=metric.stale_after_seconds),
    )


def _thin(points: list[Point], limit: int = MAX_CHART_POINTS) -> list[Point]:
    """Keep at most ``limit`` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    kept = [points[int(i * step)] for i in range(limit - 1)]
    return [*kept, points[-1]]


def review_metric(session: Session, metric: Metric, period: Period, now: datetime,
                  *, with_history: bool = True) -> MetricReview:
    """Before → after, status and movement of one metric over ``period``."""
    end = period.clipped_end(now)
    before: dict[str, Point | None] = {}
    after: dict[str, Point | None] = {}
    for segment in segments_of(session, metric.id) or [""]:
        before[segment] = latest_at_or_before(session, metric.id, segment, period.start) or (
            first_after(session, metric.id, segment, period.start, end)
        )
        after[segment] = latest_at_or_before(session, metric.id, segment, end)
    history = None
    if with_history:
        lookback = max(period.end - period.start, timedelta(days=14))
        history = {"": _thin(series(session, metric.id, "", period.start - lookback, end))}
    return evaluate_metric(
        definition_of(metric),
        period=period,
        now=now,
        before=before,
        after=after,
        first_sample=earliest(session, metric.id),
        history=history,
    )


def review_initiative(session: Session, initiative: Initiative, spec: PeriodSpec,
                      now: datetime, *, with_history: bool = True,
                      period_at: datetime | None = None) -> InitiativeReview:
    """Review one initiative; the period is resolved at ``period_at`` (default ``now``)."""
    period = resolve(spec, cadence_of(initiative), period_at or now)
    metrics = tuple(
        review_metric(session, metric, period, now, with_history=with_history)
        for metric in initiative.metrics
    )
    return InitiativeReview(
        key=initiative.key,
        name=initiative.name,
        why=initiative.why,
        status=initiative.status,
        channel=initiative.channel,
        period=period,
        metrics=metrics,
    )


def build_review(session: Session, workspace: str, spec: PeriodSpec, now: datetime, *,
                 initiatives: list[Initiative] | None = None,
                 with_history: bool = True, period_at: datetime | None = None) -> Review:
    """Review every active initiative (or the given ones) over the period ``spec``."""
    chosen = initiatives if initiatives is not None else list_initiatives(session, workspace)
    reviews = tuple(
        review_initiative(session, initiative, spec, now, with_history=with_history,
                          period_at=period_at)
        for initiative in chosen
    )
    label = reviews[0].period.label if len(reviews) == 1 else spec.describe()
    title = (f"Outcome review: {reviews[0].name}" if len(reviews) == 1
             else "Outcome review")
    return Review(title=title, period_label=label, generated_at=now, initiatives=reviews)
