"""The deliverable commands of the grammar: ``shipped`` and ``deliverable``.

``shipped <initiative> "<deliverable>" [at=<YYYY-MM-DD[THH:MM]>] [moves=<metric>,...]``
records that a deliverable shipped (now, or at a local time of the initiative), creating
it when it is new; ``deliverable <initiative> "<deliverable>" moves=<metric>,...`` plans
one, or changes what it moves; ``deliverable remove <initiative> "<deliverable>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.core.errors import UsageError
from bot.grammar.options import Option, parse_instant, parse_options, parse_short_text
from bot.grammar.tokens import expect, parse_key, split_options


@dataclass(frozen=True)
class Shipped:
    initiative: str
    name: str
    at: datetime | date | None = None
    moves: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DeliverableCommand:
    """Plan a deliverable or change what it moves; or remove it."""

    initiative: str
    name: str
    moves: tuple[str, ...] | None = None
    remove: bool = False


def parse_moves(text: str, name: str) -> tuple[str, ...]:
    """Metric keys, comma-separated; ``none`` for no metric."""
    if text.strip().lower() == "none":
        return ()
    keys = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not keys:
        raise UsageError(f"{name} lists the metrics it moves, e.g. {name}=deploy-time,"
                         "touchpoints (or none).")
    for key in keys:
        parse_key(key, "metric", "")
    return keys


SHIPPED_OPTIONS = {"at": Option("at", parse_instant), "moves": Option("moves", parse_moves)}
DELIVERABLE_OPTIONS = {"moves": Option("moves", parse_moves)}


def _initiative_and_name(positionals: list[str], usage: str) -> tuple[str, str]:
    if len(positionals) < 2:
        raise UsageError("Missing the initiative or the deliverable's name (quoted).", usage)
    expect(positionals, 2, usage, "the initiative and the deliverable's name")
    try:
        name = parse_short_text(positionals[1], "The deliverable's name")
    except UsageError as exc:
        raise UsageError(exc.message, usage) from None
    return parse_key(positionals[0], "initiative", usage), name


def parse_shipped(args: list[str], usage: str) -> Shipped:
    positionals, pairs = split_options(args)
    initiative, name = _initiative_and_name(positionals, usage)
    fields = parse_options(pairs, SHIPPED_OPTIONS, usage)
    return Shipped(initiative, name, fields.get("at"), fields.get("moves"))


def parse_deliverable(args: list[str], usage: str) -> DeliverableCommand:
    remove = bool(args) and args[0].lower() in {"remove", "delete"}
    positionals, pairs = split_options(args[1:] if remove else args)
    initiative, name = _initiative_and_name(positionals, usage)
    if remove:
        if pairs:
            raise UsageError(f"`deliverable remove` takes no options (got {pairs[0][0]}=).",
                             usage)
        return DeliverableCommand(initiative, name, remove=True)
    fields = parse_options(pairs, DELIVERABLE_OPTIONS, usage)
    if "moves" not in fields:
        raise UsageError("Say which metrics it is meant to move: moves=<metric>,... (or "
                         "moves=none).", usage)
    return DeliverableCommand(initiative, name, fields["moves"])
