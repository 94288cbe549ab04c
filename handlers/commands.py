"""The `/outcome` slash command.

The ack answers at once: help and malformed input get their usage there (parsing is pure
and fast). Everything else is stored as a task before the ack (one short insert) and runs
after it, on a worker of the task queue, answering through ``respond`` or
``chat.postMessage``: an acknowledged command is answered even if this process dies.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.app.context import Actor
from bot.core import values
from bot.core.errors import UsageError
from bot.grammar import commands as g
from bot.render.mrkdwn import escape
from bot.slack.posting import SlackDeliveryError, SlackPoster
from bot.slack.pulls import PULL_PRIORITY, WAITING, pull_lock, still_pulling_notice
from bot.slack.work import Work
from bot.tasks.spec import Queue
from handlers import modals, signoff
from handlers.common import GENERIC_ERROR, safe_execute, usage_text, workspace_of
from handlers.markup import plain_text, send_reply

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

COMMAND = "/outcome"
# Slack sends at most about 4,000 characters; longer is not Slack, and is not parsed.
MAX_TEXT = 4000
_METRIC_MODAL = re.compile(r"metric(?:\s+add)?(?:\s+(\S+))?", re.I)


@dataclass(frozen=True)
class Plan:
    """What to do with a command text: answer in the ack, open a modal, or do work."""

    kind: str  # reply | define_modal | metric_modal | work
    text: str = ""
    command: g.Command | None = None
    initiative: str = ""


def _modal_key(word: str | None) -> str | None:
    """The initiative of ``metric add <initiative>`` (``""``: none given), or None."""
    try:
        return values.parse_key(word.lower()) if word else ""
    except ValueError:
        return None  # not a key: the grammar says what is wrong


def plan(slack_text: str) -> Plan:
    """Decide from the text alone (no database, no Slack): safe to call before the ack."""
    if len(slack_text) > MAX_TEXT:
        return Plan("reply", text=f"That command is {len(slack_text):,} characters; the "
                    f"longest the bot reads is {MAX_TEXT:,}. Shorten it, or split it into "
                    "several commands.")
    text = plain_text(slack_text)
    stripped = " ".join(text.split())
    if stripped.lower() == "define":
        return Plan("define_modal")
    match = _METRIC_MODAL.fullmatch(stripped)
    initiative = _modal_key(match[1]) if match else None
    if initiative is not None:
        return Plan("metric_modal", initiative=initiative)
    try:
        command = g.parse(text)
    except UsageError as exc:
        return Plan("reply", text=usage_text(exc, COMMAND))
    if isinstance(command, g.Help):
        return Plan("reply", text=g.help_text(command.topic, COMMAND))
    return Plan("work", command=command)


def _ack_text(step: Plan) -> str | None:
    if step.kind == "reply":
        return step.text
    if isinstance(step.command, g.ReviewCommand):
        return f":hourglass_flowing_sand: Building the review ({step.command.period.describe()})…"
    if isinstance(step.command, g.Export):
        return ":hourglass_flowing_sand: Preparing the export; I'll send it to you in a DM."
    return None


NOT_ACCEPTED = ("I could not take that command just now (the bot's database did not "
                "answer). Nothing was done; please try again in a minute.")


def register(app: App, runtime: Runtime) -> None:
    @app.command(COMMAND)
    def outcome_command(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        try:
            step = plan(body.get("text") or "")
            text = _ack_text(step)
            if step.kind != "reply":  # stored before the ack: answered even if we die
                text = _defer(step, body, workspace_of(context), runtime) or text
        except Exception:  # never a 500 or a stack trace for a slash command
            log.exception("planning %r failed", (body.get("text") or "")[:200])
            ack(text=GENERIC_ERROR, response_type="ephemeral")
            return
        ack(text=escape(text), response_type="ephemeral") if text else ack()


# Commands after which the review channel's sign-off request may need posting or updating.
SIGNOFF_CHANGES = (g.Define, g.MetricAdd, g.MetricRemove, g.Agree, g.Unarchive)
# Commands that render charts, upload files or read every series: they run on the charts
# queue, so a queue of them never delays a quick answer.
SLOW = (g.ReviewCommand, g.Moved, g.Export)
WORK = "commands.run"


def _defer(step: Plan, body: dict[str, Any], workspace: str, runtime: Runtime) -> str | None:
    """Store the command's work as a task; what the ack should say instead, if anything."""
    command = step.command
    try:
        if isinstance(command, g.Pull):
            person = (workspace, str(body.get("user_id", "")))
            refusal = runtime.limits.refusal(person)
            if refusal is not None:
                return refusal
            if runtime.defer(WORK, body, workspace, queue=Queue.PULLS,
                             lock=pull_lock(person), queueing_lock=pull_lock(person),
                             priority=PULL_PRIORITY) is None:
                return WAITING
            runtime.limits.started(person)
            return None
        key = _initiative_key(command)
        runtime.defer(WORK, body, workspace,
                      queue=Queue.CHARTS if isinstance(command, SLOW) else Queue.INTERACTIVE,
                      # one change at a time per initiative, across every worker
                      lock=f"initiative:{workspace}:{key}" if key else None)
    except Exception:
        log.exception("could not store /outcome %r as a task", (body.get("text") or "")[:200])
        return NOT_ACCEPTED
    return None


