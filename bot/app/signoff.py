"""The sign-off workflow: after a change, what to announce and whom to ask to sign.

When an initiative's criteria are ready (a review channel, both owners, a metric with a
target) both owners are asked to sign them in the review channel; the request is refreshed
as they sign. A change to agreed criteria is announced there with before → after, and a
fresh request is asked for the new revision. A change of owners or review channel is told
to the old and the new owners (in a DM) and in the old and the new channel, whether it
reopened an agreement or not, so nobody takes an initiative over unseen. Which message
belongs to which revision is kept in the audit log (action :data:`POSTED`), so any replica
can refresh it.

This module decides and knows nothing of Slack: :func:`events_after_change` compares the
:class:`Snapshot` taken before a command with the database after it and returns neutral
events; a transport renders and sends them, then records a posted request with
:func:`record_posted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app.context import Actor
from bot.app.replies import Criterion, changed_fields, criterion
from bot.app.services import get_initiative, missing_signoffs, record_audit
from bot.core.kinds import InitiativeStatus, SignoffRole
from bot.storage.models import AuditEvent, Initiative

POSTED = "signoff posted"
CHANGE_ACTIONS = ("changed", "metric changed", "metric added")


@dataclass(frozen=True)
class Snapshot:
    """An initiative's state before a command, to tell what the command changed."""

    status: str
    revision: int
    last_audit_id: int
    channel: str = ""
    product_owner: str = ""
    engineering_owner: str = ""


@dataclass(frozen=True)
class SignoffRequest:
    """What a sign-off request shows: one revision's criteria and who has yet to sign."""

    key: str
    name: str
    revision: int
    status: str
    why: str
    who: str
    how: str
    what: str
    metrics: tuple[Criterion, ...]
    product_owner: str
    engineering_owner: str
    missing: tuple[SignoffRole, ...]

    @property
    def agreed(self) -> bool:
        return self.status == InitiativeStatus.AGREED

    def owner(self, role: SignoffRole) -> str:
        return self.product_owner if role is SignoffRole.PRODUCT else self.engineering_owner


@dataclass(frozen=True)
class CriteriaReopened:
    """``by`` changed agreed criteria: they are a draft again at ``to_revision``."""

    channel: str
    key: str
    name: str
    by: str
    from_revision: int
    to_revision: int
    changes: tuple[str, ...]  # "metric deploy: target value: 12.0 → 15.0", oldest first


@dataclass(frozen=True)
class OwnershipChanged:
    """``by`` replaced owners or the review channel: tell ``channels`` (old and new) and
    DM ``owners`` (old and new, except ``by``); ``reopened``: agreed criteria are a draft
    again at ``to_revision``."""

    channels: tuple[str, ...]
    owners: tuple[str, ...]
    key: str
    name: str
    by: str
    from_revision: int
    to_revision: int
    reopened: bool
    moves: tuple[tuple[str, str, str], ...]  # ("product owner", "U1", "U2"), oldest first
    changes: tuple[str, ...]  # every other change, as in CriteriaReopened


@dataclass(frozen=True)
class SignoffRequested:
    """Ask the owners to sign this revision: a new message, to record once posted."""

    channel: str
    request: SignoffRequest


@dataclass(frozen=True)
class RequestRefreshed:
    """The request already posted for this revision (``channel``, ``ts``) shows new state."""

    channel: str
    ts: str
    request: SignoffRequest


SignoffEvent = CriteriaReopened | OwnershipChanged | SignoffRequested | RequestRefreshed
# What OwnershipChanged tells apart from the other changes: (label, field of the initiative).
_MOVES = (("product owner", "product_owner"), ("engineering owner", "engineering_owner"),
          ("review channel", "channel"))


def take_snapshot(session: Session, workspace: str, key: str) -> Snapshot | None:
    initiative = get_initiative(session, workspace, key)
    if initiative is None:
        return None
    last = session.scalar(select(AuditEvent.id).where(
        AuditEvent.initiative_id == initiative.id).order_by(AuditEvent.id.desc()).limit(1))
    return Snapshot(initiative.status, initiative.revision, last or 0, initiative.channel,
                    initiative.product_owner, initiative.engineering_owner)


