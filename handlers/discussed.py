"""The "Discussed" button on a posted review: records that the team went through it."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import TYPE_CHECKING, Any

from bot.app.context import Actor
from bot.app.services import find_initiative, record_audit
from bot.core.errors import OutcomeError
from bot.render.mrkdwn import escape, mention
from bot.slack.posting import DISCUSSED_ACTION
from bot.slack.work import Work
from bot.storage.db import transaction
from handlers.common import GENERIC_ERROR, NOT_STORED, deferred, user_of, workspace_of

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)


def mark_discussed(runtime: Runtime, actor: Actor, key: str, period: str, channel: str,
                   ts: str) -> None:
    """Audit event ``discussed``: who confirmed the review of which period, where."""
    with transaction(runtime.sessions) as session:
        initiative = find_initiative(session, actor.workspace, key)
        record_audit(session, actor, "discussed", initiative=initiative, at=runtime.now(),
                     after={"period": period, "channel": channel, "ts": ts})


def register(app: App, runtime: Runtime) -> None:
    @app.action(DISCUSSED_ACTION)
    def discussed_clicked(ack: Ack, body: dict[str, Any], respond: Respond,
                          context: BoltContext) -> None:
        stored = deferred(runtime, WORK, body, workspace_of(context))
        ack()
        if not stored:
            respond(text=NOT_STORED, response_type="ephemeral", replace_original=False)


WORK = "discussed.record"


def _record_discussed(work: Work) -> None:
    """Audit the click and replace the button with who confirmed it, and when."""
    body, client, respond, runtime = work.body, work.client, work.respond, work.runtime
    actor = Actor(work.workspace, user_of(body))
    try:
        value = json.loads(body["actions"][0]["value"])
        channel = body["channel"]["id"]
        message = body["message"]
        mark_discussed(runtime, actor, value["i"], value.get("p", ""), channel,
                       message["ts"])
        when = runtime.now().astimezone(UTC)
        blocks = [b for b in message.get("blocks", [])
                  if b.get("action_id") != DISCUSSED_ACTION
                  and not str(b.get("block_id", "")).startswith("discussed:")]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f":white_check_mark: Discussed, confirmed by {mention(actor.user)} on "
                       f"{when:%Y-%m-%d %H:%M} UTC"}]})
        # The message's own text comes back as Slack stores it: already escaped.
        client.chat_update(channel=channel, ts=message["ts"],
                           text=message.get("text") or "Review", blocks=blocks, parse="none")
    except OutcomeError as exc:
        respond(text=escape(exc.message), response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("discussed button failed")
        respond(text=GENERIC_ERROR, response_type="ephemeral", replace_original=False)


WORK_FUNCTIONS = {WORK: _record_discussed}
