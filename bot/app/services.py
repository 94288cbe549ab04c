"""Domain services: define criteria, sign them off, record values, keep the audit log.

Every change goes through here, whichever transport asked for it (CLI, Slack, HTTP), so the
agreement, permission and audit rules hold everywhere: each change is checked against
:mod:`bot.app.permissions` first, and a change to agreed criteria, owners or review channel
sends the initiative back to draft, with the before and after recorded.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.app.context import Actor
from bot.app.permissions import Action, require, signing_roles
from bot.core import values
from bot.core.errors import Conflict, NotFound, UsageError
from bot.core.kinds import InitiativeStatus, Origin, SignoffRole
from bot.core.points import MAX_SEGMENT_LENGTH, Reading
from bot.storage.models import AuditEvent, Initiative, Metric, Signoff
from bot.storage.samples import store_readings

INITIATIVE_CRITERIA = ("name", "why", "who", "how", "what")
INITIATIVE_SETTINGS = (
    "channel", "product_owner", "engineering_owner",
    "sprint_days", "sprint_anchor", "timezone", "fiscal_year_start_month",
)
# A change to any of these reopens an agreed initiative: the agreement was made by these
# owners, announced in this channel.
REOPENING_FIELDS = (*INITIATIVE_CRITERIA, "channel", "product_owner", "engineering_owner")
# How a refusal names what was refused: "change its owners and review channel".
_FIELD_WORDS = {"name": "name", "channel": "review channel", "product_owner": "owners",
                "engineering_owner": "owners"} | dict.fromkeys(
    ("why", "who", "how", "what"), "criteria") | dict.fromkeys(
    ("sprint_days", "sprint_anchor", "timezone", "fiscal_year_start_month"), "review cadence")
METRIC_FIELDS = (
    "name", "question", "unit", "direction", "baseline_value", "baseline_at", "target_value",
    "target_date", "noise", "stale_after_seconds", "source_kind", "source_config",
    "guard_rail",
)


def validate_key(key: str, what: str) -> str:
    """The key as stored, or :class:`UsageError` (the rule is :func:`values.parse_key`)."""
    try:
        return values.parse_key(key)
    except ValueError as exc:
        raise UsageError(f"{key!r} cannot be used as {what} key: {exc}.") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot_of(row: Initiative | Metric, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _jsonable(getattr(row, name)) for name in fields}


def record_audit(session: Session, actor: Actor, action: str, *, initiative: Initiative | None,
                 at: datetime, metric: Metric | None = None,
                 before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> None:
    """Append one audit row; ``at`` is the moment of the act, from the caller's clock."""
    session.add(AuditEvent(
        workspace=actor.workspace,
        initiative_id=initiative.id if initiative else None,
        metric_id=metric.id if metric else None,
        actor=actor.user,
        action=action,
        before=before,
        after=after,
        at=at,
    ))


