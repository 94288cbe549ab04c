"""Sign-off in the review channel: criteria with "Agree" buttons for both owners.

When an initiative's criteria are ready (a review channel, both owners, a metric with a
target) the bot posts them to the channel. Each owner's click signs the current revision;
when both have signed the message is updated to say so. A change to agreed criteria is
announced in the channel with before → after, and a fresh request is posted for the new
revision. Which message belongs to which revision is kept in the audit log
(action ``signoff posted``), so any replica can update it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from sqlalchemy import select

from bot.app.context import Actor
from bot.app.services import get_initiative, record_audit
from bot.core.kinds import InitiativeStatus, SignoffRole
from bot.core.review import format_number
from bot.grammar import commands as g
from bot.slack.posting import SlackDeliveryError, SlackPoster
from bot.storage.db import transaction
from bot.storage.models import AuditEvent, Initiative
from handlers.common import GENERIC_ERROR, plain, safe_execute, team_of, user_of

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

AGREE_ACTION = "outcome_agree"
POSTED = "signoff posted"
CHANGE_ACTIONS = ("changed", "metric changed", "metric added")


@dataclass(frozen=True)
class Snapshot:
    """An initiative's state before a command, to tell what the command changed."""

    status: str
    revision: int
    last_audit_id: int


def snapshot(runtime: Runtime, workspace: str, key: str) -> Snapshot | None:
    with runtime.sessions() as session:
        initiative = get_initiative(session, workspace, key)
        if initiative is None:
            return None
        last = session.scalar(select(AuditEvent.id).where(
            AuditEvent.initiative_id == initiative.id).order_by(AuditEvent.id.desc()).limit(1))
        return Snapshot(initiative.status, initiative.revision, last or 0)


def _ready(initiative: Initiative) -> bool:
    return bool(initiative.channel and initiative.product_owner
                and initiative.engineering_owner
                and any(m.target_value is not None for m in initiative.metrics))


def _metric_line(metric: Any) -> str:
    unit = f" {metric.unit}" if metric.unit else ""
    better = "higher" if metric.direction == "up" else "lower"
    by = f" by {metric.target_date:%Y-%m-%d}" if metric.target_date else ""
    question = f" — _{metric.question}_" if metric.question else ""
    return (f"• *{metric.name}*{question}: {format_number(metric.baseline_value)} → "
            f"{format_number(metric.target_value)}{unit}{by} ({better} is better, "
            f"source {metric.source_kind})")


def request_blocks(initiative: Initiative) -> list[dict[str, Any]]:
    """The sign-off message: criteria, who signed, and buttons while signatures are missing."""
    signed = {s.role: s.user for s in initiative.signoffs if s.revision == initiative.revision}
    owners = {SignoffRole.PRODUCT.value: initiative.product_owner,
              SignoffRole.ENGINEERING.value: initiative.engineering_owner}
    criteria = "\n".join([
        f"*Why:* {initiative.why or '–'}", f"*Who:* {initiative.who or '–'}",
        f"*How:* {initiative.how or '–'}", f"*What:* {initiative.what or '–'}",
    ])
    metrics = "\n".join(_metric_line(m) for m in initiative.metrics) or "_No metrics yet._"
    state = "\n".join(
        f"{':white_check_mark:' if role in signed else ':hourglass_flowing_sand:'} "
        f"{role.title()} owner <@{owners[role]}>"
        + (" agreed" if role in signed else " has not agreed yet")
        for role in owners
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": plain(
            f"Success criteria: {initiative.name}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": plain(criteria)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": plain("*Metrics*\n" + metrics)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": plain(
            f"`{initiative.key}` · revision {initiative.revision} · {initiative.status}")}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": state}},
    ]
    if initiative.status == InitiativeStatus.AGREED:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f":handshake: Agreed (revision {initiative.revision}). A later change "
                       "will be announced here."}]})
        return blocks
    buttons = []
    for role in (SignoffRole.PRODUCT.value, SignoffRole.ENGINEERING.value):
        if role in signed:
            continue
        buttons.append({
            "type": "button", "action_id": f"{AGREE_ACTION}_{role}", "style": "primary",
            "text": {"type": "plain_text", "text": f"Agree as {role} owner"},
            "value": json.dumps({"i": initiative.key, "r": initiative.revision,
                                 "role": role}),
        })
    if buttons:
        blocks.append({"type": "actions", "block_id": "signoff", "elements": buttons})
    return blocks


def _last_request(session: Any, initiative: Initiative) -> dict[str, Any] | None:
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.initiative_id == initiative.id, AuditEvent.action == POSTED,
    ).order_by(AuditEvent.id.desc()).limit(1))
    return dict(event.after or {}) if event else None


