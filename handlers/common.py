"""What every listener shares: who is asking, running a command safely, replying."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext

from bot.app import commands
from bot.app.context import Context, Reply
from bot.core.errors import UsageError
from bot.grammar import commands as g

if TYPE_CHECKING:
    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

GENERIC_ERROR = commands.GENERIC_ERROR
NOT_STORED = ("I could not take that just now (the bot's database did not answer). Nothing "
              "was done; please try again in a minute.")


def deferred(runtime: Runtime, work: str, body: dict[str, Any], workspace: str,
             **options: Any) -> bool:
    """Store ``work`` for ``body`` as a task (before the ack); False, logged, when the
    database would not take it (the caller tells the person, if it can)."""
    try:
        runtime.defer(work, body, workspace, **options)
    except Exception:
        log.exception("could not store %s as a task", work)
        return False
    return True


def workspace_of(context: BoltContext) -> str:
    """The workspace bolt authorised this request for: the bot token's team, or the
    installation's (org-wide installs: the enterprise). Never a team id from the body."""
    result = context.authorize_result
    if result is None or not (result.team_id or result.enterprise_id):
        raise LookupError("the request was not authorised for any workspace")
    return str(result.team_id or result.enterprise_id)


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
