"""What every listener shares: who is asking, running a command safely, replying."""

from __future__ import annotations

from typing import Any

from bot.app import commands
from bot.app.context import Context, Reply
from bot.core.errors import UsageError
from bot.grammar import commands as g

GENERIC_ERROR = commands.GENERIC_ERROR


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
    """A usage error as Slack shows it: the usage as inline code."""
    return commands.usage_text(exc, prefix, code=True)


def safe_execute(command: g.Command, ctx: Context) -> Reply:
    """Execute a parsed command; errors become a specific reply, never an exception."""
    return commands.execute_safely(command, ctx, code=True)


def plain(text: str, limit: int = 3000) -> str:
    """Text cut to ``limit`` characters for a Block Kit text object."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
