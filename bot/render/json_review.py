"""A review as JSON: one versioned schema (``outcomes.review/1``, documented in
docs/json.md) read from the same review model as every other renderer.

Numbers stay numbers (no rounding, no units glued on); dates are ISO 8601, instants in
UTC. A field a metric cannot fill is null, never left out, so a script can rely on the
shape.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

from bot.core.changes import Change
from bot.core.deliverables import DeliverableReview
from bot.core.drivers import Drivers
from bot.core.forecast import Forecast
from bot.core.review import InitiativeReview, MetricReview, Review
from bot.core.variation import Estimate

SCHEMA = "outcomes.review/1"


def review_json(review: Review) -> str:
    """The review as a JSON document (indented, keys in a fixed order)."""
    return json.dumps(review_document(review), indent=2, ensure_ascii=False,
                      allow_nan=False)


def review_document(review: Review) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "title": review.title,
        "period": review.period_label,
        "generated_at": _instant(review.generated_at),
        "initiatives": [_initiative(i) for i in review.initiatives],
    }


def _initiative(initiative: InitiativeReview) -> dict[str, Any]:
    period = initiative.period
    first, last = period.local_dates()
    return {
        "key": initiative.key,
        "name": initiative.name,
        "why": initiative.why,
        "status": initiative.status,
        "period": {"label": period.label, "start": _instant(period.start),
                   "end": _instant(period.end), "first_day": first.isoformat(),
                   "last_day": last.isoformat(), "timezone": period.timezone},
        "metrics": [_metric(m) for m in initiative.metrics],
        "deliverables": [_deliverable(d) for d in initiative.deliverables],
    }


def _deliverable(deliverable: DeliverableReview) -> dict[str, Any]:
    return {
        "name": deliverable.name,
        "moves": list(deliverable.moves),
        "shipped_at": _instant(deliverable.shipped_at),
        "shipped_on": _day(deliverable.shipped_on),
        "in_period": deliverable.in_period,
        "unmeasured": deliverable.unmeasured,
        "since": [{"metric": m.definition.key, **_change(m.change)}
                  for m in deliverable.since],
    }


def _metric(metric: MetricReview) -> dict[str, Any]:
    definition = metric.definition
    return {
        "key": definition.key,
        "name": definition.name,
        "unit": definition.unit,
        "direction": definition.direction,
        "baseline": _number(definition.baseline),
        "target": _number(definition.target),
        "target_date": _day(definition.target_date),
        "noise_floor": definition.noise,
        **_change(metric.change),
        "status": metric.status.value,
        "status_reason": metric.status_reason,
        "progress": _number(metric.progress),
        "score": _number(metric.score),
        "forecast": _forecast(metric.forecast),
        "last_sample_at": _instant(metric.last_sample_at),
        "segments": [{"segment": s.segment, **_change(s.change),
                      "regressed_while_total_improved": s.regressed_while_total_improved}
                     for s in metric.segments],
        "total_from_segments": definition.total_relation,
        "drivers": _drivers(metric.drivers),
    }


def _drivers(drivers: Drivers | None) -> dict[str, Any] | None:
    if drivers is None:
        return None
    return {
        "relation": drivers.relation,
        "explained": drivers.explained,
        "rate": _number(drivers.rate),
        "mix": _number(drivers.mix),
        "contributions": [{"segment": c.segment, "before": c.before, "after": c.after,
                           "effect": c.effect, "rate": _number(c.rate),
                           "mix": _number(c.mix), "share": _number(c.share)}
                          for c in drivers.contributions],
    }


def _change(change: Change) -> dict[str, Any]:
    """Before → after of one series, with its verdict."""
    found = change.assessment
    step = found.step if found else None
    return {
        "before": _level(change.before.value if change.before else None,
                         found.before if found else None),
        "after": _level(change.after.value if change.after else None,
                        found.after if found else None),
        "movement": change.movement.value,
        "verdict": found.verdict.value if found else None,
        "verdict_text": change.verdict,
        "strength": _number(found.strength) if found else None,
        "normal_variation": _number(found.noise) if found else None,
        "seasonal": found.seasonal if found else False,
        "spike_day": _day(found.spike) if found else None,
        "step": None if step is None else {
            "day": step.day.isoformat(), "before": step.before, "after": step.after,
            "strength": _number(step.strength)},
    }


def _level(value: float | None, window: Estimate | None) -> dict[str, Any] | None:
    """A window's level with its interval, or a single value (sparse data)."""
    if value is None:
        return None
    if window is None:
        return {"value": value, "low": None, "high": None, "days": None,
                "first_day": None, "last_day": None}
    return {"value": window.value, "low": window.low, "high": window.high,
            "days": window.days, "first_day": window.first.isoformat(),
            "last_day": window.last.isoformat()}


def _forecast(ahead: Forecast | None) -> dict[str, Any] | None:
    if ahead is None:
        return None
    return {"pace_per_day": ahead.pace, "level": ahead.level,
            "expected": _day(ahead.expected), "earliest": _day(ahead.earliest),
            "latest": _day(ahead.latest), "needed_pace_per_day": _number(ahead.needed),
            "needed_over_current": _number(ahead.pace_ratio())}


def _number(value: float | None) -> float | None:
    """JSON has no infinity: an unbounded strength (a series that never varied) is null."""
    return None if value is None or not math.isfinite(value) else value


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
