"""Deliverables of an initiative: plan one with the metrics it is meant to move, record
that it shipped, remove one. The use cases behind ``shipped``, ``deliverable``, the push
API's ``shipped`` items and criteria files; every change is audited.

Recording a ship is anyone's (like recording a value: a deploy pipeline does it); what a
deliverable is meant to move is part of the criteria, so linking and removing are the
owners'. Neither reopens an agreement: the agreed criteria are the metrics and targets.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app.context import Actor
from bot.app.permissions import Action, require
from bot.app.services import find_initiative, record_audit
from bot.core import deliverables as core
from bot.core.errors import NotFound, UsageError
from bot.storage.db import dialect_insert
from bot.storage.models import Deliverable, Initiative

MAX_DELIVERABLES = 50  # per initiative: a review lists what shipped, not a backlog


@dataclass(frozen=True)
class DeliverableChange:
    deliverable: Deliverable
    created: bool
    changed: bool


def find_deliverable(initiative: Initiative, name: str) -> Deliverable | None:
    """The deliverable named ``name`` (case and spacing aside), or None."""
    wanted = core.name_key(name)
    return next((d for d in initiative.deliverables if core.name_key(d.name) == wanted), None)


def _metric_keys(initiative: Initiative, moves: Sequence[str]) -> list[str]:
    """``moves`` as stored: metrics of the initiative, each once; else a UsageError."""
    known = [m.key for m in initiative.metrics]
    unknown = [key for key in moves if key not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise UsageError(f"{initiative.key} has no metric {', '.join(unknown)}: a deliverable "
                         f"moves metrics of its initiative ({', '.join(known) or 'none yet'})."
                         + hint)
    return list(dict.fromkeys(moves))


def set_deliverable(session: Session, actor: Actor, initiative_key: str, name: str, *,
                    now: datetime, moves: Sequence[str] | None = None,
                    shipped_at: datetime | None = None) -> DeliverableChange:
    """Create or change a deliverable: link it to the metrics it ``moves`` (None: leave
    them), and record when it shipped (None: leave that). Recording a ship, of a new
    deliverable with its metrics too, is anyone's; planning one or relinking an existing
    one is its owners'."""
    initiative = find_initiative(session, actor.workspace, initiative_key)
    row = find_deliverable(initiative, name)
    wanted = None if moves is None else _metric_keys(initiative, moves)
    relinks = wanted is not None and row is not None and list(row.moves) != wanted
    # Planning (no ship) and relinking are the owners'; a ship, of a new deliverable with
    # its metrics too, is anyone's.
    require(actor, Action.SHIP if shipped_at is not None and not relinks
            else Action.DELIVERABLE, initiative)
    if shipped_at is not None and shipped_at > now:
        raise UsageError(f"{shipped_at:%Y-%m-%d %H:%M} UTC is in the future: record a "
                         "deliverable when it has shipped.")
    created = row is None
    if row is None:
        if len(initiative.deliverables) >= MAX_DELIVERABLES:
            raise UsageError(f"{initiative.key} has {MAX_DELIVERABLES} deliverables, the "
                             "limit; remove shipped ones that no longer matter first.")
        row, created = _insert(session, initiative, name, wanted or [], now)
    before = _state(row)
    if wanted is not None:
        row.moves = wanted
    if shipped_at is not None:
        row.shipped_at, row.shipped_by = shipped_at, actor.user
    after = _state(row)
    changed = created or before != after
    if changed:
        record_audit(session, actor, "deliverable " + ("added" if created else "changed"),
                     initiative=initiative, at=now,
                     before=None if created else before, after=after)
    session.flush()
    return DeliverableChange(row, created, changed)


def _insert(session: Session, initiative: Initiative, name: str, moves: list[str],
            now: datetime) -> tuple[Deliverable, bool]:
    """A new deliverable, and True; or, when another transaction has just added the same
    one (a task run twice at once), that one, and False. One statement that cannot fail
    on the race (a savepoint would not do: pysqlite commits an outermost one)."""
    stored = core.clean_name(name)
    added = session.execute(
        dialect_insert(session)(Deliverable)
        .values(initiative_id=initiative.id, name=stored, moves=moves, shipped_by="",
                created_at=now)
        .on_conflict_do_nothing(index_elements=["initiative_id", "name"])
        .returning(Deliverable.id)).scalar()
    session.expire(initiative, ["deliverables"])
    row = find_deliverable(initiative, stored)
    assert row is not None  # added, or added by the other transaction
    return row, added is not None


def remove_deliverable(session: Session, actor: Actor, initiative_key: str, name: str, *,
                       now: datetime) -> str:
    """Remove a deliverable; returns its name as stored."""
    initiative = find_initiative(session, actor.workspace, initiative_key)
    require(actor, Action.DELIVERABLE, initiative)
    row = find_deliverable(initiative, name)
    if row is None:
        known = ", ".join(repr(d.name) for d in initiative.deliverables) or "none yet"
        raise NotFound(f"{initiative.key} has no deliverable {name!r}. Deliverables: {known}.")
    record_audit(session, actor, "deliverable removed", initiative=initiative, at=now,
                 before=_state(row))
    initiative.deliverables.remove(row)
    session.flush()
    return row.name


def _state(row: Deliverable) -> dict[str, object]:
    return {"name": row.name, "moves": list(row.moves),
            "shipped_at": row.shipped_at.isoformat() if row.shipped_at else None}


def deliverables_of(session: Session, initiative_ids: Sequence[int]
                    ) -> dict[int, list[core.Deliverable]]:
    """Every deliverable of the initiatives, as the review reads them: one statement."""
    found: dict[int, list[core.Deliverable]] = {i: [] for i in initiative_ids}
    if not initiative_ids:
        return found
    rows = session.execute(
        select(Deliverable.initiative_id, Deliverable.name, Deliverable.moves,
               Deliverable.shipped_at)
        .where(Deliverable.initiative_id.in_(list(initiative_ids)))
        .order_by(Deliverable.shipped_at.is_(None), Deliverable.shipped_at, Deliverable.id))
    for initiative_id, name, moves, shipped_at in rows:
        found[initiative_id].append(core.Deliverable(name, tuple(moves or ()), shipped_at))
    return found
