"""Sign-off in the review channel, the Slack side: Block Kit, sending, the Agree buttons.

:mod:`bot.app.signoff` decides what to announce and whom to ask after a change; this
module renders its events (the request with one "Agree" button per owner still to sign,
the announcement that agreed criteria changed), sends them, and records a posted request
through the app. Each owner's click signs the current revision.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.app.context import Actor
from bot.app.replies import Criterion
from bot.app.signoff import (
    CriteriaReopened,
    OwnershipChanged,
    RequestRefreshed,
    SignoffEvent,
    SignoffRequest,
    SignoffRequested,
    Snapshot,
    events_after_change,
    record_posted,
    take_snapshot,
)
from bot.core.kinds import SignoffRole
from bot.grammar import commands as g
from bot.render.mrkdwn import channel_link, escape, fit, mention
from bot.slack.posting import SlackDeliveryError, SlackPoster
from bot.slack.work import Work
from bot.storage.db import transaction
from handlers.common import (
    GENERIC_ERROR,
    NOT_STORED,
    deferred,
    plain,
    safe_execute,
    user_of,
    workspace_of,
)
from handlers.markup import send_reply

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond
    from sqlalchemy.orm import Session

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

AGREE_ACTION = "outcome_agree"
ROLES = (SignoffRole.PRODUCT, SignoffRole.ENGINEERING)


def snapshot(runtime: Runtime, workspace: str, key: str) -> Snapshot | None:
    """The initiative's state before a command; pass it to :func:`after_change`."""
    with runtime.sessions() as session:
        return take_snapshot(session, workspace, key)


def after_change(client: WebClient, runtime: Runtime, actor: Actor, key: str,
                 before: Snapshot | None) -> None:
    """Announce a change to agreed criteria, then post or refresh the sign-off request.

    Raises :class:`SlackDeliveryError` when the channel cannot be posted to.
    """
    poster = SlackPoster(client)
    # One refresh of an initiative's request at a time: in this process (the lock) and
    # across replicas (the row lock the app takes), so a click right after a post finds
    # it recorded.
    with runtime.one_at_a_time("signoff", actor.workspace, key), \
            transaction(runtime.sessions) as session:
        for event in events_after_change(session, actor, key, before):
            _send(poster, session, runtime, actor, event)


def _send(poster: SlackPoster, session: Session, runtime: Runtime, actor: Actor,
          event: SignoffEvent) -> None:
    if isinstance(event, CriteriaReopened):
        poster.call("chat_postMessage", event.channel, channel=event.channel,
                    text=fit(reopened_text(event), 3900))
    elif isinstance(event, OwnershipChanged):
        text = fit(ownership_text(event), 3900)
        for channel in event.channels:
            poster.call("chat_postMessage", channel, channel=channel, text=text,
                        unfurl_links=False, unfurl_media=False)
        for user in event.owners:
            try:  # a DM that cannot be sent must not keep the channels from hearing it
                poster.call("chat_postMessage", "", channel=user, text=text,
                            unfurl_links=False, unfurl_media=False)
            except SlackDeliveryError:
                log.warning("could not tell %s that %s changed owners", user, event.key)
    elif isinstance(event, RequestRefreshed):
        poster.call("chat_update", event.channel, channel=event.channel, ts=event.ts,
                    text=request_fallback(event.request), blocks=request_blocks(event.request))
    elif isinstance(event, SignoffRequested):
        response = poster.call("chat_postMessage", event.channel, channel=event.channel,
                               text=request_fallback(event.request),
                               blocks=request_blocks(event.request))
        record_posted(session, actor, event, str(response["channel"]), str(response["ts"]),
                      now=runtime.now())


def reopened_text(event: CriteriaReopened) -> str:
    """The channel's notice that agreed criteria changed, with before → after per field."""
    changes = "\n".join(f"• {escape(line)}" for line in event.changes) or (
        f"• (details in `/outcome history {event.key}`)")
    return (f":warning: {mention(event.by)} changed the agreed criteria of "
            f"*{escape(event.name)}* "
            f"(`{event.key}`), so they are back to draft at revision {event.to_revision}:\n"
            + changes)


def ownership_text(event: OwnershipChanged) -> str:
    """The notice to the old and the new owners and channels: who was replaced by whom."""
    moves = "\n".join(
        f"• {label}: {_ref(label, old)} → {_ref(label, new)}" for label, old, new in event.moves)
    others = "".join(f"\n• {escape(line)}" for line in event.changes)
    state = (f"The agreed criteria are back to draft at revision {event.to_revision}: both "
             "owners need to agree again." if event.reopened else
             f"The criteria are a draft (revision {event.to_revision}).")
    return (f":warning: {mention(event.by)} changed the owners or the review channel of "
            f"*{escape(event.name)}* (`{event.key}`):\n{moves}{others}\n{state}")


