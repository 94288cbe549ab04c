"""The replies to ``shipped`` and ``deliverable``: every transport's, from the services in
:mod:`bot.app.deliverables`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.app.context import Context, Reply
from bot.app.deliverables import remove_deliverable, set_deliverable
from bot.app.services import find_initiative
from bot.core.deliverables import UNMEASURED_NOTE
from bot.core.periods import local_instant
from bot.grammar.deliverables import DeliverableCommand, Shipped
from bot.storage.models import Deliverable, Initiative

UNMEASURED = ("It names no metric it is meant to move; say which with {prefix} deliverable "
              '{key} "{name}" moves=<metric>,... (' + UNMEASURED_NOTE + ").")


def _moves_text(row: Deliverable, initiative: Initiative, prefix: str) -> str:
    if row.moves:
        return f"It is meant to move {', '.join(row.moves)}."
    return UNMEASURED.format(prefix=prefix, key=initiative.key, name=row.name)


def shipped(command: Shipped, session: Session, ctx: Context) -> Reply:
    """Record that a deliverable shipped (now, or at ``at`` in the initiative's zone)."""
    now = ctx.now()
    initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
    at = local_instant(command.at, initiative.timezone, now)
    change = set_deliverable(session, ctx.actor, command.initiative, command.name, now=now,
                             moves=command.moves, shipped_at=at)
    row = change.deliverable
    local = at.astimezone(ZoneInfo(initiative.timezone))
    when = f"{local:%Y-%m-%d %H:%M %Z}"
    if not change.changed:
        return Reply(f"'{row.name}' of {initiative.key} already shipped at {when}; nothing "
                     "changed.")
    return Reply(f"Recorded: '{row.name}' of {initiative.key} shipped at {when}. "
                 f"{_moves_text(row, initiative, ctx.prefix)} Reviews say what moved after "
                 "it; charts mark it.")


def deliverable(command: DeliverableCommand, session: Session, ctx: Context) -> Reply:
    """Plan a deliverable, change what it moves, or remove it."""
    now = ctx.now()
    if command.remove:
        name = remove_deliverable(session, ctx.actor, command.initiative, command.name,
                                  now=now)
        return Reply(f"Removed the deliverable '{name}' from {command.initiative}.")
    assert command.moves is not None
    change = set_deliverable(session, ctx.actor, command.initiative, command.name, now=now,
                             moves=command.moves)
    row = change.deliverable
    initiative = row.initiative
    state = "shipped" if row.shipped_at else "not shipped yet"
    if not change.changed:
        return Reply(f"'{row.name}' of {initiative.key} already moves "
                     f"{', '.join(row.moves) or 'nothing'}; nothing changed.")
    verb = "Added" if change.created else "Changed"
    return Reply(f"{verb} the deliverable '{row.name}' of {initiative.key} ({state}). "
                 f"{_moves_text(row, initiative, ctx.prefix)}")
