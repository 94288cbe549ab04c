"""Answers to the questions that no command answers as such: what is off track, what
shipped, when a target is reached, why a metric moved, two periods side by side, who owns
and who signed an initiative. Each answer says which period it used."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.app.context import Context, Reply
from bot.app.replies import movement_line, values_text
from bot.app.review_builder import build_review
from bot.app.services import find_initiative, missing_signoffs
from bot.core.periods import THIS_SPRINT, PeriodSpec, day_text
from bot.core.review import (
    InitiativeReview,
    MetricReview,
    Movement,
    Review,
    Status,
    format_number,
    pace_text,
)
from bot.grammar.ask import Question
from bot.render.common import (
    drivers_text,
    segment_notes,
    shipped_lines,
    step_text,
    with_unit,
)

MAX_LINES = 40  # a reply to read in a thread, not a report


def _review(session: Session, ctx: Context, question: Question,
            period: PeriodSpec | None = None) -> Review:
    chosen = None
    if question.initiative:
        chosen = [find_initiative(session, ctx.actor.workspace, question.initiative)]
    return build_review(session, ctx.actor.workspace, period or question.period or THIS_SPRINT,
                        ctx.now(), initiatives=chosen, with_history=False)


def _period_of(review: Review) -> str:
    """'this sprint (Nov 30 – Dec 13, 2026 (UTC))', or the label alone across zones."""
    periods = {i.period.dates_text() for i in review.initiatives}
    return (f"{review.period_label} ({periods.pop()})" if len(periods) == 1
            else review.period_label)


def _metrics(review: Review, question: Question) -> list[tuple[InitiativeReview, MetricReview]]:
    return [(i, m) for i in review.initiatives for m in i.metrics
            if question.metric is None or m.definition.key == question.metric]


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LINES + 1:
        return lines
    return [*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more"]


def status_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """The metrics whose status is one of ``question.statuses``, with the reason."""
    review = _review(session, ctx, question)
    wanted = set(question.statuses)
    names = " or ".join(question.statuses)
    chosen = [(i, m) for i, m in _metrics(review, question) if m.status.value in wanted]
    if not chosen:
        counts = review.count_by_status()
        standing = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
        return Reply(f"Nothing is {names} now ({standing or 'no metrics yet'}).",
                     review=review)
    lines = [f"{names.capitalize()} now:"]
    lines += [f"• {i.name} / {m.definition.name}: {m.status.value}, {m.status_reason}"
              for i, m in chosen]
    return Reply("\n".join(_capped(lines)), review=review)


def shipped_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """What shipped in the period, and what moved since each."""
    review = _review(session, ctx, question)
    lines = [f"• {i.name}: {line}" for i in review.initiatives for line in shipped_lines(i)]
    period = _period_of(review)
    if not lines:
        return Reply(f"Nothing was marked shipped {period}. Mark a ship with "
                     f"{ctx.prefix} shipped <initiative> \"<name>\".", review=review)
    return Reply("\n".join(_capped([f"Shipped {period}:", *lines])), review=review)


def _forecast_line(initiative: InitiativeReview, metric: MetricReview) -> str:
    d = metric.definition
    head = f"• {initiative.name} / {d.name}"
    if metric.status is Status.ACHIEVED:
        return f"{head}: target {format_number(d.target)} reached"
    if d.target is None:
        return f"{head}: no target agreed"
    latest = metric.change.after.value if metric.change.after else None
    now = f"{with_unit(latest, d.unit)} now, target {with_unit(d.target, d.unit)}"
    if d.target_date is not None:
        now += f" by {d.target_date:%Y-%m-%d}"
    ahead = pace_text(metric.forecast) if metric.forecast else metric.status_reason
    return f"{head}: {now}; {ahead} ({metric.status.value})"


def when_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """When each metric reaches its target at the recent pace, with the range."""
    review = _review(session, ctx, question)
    lines = [_forecast_line(i, m) for i, m in _metrics(review, question)]
    if not lines:
        return Reply("No metrics to forecast yet.", review=review)
    return Reply("\n".join(_capped(["When the targets are reached:", *lines])),
                 review=review)


def _why_lines(initiative: InitiativeReview, metric: MetricReview) -> list[str]:
    d, change = metric.definition, metric.change
    lines = [f"• {movement_line(initiative.name, metric)}"]
    if change.movement not in (Movement.IMPROVED, Movement.REGRESSED):
        return lines
    reasons = [drivers_text(metric)]  # the step, if any, is in the movement line
    last_day = initiative.period.local_dates()[1]
    reasons += [f"'{s.name}' shipped {day_text(s.shipped_on)}, meant to move it"
                for s in initiative.deliverables
                if d.key in s.moves and s.shipped_on is not None and s.shipped_on <= last_day]
    reasons += segment_notes(metric)
    lines += [f"   {reason}" for reason in reasons if reason]
    if len(lines) == 1 and step_text(change, d.unit) is None:
        lines.append("   no step, segment or shipped deliverable explains it: a gradual move")
    return lines


def why_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """Why the metric (or the initiative's metrics, or the biggest movers) moved: the step
    and its date, the segments that drove it, and what shipped before it."""
    review = _review(session, ctx, question)
    chosen = (_metrics(review, question) if question.initiative
              else review.ranked_movers()[:3])
    if not chosen:
        return Reply(f"Nothing moved {_period_of(review)} beyond normal variation.",
                     review=review)
    lines = [f"Why, {_period_of(review)}:"]
    for initiative, metric in chosen:
        lines += _why_lines(initiative, metric)
    return Reply("\n".join(_capped(lines)), review=review)


def compare_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """Each metric over two periods, side by side."""
    first = _review(session, ctx, question)
    second = _review(session, ctx, question, question.other_period or PeriodSpec("last_sprint"))
    others = {(i.key, m.definition.key): m for i in second.initiatives for m in i.metrics}
    lines = [f"{first.period_label} vs {second.period_label}:"]
    for initiative, metric in _metrics(first, question):
        other = others.get((initiative.key, metric.definition.key))
        unit = metric.definition.unit
        if metric.change.after is None and (other is None or other.change.after is None):
            continue  # no data in either period: nothing to set side by side
        line = (f"• {initiative.name} / {metric.definition.name}: "
                f"{values_text(metric.change, unit)} ({metric.change.verdict})")
        if other is not None:
            line += f" vs {values_text(other.change, unit)} ({other.change.verdict})"
        lines.append(line)
    if len(lines) == 1:
        return Reply("No metrics to compare yet.", review=first)
    return Reply("\n".join(_capped(lines)), review=first)


def who_answer(session: Session, ctx: Context, question: Question) -> Reply:
    """The initiative's owners, or who signed which revision when."""
    assert question.initiative is not None
    initiative = find_initiative(session, ctx.actor.workspace, question.initiative)
    head = f"{initiative.name} ({initiative.key})"
    owners = (f"product owner {initiative.product_owner or '– (none named)'}, engineering "
              f"lead {initiative.engineering_owner or '– (none named)'}")
    if question.who == "owners":
        return Reply(f"{head}: {owners}.")
    zone = ZoneInfo(initiative.timezone)
    signed = sorted(initiative.signoffs, key=lambda s: (s.revision, s.at), reverse=True)
    lines = [f"{head}, revision {initiative.revision} ({initiative.status}):"]
    lines += [f"• revision {s.revision}: {s.role} signed by {s.user} on {_local(s.at, zone)}"
              for s in signed[:10]]
    missing = missing_signoffs(initiative)
    if missing:
        lines.append(f"Waiting for the {' and '.join(r.value for r in missing)} owner on "
                     f"revision {initiative.revision} ({owners}).")
    if not signed:
        lines.insert(1, "• nobody has signed yet")
    return Reply("\n".join(lines))


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"
