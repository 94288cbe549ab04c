"""What every listener shares: who is asking, running a command safely, replying."""

from __future__ import annotations

import logging
from typing import Any

from bot.app import commands
from bot.app.context import Context, Reply
from bot.core.errors import OutcomeError, UsageError
from bot.grammar import commands as g

log = logging.getLogger(__name__)

GENERIC_ERROR = ("Something went wrong on our side and it has been logged. Nothing you typed "
                 "was lost; please try again in a minute.")


def team_of(body: dict[str, Any]) -> str:
    """The workspace of a command, interaction or event payload (the Slack team id)."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    if body.get("team_id"):
        return str(body["team_id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str((body.get("event") or {}).get("team", ""))


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(body.get("user_id") or (body.get("event") or {}).get("user", ""))


def usage_text(exc: UsageError, prefix: str = "/outcome") -> str:
    message = exc.message
    if exc.usage:
        message += f"\nUsage: `{prefix} {exc.usage}`"
    return message


def safe_execute(command: g.Command, ctx: Context) -> Reply:
    """Execute a parsed command; errors become a specific reply, never an exception."""
    try:
        return commands.execute(command, ctx)
    except UsageError as exc:
        return Reply(usage_text(exc, ctx.prefix), error=True)
    except OutcomeError as exc:
        return Reply(exc.message, error=True)
    except Exception:
        log.exception("command failed: %s", type(command).__name__)
        return Reply(GENERIC_ERROR, error=True)


def plain(text: str, limit: int = 3000) -> str:
    """Text cut to ``limit`` characters for a Block Kit text object."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
