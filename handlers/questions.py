"""Questions in everyday words, answered in a thread: in a mention, in a DM, and in Slack's
assistant side panel (bolt's ``Assistant``). All three run the same answering code
(:func:`bot.app.ask.service.ask`), as does ``outcome ask``."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.middleware.assistant import Assistant
from slack_sdk import WebClient

from bot.app.ask.service import Answer, Choice, Thread, ask
from bot.grammar.ask import Intent
from bot.grammar.ask.suggestions import examples
from bot.render.blocks import initiative_messages
from bot.render.mrkdwn import as_mrkdwn
from bot.slack.posting import SlackDeliveryError, SlackPoster, render_charts
from bot.slack.work import Work
from bot.tasks.spec import Queue
from handlers.common import GENERIC_ERROR, deferred, plain, user_of, workspace_of
from handlers.markup import plain_text

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext

    from bot.core.review import InitiativeReview, Review
    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

MAX_CHARTS = 3
CHOICE_ACTION = "ask_choice"
CHARTED = frozenset({Intent.MOVED, Intent.HOW, Intent.WHY})
THINKING = "is reading the numbers…"
PROMPTS = 4  # suggested prompts shown in a new assistant thread (Slack allows 4)
MAX_TITLE = 60


def charted(answer: Answer, review: Review | None) -> list[InitiativeReview]:
    """The initiatives whose charts answer the question: the one asked about, or those
    whose metrics moved (biggest first)."""
    question = answer.question
    if review is None or question is None or question.intent not in CHARTED:
        return []
    if question.initiative:
        return list(review.initiatives[:1])
    chosen: list[InitiativeReview] = []
    for initiative, _metric in review.ranked_movers():
        if initiative not in chosen:
            chosen.append(initiative)
    return chosen[:MAX_CHARTS]


def choice_blocks(text: str, choices: tuple[Choice, ...]) -> list[dict[str, Any]]:
    """The answer's text, then one button per choice that asks its question."""
    buttons = [{"type": "button", "action_id": f"{CHOICE_ACTION}_{n}",
                "text": {"type": "plain_text", "text": plain(choice.label, 75)},
                "value": json.dumps({"q": choice.question[:1500], "i": choice.initiative})}
               for n, choice in enumerate(choices)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": as_mrkdwn(text, 3000)}},
            {"type": "actions", "elements": buttons}]


def _post_answer(poster: SlackPoster, channel: str, thread_ts: str, answer: Answer) -> None:
    reply = answer.reply
    if reply.review_is_answer and reply.review and not reply.error:
        for payload in initiative_messages(reply.review.initiatives[0]):
            poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                        text=payload["text"], blocks=payload["blocks"])
    elif answer.choices:
        poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                    text=as_mrkdwn(reply.text, 39_000),
                    blocks=choice_blocks(reply.text, answer.choices))
    else:
        poster.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                    text=as_mrkdwn(reply.text, 39_000))
    if reply.error:
        return
    for initiative in charted(answer, reply.review):
        uploads = render_charts(initiative)[:1]
        if uploads:
            poster.upload(channel, thread_ts, uploads)


def answer(client: WebClient, runtime: Runtime, team: str, user: str, channel: str,
           thread_ts: str, text: str, *, chosen: str | None = None,
           assistant: bool = False) -> None:
    """Answer ``text`` in the thread; never raises. ``assistant``: an assistant thread,
    which shows a status while the answer is worked out and takes the question as title."""
    poster = SlackPoster(client, join_public_channels=False)
    try:
        if assistant:
            _best_effort(client.assistant_threads_setStatus, channel_id=channel,
                         thread_ts=thread_ts, status=THINKING)
        found = ask(plain_text(text), runtime.context(team, user), Thread(channel, thread_ts),
                    chosen)
        _post_answer(poster, channel, thread_ts, found)
        if assistant and found.question is not None:
            _best_effort(client.assistant_threads_setTitle, channel_id=channel,
                         thread_ts=thread_ts, title=plain(plain_text(text), MAX_TITLE))
    except SlackDeliveryError as exc:
        log.warning("answering in %s failed: %s", channel, exc.message)
    except Exception:
        log.exception("answering %r failed", text[:200])
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=GENERIC_ERROR,
                                    unfurl_links=False, unfurl_media=False)
        except Exception:
            log.exception("could not even say that answering failed")


def _best_effort(method: Any, **arguments: Any) -> None:
    """A status or a title: nice to have, never worth failing the answer for (a DM thread
    that is not an assistant thread refuses them)."""
    try:
        method(**arguments)
    except Exception as exc:
        log.info("assistant call skipped: %s", exc)


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

    @app.action(re.compile(f"^{CHOICE_ACTION}_\\d+$"))
    def choice_clicked(ack: Any, body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, CHOICE_WORK, body, workspace_of(context), queue=Queue.CHARTS)
        ack()

    assistant = Assistant()

    @assistant.thread_started
    def thread_started(body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, STARTED_WORK, body, workspace_of(context))

    @assistant.user_message
    def assistant_message(body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, ASSISTANT_WORK, body, workspace_of(context), queue=Queue.CHARTS)

    @assistant.thread_context_changed
    def context_changed() -> None:
        """The channel the user is looking at changed: answers do not depend on it."""

    app.assistant(assistant)


WORK, CHOICE_WORK = "questions.answer", "questions.choice"
STARTED_WORK, ASSISTANT_WORK = "questions.assistant_started", "questions.assistant_message"


def _answer_event(work: Work, *, assistant: bool) -> None:
    """Answer a mention, a DM or an assistant thread's message, unless a replica already
    took this event."""
    body, runtime = work.body, work.runtime
    if not runtime.first_delivery(body.get("event_id")):
        return
    event = body["event"]
    answer(work.client, runtime, work.workspace, str(event.get("user", "")),
           event["channel"], event.get("thread_ts") or event["ts"], event.get("text", ""),
           assistant=assistant)


def _choice(work: Work) -> None:
    """A button under an answer: ask its question in the same thread."""
    body = work.body
    try:
        value = json.loads((body.get("actions") or [{}])[0].get("value", ""))
        question, initiative = str(value["q"]), value.get("i")
    except (ValueError, KeyError, TypeError):
        log.warning("a question button carried no question")
        return
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id", ""))
    answer(work.client, work.runtime, work.workspace, user_of(body), channel,
           str(message.get("thread_ts") or message.get("ts", "")), question,
           chosen=str(initiative) if initiative else None)


def _assistant_started(work: Work) -> None:
    """A new assistant thread: a greeting and the questions most people start with."""
    thread = (work.body.get("event") or {}).get("assistant_thread") or {}
    channel, thread_ts = str(thread.get("channel_id", "")), str(thread.get("thread_ts", ""))
    prompts = [{"title": q, "message": q} for q in examples([])[:PROMPTS]]
    try:
        work.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts,
            text="Hi! Ask me about your initiatives in your own words: what moved, how one "
                 "is doing, what is off track, when a target will be reached, or why a "
                 "number moved.")
        work.client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, title="Try asking", prompts=prompts)
    except Exception:
        log.exception("greeting a new assistant thread failed")


WORK_FUNCTIONS = {
    WORK: lambda work: _answer_event(work, assistant=False),
    ASSISTANT_WORK: lambda work: _answer_event(work, assistant=True),
    CHOICE_WORK: _choice, STARTED_WORK: _assistant_started,
}
