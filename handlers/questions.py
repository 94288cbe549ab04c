"""Questions in an app mention or a DM, answered in a thread with numbers and a chart."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.core.errors import UsageError
from bot.grammar import commands as g
from bot.grammar.questions import parse_question, question_help
from bot.render.blocks import initiative_messages
from bot.render.mrkdwn import as_mrkdwn
from bot.slack.posting import SlackDeliveryError, SlackPoster, render_charts
from bot.slack.work import Work
from bot.tasks.spec import Queue
from handlers.common import GENERIC_ERROR, deferred, safe_execute, workspace_of
from handlers.markup import plain_text

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext

    from bot.core.review import InitiativeReview, Review
    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

MAX_CHARTS = 3


def charted(command: g.Command, review: Review | None) -> list[InitiativeReview]:
    """The initiatives whose charts answer the question: the one asked about, or those
    whose metrics moved (biggest first)."""
    if review is None:
        return []
    if isinstance(command, g.ReviewCommand):
        return list(review.initiatives[:1])
    chosen: list[InitiativeReview] = []
    for initiative, _metric in review.ranked_movers():
        if initiative not in chosen:
            chosen.append(initiative)
    return chosen[:MAX_CHARTS]


def answer(client: WebClient, runtime: Runtime, team: str, user: str, channel: str,
           thread_ts: str, text: str) -> None:
    """Answer ``text`` in the thread; never raises."""
    poster = SlackPoster(client, join_public_channels=False)
    try:
        try:
            command = parse_question(plain_text(text), runtime.now().date())
        except UsageError as exc:
            reply_text = exc.message
            command = None
        if command is None:
            poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                         text=as_mrkdwn(reply_text, 39_000))
            return
        if isinstance(command, g.Help):
            poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                         text=as_mrkdwn(question_help(), 39_000))
            return
        reply = safe_execute(command, runtime.context(team, user))
        if isinstance(command, g.ReviewCommand) and reply.review and not reply.error:

            for payload in initiative_messages(reply.review.initiatives[0]):
                poster.call("chat_postMessage", channel, channel=channel,
                             thread_ts=thread_ts, text=payload["text"],
                             blocks=payload["blocks"])
        else:
            poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                         text=as_mrkdwn(reply.text, 39_000))
        if reply.error:
            return
        for initiative in charted(command, reply.review):
            uploads = render_charts(initiative)[:1]
            if uploads:
                poster.upload(channel, thread_ts, uploads)
    except SlackDeliveryError as exc:
        log.warning("answering in %s failed: %s", channel, exc.message)
    except Exception:
        log.exception("answering %r failed", text[:200])
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=GENERIC_ERROR,
                                    unfurl_links=False, unfurl_media=False)
        except Exception:
            log.exception("could not even say that answering failed")


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_mention")
    def mentioned(body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, WORK, body, workspace_of(context), queue=Queue.CHARTS)

    @app.event("message")
    def direct_message(body: dict[str, Any], event: dict[str, Any], context: BoltContext
                       ) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        deferred(runtime, WORK, body, workspace_of(context), queue=Queue.CHARTS)


WORK = "questions.answer"


def _answer_once(work: Work) -> None:
    """Answer a mention or a DM, unless a replica already took this event."""
    body, runtime = work.body, work.runtime
    if not runtime.first_delivery(body.get("event_id")):
        return
    event = body["event"]
    answer(work.client, runtime, work.workspace, str(event.get("user", "")),
           event["channel"], event.get("thread_ts") or event["ts"], event.get("text", ""))


WORK_FUNCTIONS = {WORK: _answer_once}