def _ref(label: str, value: str) -> str:
    return channel_link(value) if label.endswith("channel") else mention(value)


def request_fallback(request: SignoffRequest) -> str:
    """The request's notification text (mrkdwn, like every message ``text``)."""
    return escape(f"Success criteria of {request.name} (revision {request.revision})")


def _metric_line(metric: Criterion) -> str:
    question = f" — _{escape(metric.question)}_" if metric.question else ""
    return (f"• *{escape(metric.name)}*{question}: {escape(metric.change)} "
            f"({escape(metric.better)}, source {escape(metric.source)})")


def request_blocks(request: SignoffRequest) -> list[dict[str, Any]]:
    """The sign-off message: criteria, who signed, and buttons while signatures are missing."""
    criteria = "\n".join([
        f"*{label}:* {escape(text) if text else '–'}"
        for label, text in (("Why", request.why), ("Who", request.who), ("How", request.how),
                            ("What", request.what))
    ])
    metrics = "\n".join(_metric_line(m) for m in request.metrics) or "_No metrics yet._"
    state = "\n".join(
        f"{':hourglass_flowing_sand:' if role in request.missing else ':white_check_mark:'} "
        f"{role.value.title()} owner {mention(request.owner(role))}"
        + (" has not agreed yet" if role in request.missing else " agreed")
        for role in ROLES
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": plain(
            f"Success criteria: {request.name}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": fit(criteria, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": fit("*Metrics*\n" + metrics,
                                                                    3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(escape(
            f"`{request.key}` · revision {request.revision} · {request.status}"), 3000)}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": state}},
    ]
    if request.agreed:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f":handshake: Agreed (revision {request.revision}). A later change "
                       "will be announced here."}]})
        return blocks
    buttons = [{
        "type": "button", "action_id": f"{AGREE_ACTION}_{role.value}", "style": "primary",
        "text": {"type": "plain_text", "text": f"Agree as {role.value} owner"},
        "value": json.dumps({"i": request.key, "r": request.revision, "role": role.value}),
    } for role in ROLES if role in request.missing]
    if buttons:
        blocks.append({"type": "actions", "block_id": "signoff", "elements": buttons})
    return blocks


def register(app: App, runtime: Runtime) -> None:
    @app.action(re.compile(f"^{AGREE_ACTION}_(product|engineering)$"))
    def agree_clicked(ack: Ack, body: dict[str, Any], respond: Respond,
                      context: BoltContext) -> None:
        workspace = workspace_of(context)
        key = _clicked_initiative(body)
        stored = deferred(runtime, WORK, body, workspace,
                          lock=f"initiative:{workspace}:{key}" if key else None)
        ack()
        if not stored:
            respond(text=NOT_STORED, response_type="ephemeral", replace_original=False)


WORK = "signoff.agree"


def _clicked_initiative(body: dict[str, Any]) -> str:
    try:
        return str(json.loads(body["actions"][0]["value"])["i"])
    except (KeyError, IndexError, TypeError, ValueError):
        return ""  # the work says what is wrong with the click


def _agree_safely(work: Work) -> None:
    respond = work.respond
    try:
        _agree(work.body, work.workspace, work.client, respond, work.runtime)
    except SlackDeliveryError as exc:
        respond(text=exc.message, response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("agree button failed")
        respond(text=GENERIC_ERROR, response_type="ephemeral", replace_original=False)


def _agree(body: dict[str, Any], workspace: str, client: WebClient, respond: Respond,
           runtime: Runtime) -> None:
    action = body["actions"][0]
    value = json.loads(action["value"])
    actor = Actor(workspace, user_of(body))
    before = snapshot(runtime, actor.workspace, value["i"])
    if before is not None and before.revision != value["r"]:
        respond(text=f"These criteria changed since this message was posted (now revision "
                     f"{before.revision}); please sign the latest request.",
                response_type="ephemeral", replace_original=False)
        return
    reply = safe_execute(g.Agree(value["i"], SignoffRole(value["role"])),
                         runtime.context(actor.workspace, actor.user, client))
    if reply.error:
        send_reply(respond, reply.text, response_type="ephemeral", replace_original=False)
        return
    after_change(client, runtime, actor, value["i"], before)
    if "agreed" in reply.events:
        channel = body["channel"]["id"]
        client.chat_postMessage(channel=channel, thread_ts=body["message"]["ts"],
                                text=f":handshake: {escape(reply.text)}",
                                unfurl_links=False, unfurl_media=False)


WORK_FUNCTIONS = {WORK: _agree_safely}