def apply_changes(row: Initiative | Metric, fields: dict[str, Any]
                   ) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Set the fields that differ; return their names and their values before and after."""
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    before = snapshot_of(row, tuple(changed))
    for name in changed:
        setattr(row, name, fields[name])
    return changed, before, snapshot_of(row, tuple(changed))


def reopen_if_agreed(session: Session, actor: Actor, initiative: Initiative,
                      reason: str, now: datetime) -> bool:
    """An agreed initiative whose criteria change goes back to draft at a new revision."""
    if initiative.status != InitiativeStatus.AGREED:
        return False
    before = {"status": initiative.status, "revision": initiative.revision}
    initiative.status = InitiativeStatus.DRAFT.value
    initiative.revision += 1
    initiative.agreed_at = None
    record_audit(session, actor, "reopened", initiative=initiative, at=now, before=before,
           after={"status": initiative.status, "revision": initiative.revision,
                  "reason": reason})
    return True


def get_initiative(session: Session, workspace: str, key: str, *,
                   for_update: bool = False) -> Initiative | None:
    """The initiative ``key`` in ``workspace``; ``for_update`` locks its row until the
    transaction ends (PostgreSQL; SQLite serialises writers anyway)."""
    query = select(Initiative).where(Initiative.workspace == workspace, Initiative.key == key)
    return session.scalar(query.with_for_update() if for_update else query)


def find_initiative(session: Session, workspace: str, key: str) -> Initiative:
    """The initiative ``key`` in ``workspace``, or NotFound listing the known keys."""
    initiative = get_initiative(session, workspace, key)
    if initiative is None:
        known = session.scalars(
            select(Initiative.key).where(Initiative.workspace == workspace).order_by(
                Initiative.key)
        ).all()
        hint = f" Known initiatives: {', '.join(known)}." if known else (
            " There are none yet: create one with `define <key> \"<name>\"`."
        )
        raise NotFound(f"No initiative {key!r}.{hint}")
    return initiative


def find_metric(initiative: Initiative, key: str) -> Metric:
    for metric in initiative.metrics:
        if metric.key == key:
            return metric
    known = ", ".join(m.key for m in initiative.metrics) or "none yet"
    raise NotFound(f"Initiative {initiative.key!r} has no metric {key!r}. Metrics: {known}.")


def list_initiatives(session: Session, workspace: str, *,
                     include_archived: bool = False) -> list[Initiative]:
    query = select(Initiative).where(Initiative.workspace == workspace).options(
        selectinload(Initiative.metrics))
    if not include_archived:
        query = query.where(Initiative.status != InitiativeStatus.ARCHIVED)
    return list(session.scalars(query.order_by(Initiative.key)).all())


def _two_owners(product_owner: str, engineering_owner: str) -> None:
    """The two-party sign-off needs two people: refuse one person as both owners."""
    if product_owner and product_owner == engineering_owner:
        raise UsageError(
            f"The product owner and the engineering owner must be two different people "
            f"({product_owner} is named as both), so that two people agree to the criteria. "
            "Name someone else with po=@someone or eng=@someone.")


def define_initiative(session: Session, actor: Actor, key: str, fields: dict[str, Any], *,
                      now: datetime) -> tuple[Initiative, bool]:
    """Create the initiative ``key`` or update its fields. Returns (initiative, created)."""
    validate_key(key, "an initiative")
    unknown = set(fields) - set(INITIATIVE_CRITERIA) - set(INITIATIVE_SETTINGS)
    if unknown:
        raise UsageError(f"Unknown initiative field(s): {', '.join(sorted(unknown))}.")
    existing = get_initiative(session, actor.workspace, key)
    if existing is None:
        require(actor, Action.DEFINE)
        if not fields.get("name"):
            raise UsageError(f"A new initiative needs a name: define {key} \"<name>\" ...")
        _two_owners(fields.get("product_owner", ""), fields.get("engineering_owner", ""))
        initiative = Initiative(workspace=actor.workspace, key=key, created_by=actor.user,
                                status=InitiativeStatus.DRAFT.value, revision=1)
        for name, value in fields.items():
            setattr(initiative, name, value)
        session.add(initiative)
        session.flush()
        record_audit(session, actor, "defined", initiative=initiative, at=now,
                     after=snapshot_of(initiative, INITIATIVE_CRITERIA + INITIATIVE_SETTINGS))
        return initiative, True
    if existing.status == InitiativeStatus.ARCHIVED:
        raise Conflict(f"Initiative {key!r} is archived; archived criteria cannot change. "
                       f"Its owners or an admin can bring it back with `unarchive {key}`.")
    differing = [name for name, value in fields.items() if getattr(existing, name) != value]
    if fields:  # refused even when nothing would change: no "Updated" for a non-owner
        words = dict.fromkeys(_FIELD_WORDS[name] for name in differing or fields)
        require(actor, Action.CHANGE, existing, does=f"change its {' and '.join(words)}")
    if not differing:
        return existing, False
    _two_owners(fields.get("product_owner", existing.product_owner),
                fields.get("engineering_owner", existing.engineering_owner))
    changed, before, after = apply_changes(existing, fields)
    record_audit(session, actor, "changed", initiative=existing, at=now, before=before,
                 after=after)
    if set(changed) & set(REOPENING_FIELDS):
        reopen_if_agreed(session, actor, existing, f"changed {', '.join(sorted(changed))}",
                          now)
    return existing, False


def missing_signoffs(initiative: Initiative) -> list[SignoffRole]:
    signed = {s.role for s in initiative.signoffs if s.revision == initiative.revision}
    return [role for role in SignoffRole if role.value not in signed]


def agree(session: Session, actor: Actor, initiative_key: str,
          role: SignoffRole | None = None, *, now: datetime
          ) -> tuple[Initiative, list[SignoffRole]]:
    """Sign the current revision as owner. Returns the initiative and the roles still missing."""
    initiative = find_initiative(session, actor.workspace, initiative_key)
    if initiative.status in (InitiativeStatus.ARCHIVED, InitiativeStatus.CLOSED):
        raise Conflict(f"Initiative {initiative_key!r} is {initiative.status}; it cannot be "
                       "agreed.")
    if not initiative.product_owner or not initiative.engineering_owner:
        raise Conflict(
            f"Set both owners before signing off: define {initiative_key} po=@someone "
            "eng=@someone"
        )
    if not any(m.target_value is not None for m in initiative.metrics):
        raise Conflict(
            f"{initiative_key!r} has no metric with a target yet: add one with `metric add`."
        )
    roles = signing_roles(actor, initiative, role)
    already = {s.role for s in initiative.signoffs if s.revision == initiative.revision}
    for signing_role in roles:
        if signing_role.value in already:
            continue
        initiative.signoffs.append(Signoff(revision=initiative.revision, role=signing_role.value,
                                           user=actor.user, at=now))
        record_audit(session, actor, "signed", initiative=initiative, at=now,
               after={"role": signing_role.value, "revision": initiative.revision})
    session.flush()
    missing = missing_signoffs(initiative)
    if not missing and initiative.status != InitiativeStatus.AGREED:
        initiative.status = InitiativeStatus.AGREED.value
        initiative.agreed_at = now
        record_audit(session, actor, "agreed", initiative=initiative, at=now,
                     before={"status": "draft"},
               after={"status": "agreed", "revision": initiative.revision})
    return initiative, missing


def archive(session: Session, actor: Actor, initiative_key: str, *, now: datetime
            ) -> Initiative:
    initiative = find_initiative(session, actor.workspace, initiative_key)
    require(actor, Action.ARCHIVE, initiative)
    if initiative.status == InitiativeStatus.ARCHIVED:
        return initiative
    before = {"status": initiative.status}
    initiative.status = InitiativeStatus.ARCHIVED.value
    record_audit(session, actor, "archived", initiative=initiative, at=now, before=before,
           after={"status": initiative.status})
    return initiative


def unarchive(session: Session, actor: Actor, initiative_key: str, *, now: datetime
              ) -> Initiative:
    """Bring an archived initiative back as a draft at a new revision, to sign off again."""
    initiative = find_initiative(session, actor.workspace, initiative_key)
    require(actor, Action.UNARCHIVE, initiative)
    if initiative.status != InitiativeStatus.ARCHIVED:
        raise Conflict(f"Initiative {initiative_key!r} is {initiative.status}, not archived.")
    before = {"status": initiative.status, "revision": initiative.revision}
    initiative.status = InitiativeStatus.DRAFT.value
    initiative.revision += 1
    initiative.agreed_at = None
    record_audit(session, actor, "unarchived", initiative=initiative, at=now, before=before,
                 after={"status": initiative.status, "revision": initiative.revision})
    return initiative


def record_value(session: Session, actor: Actor, initiative_key: str, metric_key: str,
                 value: float, observed_at: datetime, segment: str = "",
                 origin: Origin = Origin.MANUAL) -> bool:
    """Store one value. Returns False when that (metric, segment, time) was already stored."""
    if not math.isfinite(value):
        raise UsageError(f"{value} is not a finite number.")
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise UsageError(f"A segment name is at most {MAX_SEGMENT_LENGTH} characters.")
    initiative = find_initiative(session, actor.workspace, initiative_key)
    require(actor, Action.RECORD, initiative)
    metric = find_metric(initiative, metric_key)
    stored = store_readings(session, metric.id, [Reading(observed_at, value, segment)],
                            origin=origin.value, recorded_by=actor.user)
    return stored == 1


def audit_log(session: Session, initiative: Initiative, limit: int = 30) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.initiative_id == initiative.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all())
