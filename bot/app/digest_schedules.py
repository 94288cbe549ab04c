"""Setting and showing when review digests are posted, per initiative or per channel."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app.context import Actor
from bot.app.permissions import Action, require
from bot.app.services import record_audit
from bot.core.errors import UsageError
from bot.core.schedules import WEEKDAYS
from bot.storage.models import DigestSchedule, Initiative

CADENCE_FIELDS = ("sprint_days", "sprint_anchor", "timezone", "fiscal_year_start_month")


def _scope(initiative: Initiative | None) -> str:
    return f"initiative:{initiative.key}" if initiative else "channel"


def _cadence(initiative: Initiative | None, cadence: dict[str, Any],
             defaults: dict[str, Any]) -> dict[str, Any]:
    if initiative is not None:
        return {name: getattr(initiative, name) for name in CADENCE_FIELDS}
    return {name: cadence.get(name, defaults[name]) for name in CADENCE_FIELDS}


def configure(session: Session, actor: Actor, *, now: datetime, initiative: Initiative | None,
              channel: str | None, digest: dict[str, Any], cadence: dict[str, Any],
              defaults: dict[str, Any]) -> list[DigestSchedule]:
    """Create, change or switch off the digest schedules of an initiative (its owners or
    an admin) or a channel (an admin)."""
    if initiative is None:
        require(actor, Action.SCHEDULE_CHANNEL, does=f"schedule digests for #{channel}")
    else:
        require(actor, Action.SCHEDULE, initiative)
        channel = initiative.channel
        if not channel and (digest.get("sprint") or digest.get("quarter")):
            raise UsageError(f"Set {initiative.key}'s review channel first: define "
                             f"{initiative.key} channel=#team-reviews")
    assert channel is not None or not digest
    scope = _scope(initiative)
    existing = {
        row.kind: row for row in session.scalars(select(DigestSchedule).where(
            DigestSchedule.workspace == actor.workspace, DigestSchedule.scope == scope,
            DigestSchedule.channel == (channel or ""))).all()
    }
    changed: list[DigestSchedule] = []
    for kind, timing in (("sprint", digest.get("sprint")), ("quarter", digest.get("quarter"))):
        row = existing.get(kind)
        lead = digest.get("lead_minutes") if kind == "sprint" else None
        off = kind in digest.get("off", ())
        if timing is None and row is None:
            continue
        before = _describe_fields(row) if row else None
        if row is None:
            row = DigestSchedule(workspace=actor.workspace, channel=channel, scope=scope,
                                 kind=kind, created_by=actor.user,
                                 **_cadence(initiative, cadence, defaults))
            session.add(row)
        for name, value in (timing or {}).items():
            setattr(row, name, value)
        if lead is not None:
            row.lead_minutes = lead
        if initiative is None:
            for name, value in cadence.items():
                setattr(row, name, value)
        if off:
            row.enabled = False
        elif timing is not None:  # giving its time turns a digest (back) on
            row.enabled = True
        session.flush()
        record_audit(session, actor, "schedule", initiative=initiative, at=now, before=before,
                     after=_describe_fields(row))
        changed.append(row)
    if initiative is None and cadence and not changed:
        raise UsageError("A channel schedule needs retro= or quarterly= first.")
    return changed


def sync_cadence(session: Session, initiative: Initiative) -> None:
    """Keep an initiative's digest schedules on its current cadence and channel."""
    for row in session.scalars(select(DigestSchedule).where(
            DigestSchedule.workspace == initiative.workspace,
            DigestSchedule.scope == _scope(initiative))).all():
        for name in CADENCE_FIELDS:
            setattr(row, name, getattr(initiative, name))
        row.channel = initiative.channel or row.channel


def _describe_fields(row: DigestSchedule) -> dict[str, Any]:
    return {"kind": row.kind, "channel": row.channel, "when": describe(row),
            "enabled": row.enabled}


def describe(row: DigestSchedule) -> str:
    """'sprint digest 24 h before the retro, thu 15:00 Europe/Berlin' style text."""
    state = "" if row.enabled else " (off)"
    if row.kind == "sprint":
        hours = row.lead_minutes / 60
        lead = f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"
        return (f"sprint digest {lead} before the retro on {WEEKDAYS[row.retro_weekday]} "
                f"{row.local_time} {row.timezone}, {row.sprint_days}-day sprints{state}")
    return (f"quarterly digest {row.days_before} days before the quarter ends, "
            f"{row.local_time} {row.timezone}{state}")


def schedules_of(session: Session, workspace: str) -> list[DigestSchedule]:
    return list(session.scalars(select(DigestSchedule).where(
        DigestSchedule.workspace == workspace).order_by(DigestSchedule.channel,
                                                       DigestSchedule.scope,
                                                       DigestSchedule.kind)).all())


def default_cadence(timezone: str, sprint_days: int, fiscal_start: int,
                    anchor: date) -> dict[str, Any]:
    return {"timezone": timezone, "sprint_days": sprint_days, "sprint_anchor": anchor,
            "fiscal_year_start_month": fiscal_start}