def _initiative_key(command: g.Command | None) -> str | None:
    if isinstance(command, g.Define):
        return command.key
    if isinstance(command, SIGNOFF_CHANGES):
        return getattr(command, "initiative", None)
    return None


def run_work(work: Work) -> None:
    """The task behind an acknowledged ``/outcome``: plan again (pure), then do it."""
    step = plan(work.body.get("text") or "")
    if isinstance(step.command, g.Record | g.Shipped) and step.command.at is None \
            and work.asked_at:
        # The value is observed (the deliverable shipped) when asked: a task run twice
        # (its worker died after storing) then finds it stored instead of storing it
        # again at a later time.
        step = replace(step, command=replace(step.command, at=work.asked_at))
    if not isinstance(step.command, g.Pull):
        _work_safely(step, work.body, work.workspace, work.client, work.respond, work.runtime)
        return
    asked = (work.runtime.now() - work.asked_at).total_seconds() if work.asked_at else 0.0
    with still_pulling_notice(work.respond, asked, work.runtime.pull_wait) as respond:
        _work_safely(step, work.body, work.workspace, work.client, respond, work.runtime)


WORK_FUNCTIONS = {WORK: run_work}


def _work_safely(step: Plan, body: dict[str, Any], workspace: str, client: WebClient,
                 respond: Respond, runtime: Runtime) -> None:
    try:
        _work(step, body, workspace, client, respond, runtime)
    except SlackDeliveryError as exc:
        respond(text=exc.message)
    except Exception:
        log.exception("/outcome %r failed", (body.get("text") or "")[:200])
        respond(text=GENERIC_ERROR)


def _work(step: Plan, body: dict[str, Any], workspace: str, client: WebClient,
          respond: Respond, runtime: Runtime) -> None:
    actor = Actor(workspace, str(body.get("user_id", "")))
    channel = str(body.get("channel_id", ""))
    if step.kind == "define_modal":
        modals.open_define(client, runtime, body["trigger_id"], actor, channel)
        return
    if step.kind == "metric_modal":
        error = modals.open_metric(client, runtime, body["trigger_id"], actor, channel,
                                   step.initiative)
        if error:
            send_reply(respond, error)
        return
    if step.kind != "work" or step.command is None:
        return
    command = step.command
    key = getattr(command, "key", None) if isinstance(command, g.Define) else getattr(
        command, "initiative", None)
    before = None
    if isinstance(command, SIGNOFF_CHANGES) and key:
        before = signoff.snapshot(runtime, actor.workspace, key)
    reply = safe_execute(command, runtime.context(actor.workspace, actor.user, client))
    if reply.error:  # a refusal or a mistake: only the person who asked sees it
        send_reply(respond, reply.text, response_type="ephemeral")
        return
    if isinstance(command, g.ReviewCommand) and reply.review is not None:
        run_key = f"adhoc:{body.get('trigger_id', '')}"
        SlackPoster(client).post_review(channel, reply.review, run_key=run_key)
        send_reply(respond, f":white_check_mark: Posted the review "
                   f"({reply.review.period_label}) in this channel, one thread reply per "
                   "initiative.")
        return
    if reply.attachment is not None:
        dm = client.conversations_open(users=actor.user)["channel"]["id"]
        SlackPoster(client).upload(dm, None, [{
            "content": reply.attachment.content, "filename": reply.attachment.filename,
            "title": reply.attachment.title or reply.attachment.filename}],
            comment=escape(reply.text))
        send_reply(respond, f"{reply.text} Sent to you in a DM.")
        return
    send_reply(respond, reply.text,
               response_type="in_channel" if reply.public else "ephemeral")
    if isinstance(command, g.Define):
        modals.offer_add_metric(respond, command.key)
    if key and isinstance(command, SIGNOFF_CHANGES):
        try:
            signoff.after_change(client, runtime, actor, key, before)
        except SlackDeliveryError as exc:
            respond(text=f"Saved. But I could not update the sign-off in the review "
                         f"channel: {exc.message}")
