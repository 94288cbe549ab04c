"""Modals for defining an initiative and adding a metric.

Submissions are checked with the same value parsers as the text grammar; a bad field is
answered with ``response_action: errors`` on that field, so the modal stays open with
everything the user typed. Only a valid submission closes it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.app.context import Actor
from bot.app.permissions import Action, allows, require
from bot.app.services import list_initiatives
from bot.core.errors import Forbidden
from bot.grammar import commands as g
from bot.render.mrkdwn import as_mrkdwn, escape
from bot.slack.posting import SlackDeliveryError
from bot.slack.work import Work
from handlers import signoff
from handlers.common import (
    GENERIC_ERROR,
    NOT_STORED,
    deferred,
    plain,
    safe_execute,
    user_of,
    workspace_of,
)
from handlers.forms import MAX_ERROR
from handlers.markup import send_reply
from handlers.modal_fields import define_fields, metric_fields
from metrics.kinds import source_kinds

if TYPE_CHECKING:
    from slack_bolt import Ack, App, BoltContext, Respond

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

DEFINE_VIEW = "outcome_define"
METRIC_VIEW = "outcome_metric"
ADD_METRIC_ACTION = "outcome_add_metric"
OPEN_DEFINE_ACTION = "outcome_open_define"


# ---------------------------------------------------------------------------- view builders

def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str = "") -> dict[str, Any]:
    block = {"type": "input", "block_id": block_id, "label": _text(label),
             "element": {**element, "action_id": "value"}, "optional": optional}
    if hint:
        block["hint"] = _text(hint)
    return block


def _text_input(block_id: str, label: str, *, optional: bool = False, multiline: bool = False,
                placeholder: str = "", initial: str = "", hint: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if placeholder:
        element["placeholder"] = _text(placeholder)
    if initial:
        element["initial_value"] = initial
    return _input(block_id, label, element, optional=optional, hint=hint)


def _select(block_id: str, label: str, options: list[tuple[str, str]], initial: str = "",
            *, optional: bool = False) -> dict[str, Any]:
    choices = [{"text": _text(text), "value": value} for value, text in options]
    element: dict[str, Any] = {"type": "static_select", "options": choices}
    chosen = [c for c in choices if c["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return _input(block_id, label, element, optional=optional)


def define_view(runtime: Runtime, channel: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DEFINE_VIEW,
        "title": _text("Define an initiative"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": [
            _text_input("key", "Key", placeholder="checkout",
                        hint="Lowercase letters, digits, - and _; used in commands."),
            _text_input("name", "Name", placeholder="Faster checkout"),
            _text_input("why", "Why: the business goal", optional=True, multiline=True),
            _text_input("who", "Who: whose behaviour must change", optional=True,
                        multiline=True),
            _text_input("how", "How: the behaviour change", optional=True, multiline=True),
            _text_input("what", "What: the deliverables", optional=True, multiline=True),
            _input("channel", "Review channel", {"type": "conversations_select",
                   "default_to_current_conversation": True,
                   "filter": {"include": ["public", "private"]}}, optional=True),
            _input("po", "Product owner", {"type": "users_select"}, optional=True),
            _input("eng", "Engineering owner", {"type": "users_select"}, optional=True),
            _text_input("sprint", "Sprint length", optional=True,
                        initial=f"{runtime.defaults.sprint_days}d", hint="e.g. 14d"),
            _text_input("tz", "Time zone", optional=True, initial=runtime.defaults.timezone,
                        hint="IANA name, e.g. Europe/Berlin"),
        ],
    }


def metric_view(initiative: str, choices: list[tuple[str, str]],
                channel: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if not initiative:
        blocks.append(_select("initiative", "Initiative", choices))
    blocks += [
        _text_input("key", "Key", placeholder="deploy-time"),
        _text_input("name", "Name", placeholder="Deployment time"),
        _text_input("question", "Question it answers", optional=True, multiline=True,
                    placeholder="Do deployments get faster?"),
        _select("source", "Source", [(k, k) for k in source_kinds()], "manual"),
        _text_input("config", "Source config (JSON)", optional=True, multiline=True,
                    placeholder='{"query": "avg(deploy_seconds)"}',
                    hint="Secrets as ${ENV_NAME} references, never literal."),
        _text_input("unit", "Unit", optional=True, placeholder="min"),
        _select("direction", "Better is", [("up", "higher"), ("down", "lower")], "up"),
        _text_input("baseline", "Baseline", optional=True, placeholder="40"),
        _text_input("target", "Target", placeholder="12"),
        _input("by", "Target date", {"type": "datepicker"}, optional=True),
    ]
    title = f"Metric for {initiative}" if initiative else "Add a metric"
    return {
        "type": "modal",
        "callback_id": METRIC_VIEW,
        "title": _text(plain(title, 24)),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "private_metadata": json.dumps({"initiative": initiative, "channel": channel}),
        "blocks": blocks,
    }


def open_define(client: WebClient, runtime: Runtime, trigger_id: str, actor: Actor,
                channel: str) -> None:
    client.views_open(trigger_id=trigger_id, view=define_view(runtime, channel))


def open_metric(client: WebClient, runtime: Runtime, trigger_id: str, actor: Actor,
                channel: str, initiative: str) -> str | None:
    """Open the metric modal with the initiatives ``actor`` may add metrics to; return a
    message instead when there is none (or ``initiative`` is not one of them)."""
    acting = runtime.context(actor.workspace, actor.user, client).actor
    with runtime.sessions() as session:
        everyone = {i.key: i for i in list_initiatives(session, actor.workspace)}
        if initiative in everyone:
            try:
                require(acting, Action.METRIC, everyone[initiative], does="add a metric to it")
            except Forbidden as exc:
                return exc.message
        known = [(i.key, plain(f"{i.name} ({i.key})", 75)) for i in everyone.values()
                 if allows(acting, Action.METRIC, i)][:100]
    if initiative and initiative not in everyone:
        names = ", ".join(list(everyone)[:100]) or "none yet"
        return f"No initiative {initiative!r}. Known initiatives: {names}."
    if not everyone:
        return "There are no initiatives yet: `/outcome define` opens a form for one."
    if not known:
        return ("You can add metrics only to initiatives you own, and you own none here. "
                "Ask an initiative's owners or a workspace admin, or `/outcome define` your "
                "own.")
    client.views_open(trigger_id=trigger_id, view=metric_view(initiative, known, channel))
    return None


def offer_add_metric(respond: Respond, key: str) -> None:
    respond(text=escape(f"Add a metric to {key}?"), response_type="ephemeral", blocks=[{
        "type": "actions", "elements": [{
            "type": "button", "action_id": ADD_METRIC_ACTION, "value": key,
            "text": _text("Add metric")}]}])


# ---------------------------------------------------------------------------- listeners

def register(app: App, runtime: Runtime) -> None:
    @app.view(DEFINE_VIEW)
    def define_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                         client: WebClient, context: BoltContext) -> None:
        _submit(ack, body, workspace_of(context), view, client, runtime, metric=False)

    @app.view(METRIC_VIEW)
    def metric_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                         client: WebClient, context: BoltContext) -> None:
        _submit(ack, body, workspace_of(context), view, client, runtime, metric=True)

    @app.action(ADD_METRIC_ACTION)
    def add_metric_clicked(ack: Ack, body: dict[str, Any], respond: Respond,
                           context: BoltContext) -> None:
        stored = deferred(runtime, OPEN_METRIC_WORK, body, workspace_of(context))
        ack()
        if not stored:
            respond(text=NOT_STORED, response_type="ephemeral", replace_original=False)

    @app.action(OPEN_DEFINE_ACTION)
    def open_define_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, OPEN_DEFINE_WORK, body, workspace_of(context))
        ack()


OPEN_METRIC_WORK, OPEN_DEFINE_WORK = "modals.open_metric", "modals.open_define"
CONFIRM_WORK = "modals.confirm"


def _open_metric_from_button(work: Work) -> None:
    body, client, respond, runtime = work.body, work.client, work.respond, work.runtime
    actor = Actor(work.workspace, user_of(body))
    channel = (body.get("channel") or {}).get("id", "")
    try:
        error = open_metric(client, runtime, body["trigger_id"], actor, channel,
                            body["actions"][0].get("value", ""))
    except Exception:
        log.exception("opening the metric modal failed")
        error = GENERIC_ERROR
    if error:
        send_reply(respond, error, response_type="ephemeral", replace_original=False)


def _open_define_from_button(work: Work) -> None:
    try:
        open_define(work.client, work.runtime, work.body["trigger_id"],
                    Actor(work.workspace, user_of(work.body)), "")
    except Exception:
        log.exception("opening the define modal failed")


def _submit(ack: Ack, body: dict[str, Any], workspace: str, view: dict[str, Any],
            client: WebClient, runtime: Runtime, *, metric: bool) -> None:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        values = view["state"]["values"]
        actor = Actor(workspace, user_of(body))
        if metric:
            initiative, key, fields, errors = metric_fields(values, meta.get("initiative", ""))
            command: g.Command = g.MetricAdd(initiative, key, fields)
        else:
            key, fields, errors = define_fields(values)
            initiative = key
            command = g.Define(key, fields)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        before = signoff.snapshot(runtime, actor.workspace, initiative)
        reply = safe_execute(command, runtime.context(actor.workspace, actor.user,
                                                          client))
        if reply.error:
            # The services refused (e.g. an archived initiative): keep the modal open.
            ack(response_action="errors", errors={"key": plain(reply.text, MAX_ERROR)})
            return
        # Saved: what follows (the confirmation, the sign-off) is stored before the ack.
        deferred(runtime, CONFIRM_WORK, {
            "user": actor.user, "channel": meta.get("channel", ""), "text": reply.text,
            "initiative": initiative, "offer_metric": not metric,
            "before": dataclasses.asdict(before) if before else None}, workspace)
        ack()
    except Exception:
        log.exception("modal submission failed")
        ack(response_action="errors", errors={"key": GENERIC_ERROR})


def _confirm_work(work: Work) -> None:
    body = work.body
    before = body.get("before")
    _confirm(work.client, work.runtime, Actor(work.workspace, body["user"]), body["channel"],
             body["text"], body["initiative"],
             signoff.Snapshot(**before) if before else None, bool(body["offer_metric"]))


WORK_FUNCTIONS = {OPEN_METRIC_WORK: _open_metric_from_button,
                  OPEN_DEFINE_WORK: _open_define_from_button, CONFIRM_WORK: _confirm_work}


def _confirm(client: WebClient, runtime: Runtime, actor: Actor, channel: str, text: str,
             initiative: str, before: signoff.Snapshot | None, offer_metric: bool) -> None:
    """Tell the user what was saved (ephemeral where they were, else a DM), then sign-off."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn",
                                                                  "text": as_mrkdwn(text)}}]
    if offer_metric:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": ADD_METRIC_ACTION, "value": initiative,
            "text": _text("Add metric")}]})
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=actor.user, text=escape(text),
                                      blocks=blocks)
        else:
            client.chat_postMessage(channel=actor.user, text=escape(text), blocks=blocks,
                                    unfurl_links=False, unfurl_media=False)
        signoff.after_change(client, runtime, actor, initiative, before)
    except SlackDeliveryError as exc:
        client.chat_postMessage(channel=actor.user, text=f"Saved. {exc.message}",
                                unfurl_links=False, unfurl_media=False)
    except Exception:
        log.exception("confirming a modal submission failed")