def _changes(session: Any, initiative: Initiative, since_id: int) -> list[str]:
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.initiative_id == initiative.id, AuditEvent.id > since_id,
        AuditEvent.action.in_(CHANGE_ACTIONS)).order_by(AuditEvent.id)).all()
    lines = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        what = f"metric {after.get('key')}: " if "key" in after else ""
        if event.action == "metric added":
            lines.append(f"• added metric {after.get('key')}: {after.get('name')}")
            continue
        for name, value in after.items():
            if name != "key" and before.get(name) != value:
                lines.append(f"• {what}{name.replace('_', ' ')}: {before.get(name, '–')} → "
                             f"{value}")
    return lines


def after_change(client: WebClient, runtime: Runtime, actor: Actor, key: str,
                 before: Snapshot | None) -> None:
    """Announce a change to agreed criteria, then post or refresh the sign-off request.

    Raises :class:`SlackDeliveryError` when the channel cannot be posted to.
    """
    poster = SlackPoster(client)
    # One refresh of an initiative's request at a time: in this process (the lock) and
    # across replicas (the row lock), so a click right after a post finds it recorded.
    with runtime.one_at_a_time("signoff", actor.workspace, key), \
            transaction(runtime.sessions) as session:
        initiative = get_initiative(session, actor.workspace, key, for_update=True)
        if initiative is None or not initiative.channel:
            return
        channel = initiative.channel
        if (before is not None and before.status == InitiativeStatus.AGREED
                and initiative.revision > before.revision):
            lines = _changes(session, initiative, before.last_audit_id)
            text = (f":warning: <@{actor.user}> changed the agreed criteria of "
                    f"*{initiative.name}* (`{initiative.key}`), so they are back to draft at "
                    f"revision {initiative.revision}:\n" + ("\n".join(lines) or "• (details "
                    "in `/outcome history " + initiative.key + "`)"))
            poster.call("chat_postMessage", channel, channel=channel, text=plain(text, 3900))
        if not _ready(initiative):
            return
        blocks = request_blocks(initiative)
        fallback = f"Success criteria of {initiative.name} (revision {initiative.revision})"
        last = _last_request(session, initiative)
        if last and last.get("revision") == initiative.revision and last.get("ts"):
            poster.call("chat_update", last["channel"], channel=last["channel"],
                         ts=last["ts"], text=fallback, blocks=blocks)
            return
        if initiative.status != InitiativeStatus.DRAFT:
            return
        response = poster.call("chat_postMessage", channel, channel=channel, text=fallback,
                                blocks=blocks)
        record_audit(session, actor, POSTED, initiative=initiative, at=runtime.now(),
                     after={"revision": initiative.revision, "channel": str(response["channel"]),
                            "ts": str(response["ts"])})


def register(app: App, runtime: Runtime) -> None:
    import re

    @app.action(re.compile(f"^{AGREE_ACTION}_(product|engineering)$"))
    def agree_clicked(ack: Ack, body: dict[str, Any], client: WebClient,
                      respond: Respond) -> None:
        ack()
        runtime.after_ack(_agree_safely, body, client, respond, runtime)


def _agree_safely(body: dict[str, Any], client: WebClient, respond: Respond,
                  runtime: Runtime) -> None:
    try:
        _agree(body, client, respond, runtime)
    except SlackDeliveryError as exc:
        respond(text=exc.message, response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("agree button failed")
        respond(text=GENERIC_ERROR, response_type="ephemeral", replace_original=False)


def _agree(body: dict[str, Any], client: WebClient, respond: Respond,
           runtime: Runtime) -> None:
    action = body["actions"][0]
    value = json.loads(action["value"])
    actor = Actor(team_of(body), user_of(body))
    before = snapshot(runtime, actor.workspace, value["i"])
    if before is not None and before.revision != value["r"]:
        respond(text=f"These criteria changed since this message was posted (now revision "
                     f"{before.revision}); please sign the latest request.",
                response_type="ephemeral", replace_original=False)
        return
    reply = safe_execute(g.Agree(value["i"], SignoffRole(value["role"])),
                         runtime.context(actor.workspace, actor.user))
    if reply.error:
        respond(text=reply.text, response_type="ephemeral", replace_original=False)
        return
    after_change(client, runtime, actor, value["i"], before)
    if "agreed" in reply.events:
        channel = body["channel"]["id"]
        client.chat_postMessage(channel=channel, thread_ts=body["message"]["ts"],
                                text=f":handshake: {reply.text}")
