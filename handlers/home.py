"""The App Home tab: the user's initiatives with their status and latest numbers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.app.permissions import Action, allows
from bot.app.review_builder import build_review
from bot.app.services import list_initiatives
from bot.core.periods import THIS_SPRINT
from bot.render.common import STATUS_EMOJI, with_unit
from bot.render.mrkdwn import as_mrkdwn, escape, fit
from bot.slack.work import Work
from bot.storage.models import Initiative
from handlers.common import deferred, workspace_of
from handlers.modals import ADD_METRIC_ACTION, OPEN_DEFINE_ACTION

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

MAX_INITIATIVES = 20  # 4 blocks each keeps the tab under Slack's 100 blocks


def _mine(initiatives: list[Initiative], user: str) -> list[Initiative]:
    return [i for i in initiatives
            if user in (i.product_owner, i.engineering_owner, i.created_by)]


def home_view(runtime: Runtime, team: str, user: str, client: WebClient | None = None
              ) -> dict[str, Any]:
    """The tab; "Add metric" only on the initiatives ``user`` may add metrics to."""
    now = runtime.now()
    actor = runtime.context(team, user, client).actor
    with runtime.sessions() as session:
        everyone = list_initiatives(session, team)
        mine = _mine(everyone, user)
        shown = (mine or everyone)[:MAX_INITIATIVES]
        review = build_review(session, team, THIS_SPRINT, now, initiatives=shown,
                              with_history=False) if shown else None
        states = {i.key: (i.status, i.revision) for i in shown}
        may_add = {i.key for i in shown if allows(actor, Action.METRIC, i)}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your initiatives"}},
        {"type": "actions", "elements": [{
            "type": "button", "action_id": OPEN_DEFINE_ACTION, "style": "primary",
            "text": {"type": "plain_text", "text": "Define an initiative"}}]},
    ]
    if review is None:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       "No initiatives yet. Define one with the button above or "
                       "`/outcome define`."}})
    else:
        if not mine:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                           "You own none yet; these are the workspace's initiatives."}]})
        for initiative in review.initiatives:
            status, revision = states[initiative.key]
            lines = [f"*{escape(initiative.name)}* (`{initiative.key}`) — criteria {status}, "
                     f"revision {revision} · {escape(initiative.period.label)}"]
            for metric in initiative.metrics:
                latest = metric.change.after.value if metric.change.after else None
                target, unit = metric.definition.target, metric.definition.unit
                numbers = (f"{metric.definition.name}: {with_unit(latest, unit)} "
                           f"(target {with_unit(target, unit)}), {metric.status.value}")
                lines.append(f"{STATUS_EMOJI[metric.status]} {escape(numbers)}")
            if not initiative.metrics:
                lines.append("_No metrics yet._")
            section: dict[str, Any] = {"type": "section", "text": {
                "type": "mrkdwn", "text": fit("\n".join(lines), 3000)}}
            if initiative.key in may_add:
                section["accessory"] = {"type": "button", "action_id": ADD_METRIC_ACTION,
                                        "value": initiative.key,
                                        "text": {"type": "plain_text", "text": "Add metric"}}
            blocks += [
                {"type": "divider"},
                section,
                {"type": "context", "elements": [{"type": "mrkdwn", "text": as_mrkdwn(
                    f"What moved: {initiative.what_moved}")}]},
            ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   "Ask me in a DM: _what moved this sprint?_, _what regressed?_, "
                   "_how is &lt;initiative&gt; doing?_"}]})
    return {"type": "home", "blocks": blocks}


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], context: BoltContext
                    ) -> None:
        if event.get("tab", "home") != "home":
            return
        workspace, user = workspace_of(context), str(event.get("user", ""))
        # Opening the tab twice while the first is being drawn draws it once.
        deferred(runtime, WORK, body, workspace, queueing_lock=f"home:{workspace}:{user}")


WORK = "home.publish"


def _publish(work: Work) -> None:
    publish_home(work.client, work.runtime, work.workspace,
                 str(work.body.get("event", {}).get("user", "")))


def publish_home(client: WebClient, runtime: Runtime, team: str, user: str) -> None:
    """Publish ``user``'s App Home tab; a failure is logged (there is no one to tell)."""
    try:
        client.views_publish(user_id=user, view=home_view(runtime, team, user, client))
    except Exception:
        log.exception("publishing the home tab failed")


WORK_FUNCTIONS = {WORK: _publish}
