"""Applying a criteria file: every change through the domain services, in one transaction.

A change to agreed criteria therefore reopens the initiative and is audited exactly as when
it is made in Slack; a dry run makes the very same calls and rolls them back.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import digest_schedules
from bot.app.context import Actor, Defaults
from bot.app.criteria.formats import digest_text, format_duration, utc_text
from bot.app.criteria.plan import ApplyResult, FieldChange, InitiativePlan, ItemPlan
from bot.app.criteria.problems import CriteriaInvalid, FieldPath, Problem, path_text
from bot.app.criteria.schedules import digest_rows, digest_state, digest_timing
from bot.app.criteria.specs import (
    INITIATIVE_FILE_FIELDS,
    METRIC_FILE_FIELDS,
    CriteriaFile,
    DeliverableSpec,
    DigestSpec,
    InitiativeSpec,
    MetricSpec,
)
from bot.app.deliverables import find_deliverable, set_deliverable
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative, record_audit
from bot.core.errors import OutcomeError
from bot.core.kinds import InitiativeStatus
from bot.core.periods import local_instant
from bot.storage.models import Initiative


def apply(sessions: sessionmaker[Session], actor: Actor, criteria: CriteriaFile, *,
          now: datetime, defaults: Defaults | None = None, dry_run: bool = False
          ) -> ApplyResult:
    """Create or update everything the file names, in one transaction.

    With ``dry_run`` the same changes run through the same services (so the plan includes
    every reopened agreement and every refusal) and are then rolled back.
    """
    defaults = defaults or Defaults()
    with sessions() as session:
        transaction = session.begin()
        try:
            plans = [_apply_initiative(session, actor, spec, criteria, now, defaults)
                     for spec in criteria.initiatives]
            named = {spec.key for spec in criteria.initiatives}
            others = session.scalars(
                select(Initiative.key).where(Initiative.workspace == actor.workspace,
                                             Initiative.status != InitiativeStatus.ARCHIVED)
                .order_by(Initiative.key)).all()
            result = ApplyResult(criteria.filename, dry_run, plans,
                                 [key for key in others if key not in named])
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return result


def _differences(row: Any, wanted: dict[str, Any], names: dict[str, str]) -> list[FieldChange]:
    return [FieldChange(names[name], getattr(row, name), value)
            for name, value in wanted.items() if getattr(row, name) != value]


def _apply_initiative(session: Session, actor: Actor, spec: InitiativeSpec,
                      criteria: CriteriaFile, now: datetime, defaults: Defaults
                      ) -> InitiativePlan:
    try:
        return _apply_initiative_unchecked(session, actor, spec, criteria, now, defaults)
    except CriteriaInvalid:
        raise
    except OutcomeError as exc:
        # The services refused (e.g. an archived initiative): point at the initiative.
        raise CriteriaInvalid(criteria.filename, [
            Problem(criteria.line_of(spec.path), path_text(spec.path), exc.message)
        ]) from None


def _apply_initiative_unchecked(session: Session, actor: Actor, spec: InitiativeSpec,
                                criteria: CriteriaFile, now: datetime, defaults: Defaults
                                ) -> InitiativePlan:
    existing = session.scalar(select(Initiative).where(
        Initiative.workspace == actor.workspace, Initiative.key == spec.key))
    plan = InitiativePlan(spec.key, spec.fields["name"])
    agreed_before = existing is not None and existing.status == InitiativeStatus.AGREED
    if existing is None:
        fields = defaults.for_new_initiative(spec.fields, now)
        initiative, _ = define_initiative(session, actor, spec.key, fields, now=now)
        plan.created = True
        plan.changes = [FieldChange(INITIATIVE_FILE_FIELDS[name], None, value)
                        for name, value in spec.fields.items()
                        if name != "name" and value is not None]
    else:
        initiative = existing
        plan.changes = _differences(existing, spec.fields, INITIATIVE_FILE_FIELDS)
        if plan.changes:
            changed = {name: value for name, value in spec.fields.items()
                       if getattr(existing, name) != value}
            define_initiative(session, actor, spec.key, changed, now=now)
    digest_schedules.sync_cadence(session, initiative)

    named = set()
    for metric_spec in spec.metrics:
        named.add(metric_spec.key)
        try:
            plan.metrics.append(_apply_metric(session, actor, initiative, metric_spec, now))
        except OutcomeError as exc:
            raise CriteriaInvalid(criteria.filename, [
                Problem(criteria.line_of(metric_spec.path), path_text(metric_spec.path),
                        exc.message)
            ]) from None
    plan.left_alone = [m.key for m in initiative.metrics if m.key not in named]
    # After the metrics, so that a deliverable may move a metric the file adds.
    plan.deliverables = _apply_deliverables(session, actor, initiative, spec.deliverables,
                                            criteria, now)
    listed = [find_deliverable(initiative, item.name) for item in spec.deliverables]
    plan.deliverables_left_alone = [d.name for d in initiative.deliverables
                                    if d not in listed]
    if spec.digests is not None:
        plan.digests = _apply_digests(session, actor, initiative, spec.digests, now)
    if agreed_before and initiative.status == InitiativeStatus.DRAFT:
        plan.reopened_revision = initiative.revision
    if plan.changed:
        record_audit(session, actor, "applied criteria", initiative=initiative, at=now,
                     after={"file": criteria.filename, "changes": plan.change_count})
    return plan


def _apply_metric(session: Session, actor: Actor, initiative: Initiative,
                  spec: MetricSpec, now: datetime) -> ItemPlan:
    existing = next((m for m in initiative.metrics if m.key == spec.key), None)
    if existing is None:
        define_metric(session, actor, initiative.key, spec.key, dict(spec.fields), now=now)
        changes = [FieldChange(METRIC_FILE_FIELDS[name], None, value)
                   for name, value in spec.fields.items()
                   if name != "name" and value is not None]
        return ItemPlan(spec.key, created=True, changes=changes)
    changes = _differences(existing, spec.fields, METRIC_FILE_FIELDS)
    if changes:
        wanted = {name: value for name, value in spec.fields.items()
                  if getattr(existing, name) != value}
        define_metric(session, actor, initiative.key, spec.key, wanted, now=now)
    return ItemPlan(spec.key, changes=changes)


def _shipped_at(spec: DeliverableSpec, initiative: Initiative, now: datetime
                ) -> datetime | None:
    if spec.shipped is None:
        return None
    return local_instant(spec.shipped, initiative.timezone, now).astimezone(UTC)


def _deliverable_problems(initiative: Initiative, specs: tuple[DeliverableSpec, ...],
                          criteria: CriteriaFile, now: datetime) -> list[Problem]:
    """What the store and the clock refuse: moves of metrics the initiative does not have
    (in the file or the store), ships in the future."""
    known = [m.key for m in initiative.metrics]
    problems = []

    def problem(path: FieldPath, message: str) -> None:
        problems.append(Problem(criteria.line_of(path), path_text(path), message))

    for spec in specs:
        for index, key in enumerate(spec.moves or ()):
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = (f"did you mean {close[0]}?" if close else
                        f"its metrics: {', '.join(known)}" if known else "it has no metrics")
                problem((*spec.path, "moves", index),
                        f"{key!r} is not a metric of this initiative; {hint}")
        shipped_at = _shipped_at(spec, initiative, now)
        if shipped_at is not None and shipped_at > now:
            problem((*spec.path, "shipped"), f"{utc_text(shipped_at)} is in the future (now "
                    f"{utc_text(now)}); write `shipped:` once it has shipped")
    return problems


def _apply_deliverables(session: Session, actor: Actor, initiative: Initiative,
                        specs: tuple[DeliverableSpec, ...], criteria: CriteriaFile,
                        now: datetime) -> list[ItemPlan]:
    problems = _deliverable_problems(initiative, specs, criteria, now)
    if problems:
        raise CriteriaInvalid(criteria.filename, problems)
    plans = []
    for spec in specs:
        try:
            plans.append(_apply_deliverable(session, actor, initiative, spec, now))
        except OutcomeError as exc:
            raise CriteriaInvalid(criteria.filename, [
                Problem(criteria.line_of(spec.path), path_text(spec.path), exc.message)
            ]) from None
    return plans


def _apply_deliverable(session: Session, actor: Actor, initiative: Initiative,
                       spec: DeliverableSpec, now: datetime) -> ItemPlan:
    row = find_deliverable(initiative, spec.name)
    moves = None if spec.moves is None else list(spec.moves)
    moves_before = None if row is None else list(row.moves)
    # Without `shipped:` a deliverable keeps the shipped time it has: the file cannot
    # un-ship one, and one planned in the file may be recorded as shipped by a pipeline.
    shipped_at = _shipped_at(spec, initiative, now)
    shipped_before = None if row is None else row.shipped_at
    changes = []
    if moves is not None and moves != moves_before:
        changes.append(FieldChange("moves", moves_before, moves))
    else:
        moves = None
    if shipped_at is not None and shipped_at != shipped_before:
        changes.append(FieldChange("shipped", shipped_before, shipped_at))
    else:
        shipped_at = None
    if row is None or changes:
        set_deliverable(session, actor, initiative.key, spec.name, now=now, moves=moves,
                        shipped_at=shipped_at)
    return ItemPlan(row.name if row is not None else spec.name, created=row is None,
                    changes=changes)


def _apply_digests(session: Session, actor: Actor, initiative: Initiative,
                   spec: DigestSpec, now: datetime) -> ItemPlan:
    rows = digest_rows(session, initiative)
    plan = ItemPlan("digests")
    configure: dict[str, Any] = {}
    off: list[str] = []
    for kind, name, wanted in (("sprint", "retro", spec.sprint),
                               ("quarter", "quarterly", spec.quarter)):
        row = rows.get(kind)
        current = digest_state(row)
        if wanted is not None and wanted != current and not (wanted == "off" and row is None):
            plan.changes.append(FieldChange(f"digests.{name}", digest_text(kind, current),
                                            digest_text(kind, wanted)))
        # configure() touches every existing schedule of the initiative: restate the ones
        # the file leaves out so they stay exactly as they are.
        state = wanted if wanted is not None else current
        if state == "off":
            off.append(kind)
            if row is not None:
                configure[kind] = digest_timing(row)
        elif state is not None:
            configure[kind] = state
    sprint_row = rows.get("sprint")
    if spec.lead_minutes is not None and (sprint_row is not None or
                                          isinstance(spec.sprint, dict)):
        current_lead = sprint_row.lead_minutes if sprint_row is not None else None
        if current_lead != spec.lead_minutes:
            plan.changes.append(FieldChange(
                "digests.lead",
                format_duration(current_lead * 60) if current_lead is not None else None,
                format_duration(spec.lead_minutes * 60)))
        configure["lead_minutes"] = spec.lead_minutes
    if plan.changes:
        configure["off"] = tuple(off)
        digest_schedules.configure(session, actor, now=now, initiative=initiative, channel=None,
                                   digest=configure, cadence={}, defaults={})
    return plan
