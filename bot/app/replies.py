"""Text that replies and announcements share: a metric's criterion, what changed, what moved.

Each rule is written once here, so ``show``, ``metric add``, ``history`` and the sign-off
request in the review channel describe the same thing the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.kinds import InitiativeStatus
from bot.core.review import Change, MetricReview, Movement, Review, format_number
from bot.core.variation import Verdict
from bot.render.common import step_text
from bot.storage.models import Initiative, Metric


@dataclass(frozen=True)
class Criterion:
    """A metric's success criterion in words, in parts each transport arranges its way."""

    key: str
    name: str
    question: str
    change: str  # "40 → 12 min by 2027-06-30"
    better: str  # "lower is better"
    source: str

    @property
    def text(self) -> str:
        """``40 → 12 min by 2027-06-30, lower is better``."""
        return f"{self.change}, {self.better}"


def criterion(metric: Metric) -> Criterion:
    by = f" by {metric.target_date:%Y-%m-%d}" if metric.target_date else ""
    change = (f"{format_number(metric.baseline_value)} → {format_number(metric.target_value)}"
              f"{unit_suffix(metric.unit)}{by}")
    better = "higher" if metric.direction == "up" else "lower"
    return Criterion(metric.key, metric.name, metric.question or "", change,
                     f"{better} is better", metric.source_kind)


def unit_suffix(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def changed_text(initiative: Initiative, verb: str) -> str:
    """``Updated fleet: Fleet update (draft, revision 2).`` and whether to sign again."""
    text = f"{verb} {initiative.key}: {initiative.name} ({initiative.status}"
    text += f", revision {initiative.revision})."
    if initiative.status == InitiativeStatus.DRAFT and initiative.revision > 1:
        text += " The criteria changed, so both owners need to agree again."
    return text


def changed_fields(before: dict[str, Any], after: dict[str, Any], *,
                   readable: bool = False) -> list[str]:
    """``name: before → after`` for each field of an audit row that changed (``key`` names
    the metric, it is not a change); ``readable`` writes ``target value`` for
    ``target_value``."""
    return [
        f"{name.replace('_', ' ') if readable else name}: {before.get(name, '–')} → {value}"
        for name, value in after.items()
        if name != "key" and before.get(name) != value
    ]


def diff_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """' deploy: target_value: 12.0 → 10.0' for a change, ' (label)' for a creation."""
    after = after or {}
    if not before:
        label = after.get("key") or after.get("role") or after.get("name")
        return f" ({label})" if label else ""
    changes = "; ".join(changed_fields(before, after))
    prefix = f" {after['key']}" if "key" in after else ""
    return prefix + (f": {changes}" if changes else "")


def values_text(change: Change, unit: str) -> str:
    """``40 → 30 min``: a series' value at the start and at the end of a period."""
    before = change.before.value if change.before else None
    after = change.after.value if change.after else None
    return f"{format_number(before)} → {format_number(after)}{unit_suffix(unit)}"


def still_counts(review: Review) -> str:
    """How the metrics that did not move stand: '12 within normal variation, 1 spike,
    3 without enough data to tell' (empty when every metric moved)."""
    counts: dict[str, int] = {}
    for initiative in review.initiatives:
        for metric in initiative.metrics:
            found = metric.change.assessment
            if metric.change.movement in (Movement.IMPROVED, Movement.REGRESSED):
                continue
            if found is None or found.verdict is Verdict.NO_DATA:
                label = "without data"
            elif found.verdict is Verdict.NOT_ENOUGH:
                label = "without enough data to tell"
            elif found.verdict is Verdict.SPIKE:
                label = "only a spike"
            else:
                label = "within normal variation"
            counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{count} {label}" for label, count in counts.items())


def movement_line(initiative_name: str, metric: MetricReview) -> str:
    """``Fleet / Deploy time: 40 → 30 min (-25%), improved; on track, 36% of the gap``."""
    change, d = metric.change, metric.definition
    rel = f" ({change.relative:+.0%})" if change.relative is not None else ""
    step = step_text(change, d.unit)
    line = (f"{initiative_name} / {d.name}: {values_text(change, d.unit)}{rel}, "
            f"{change.verdict}; {step + '; ' if step else ''}{metric.status.value}")
    if metric.score is not None:
        line += f", {abs(metric.score):.0%} of the gap"
    return line