def events_after_change(session: Session, actor: Actor, key: str,
                        before: Snapshot | None) -> list[SignoffEvent]:
    """What to send after ``actor`` changed or signed ``key``, in the order to send it.

    Locks the initiative's row until ``session``'s transaction ends: record a posted
    request in the same transaction, so another replica deciding at the same moment waits
    and then finds the request recorded instead of posting a second one.
    """
    initiative = get_initiative(session, actor.workspace, key, for_update=True)
    if initiative is None:
        return []
    events: list[SignoffEvent] = []
    moved = _ownership_changed(session, actor, initiative, before)
    if moved is not None:
        events.append(moved)
    elif (before is not None and before.status == InitiativeStatus.AGREED
            and initiative.revision > before.revision and initiative.channel):
        events.append(CriteriaReopened(
            initiative.channel, initiative.key, initiative.name, actor.user, before.revision,
            initiative.revision, tuple(_changes(session, initiative, before.last_audit_id))))
    if not _ready(initiative):
        return events
    request = signoff_request(initiative)
    last = _last_request(session, initiative)
    moved_channel = before is not None and before.channel != initiative.channel
    if (last and last.get("revision") == initiative.revision and last.get("ts")
            and not moved_channel):
        events.append(RequestRefreshed(str(last["channel"]), str(last["ts"]), request))
    elif initiative.status == InitiativeStatus.DRAFT:
        events.append(SignoffRequested(initiative.channel, request))
    return events


def _ownership_changed(session: Session, actor: Actor, initiative: Initiative,
                       before: Snapshot | None) -> OwnershipChanged | None:
    """The event for a change of owners or channel; None when nothing was replaced (naming
    the first owners or the first channel takes nothing from anyone)."""
    if before is None:
        return None
    moved = [(label, name) for label, name in _MOVES
             if getattr(before, name) and getattr(before, name) != getattr(initiative, name)]
    if not moved:
        return None
    shown_apart = tuple(f"{name.replace('_', ' ')}:" for _, name in moved)
    channels = (before.channel, initiative.channel)
    owners = (before.product_owner, before.engineering_owner, initiative.product_owner,
              initiative.engineering_owner)
    return OwnershipChanged(
        tuple(dict.fromkeys(c for c in channels if c)),
        tuple(dict.fromkeys(u for u in owners if u and u != actor.user)),
        initiative.key, initiative.name, actor.user, before.revision, initiative.revision,
        before.status == InitiativeStatus.AGREED and initiative.revision > before.revision,
        tuple((label, getattr(before, name), getattr(initiative, name))
              for label, name in moved),
        tuple(line for line in _changes(session, initiative, before.last_audit_id)
              if not line.startswith(shown_apart)))


def record_posted(session: Session, actor: Actor, event: SignoffRequested, channel: str,
                  ts: str, *, now: datetime) -> None:
    """Remember which message (``channel``, ``ts``) asks to sign ``event``'s revision."""
    initiative = get_initiative(session, actor.workspace, event.request.key)
    if initiative is None:
        return
    record_audit(session, actor, POSTED, initiative=initiative, at=now,
                 after={"revision": event.request.revision, "channel": channel, "ts": ts})


def signoff_request(initiative: Initiative) -> SignoffRequest:
    return SignoffRequest(
        initiative.key, initiative.name, initiative.revision, initiative.status,
        initiative.why, initiative.who, initiative.how, initiative.what,
        tuple(criterion(m) for m in initiative.metrics),
        initiative.product_owner, initiative.engineering_owner,
        tuple(missing_signoffs(initiative)))


def _ready(initiative: Initiative) -> bool:
    return bool(initiative.channel and initiative.product_owner
                and initiative.engineering_owner
                and any(m.target_value is not None for m in initiative.metrics))


def _last_request(session: Session, initiative: Initiative) -> dict[str, Any] | None:
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.initiative_id == initiative.id, AuditEvent.action == POSTED,
    ).order_by(AuditEvent.id.desc()).limit(1))
    return dict(event.after or {}) if event else None


def _changes(session: Session, initiative: Initiative, since_id: int) -> list[str]:
    """The criteria changes recorded after audit row ``since_id``, one line per field."""
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.initiative_id == initiative.id, AuditEvent.id > since_id,
        AuditEvent.action.in_(CHANGE_ACTIONS)).order_by(AuditEvent.id)).all()
    lines = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        if event.action == "metric added":
            lines.append(f"added metric {after.get('key')}: {after.get('name')}")
            continue
        what = f"metric {after.get('key')}: " if "key" in after else ""
        lines += [what + change for change in changed_fields(before, after, readable=True)]
    return lines
