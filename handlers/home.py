"""The App Home tab: the user's initiatives with their status and latest numbers, and for
a workspace admin the workspace's failed tasks with a button that runs each again."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.app.failed_work import failed_work, retry_failed
from bot.app.permissions import Action, allows, is_admin
from bot.app.review_builder import build_review
from bot.app.services import list_initiatives
from bot.core.periods import THIS_SPRINT
from bot.render.common import STATUS_EMOJI, with_unit
from bot.render.mrkdwn import as_mrkdwn, escape, fit
from bot.slack.work import Work
from bot.storage.models import Initiative
from bot.tasks.spec import Job
from handlers.common import deferred, workspace_of
from handlers.modals import ADD_METRIC_ACTION, OPEN_DEFINE_ACTION

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext

    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

MAX_INITIATIVES = 20  # 3 blocks each (and 7 for failed tasks) keep the tab under 100 blocks
RETRY_JOB_ACTION = "outcome_retry_job"


def _mine(initiatives: list[Initiative], user: str) -> list[Initiative]:
    return [i for i in initiatives
            if user in (i.product_owner, i.engineering_owner, i.created_by)]


def _failed_blocks(jobs: list[Job], notice: str) -> list[dict[str, Any]]:
    """An admin's view of the workspace's failed tasks, each with a Retry button."""
    blocks: list[dict[str, Any]] = [{"type": "divider"}, {"type": "section", "text": {
        "type": "mrkdwn", "text": (f"*Failed tasks* ({len(jobs)} shown) — each failed on "
                                   "every try; Retry runs it again." if jobs
                                   else "*Failed tasks* — none now.")}}]
    if notice:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                          "text": escape(notice)}]})
    for job in jobs:
        error = f": {job.error}" if job.error else ""
        text = f"#{job.id} {job.what} — {job.tries}{error}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                    "text": fit(escape(text), 3000)},
                       "accessory": {"type": "button", "action_id": RETRY_JOB_ACTION,
                                     "value": str(job.id),
                                     "text": {"type": "plain_text", "text": "Retry"}}})
    return blocks


def home_view(runtime: Runtime, team: str, user: str, client: WebClient | None = None,
              *, notice: str = "") -> dict[str, Any]:
    """The tab; "Add metric" only on the initiatives ``user`` may add metrics to; the
    workspace's failed tasks for its admins (with ``notice``, e.g. what a Retry did)."""
    now = runtime.now()
    actor = runtime.context(team, user, client).actor
    failed = failed_work(actor, runtime.queue) if is_admin(actor) else []
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
    if failed or notice:
        blocks += _failed_blocks(failed, notice)
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

    @app.action(RETRY_JOB_ACTION)
    def retry_clicked(ack: Any, body: dict[str, Any], context: BoltContext) -> None:
        deferred(runtime, RETRY_WORK, body, workspace_of(context))
        ack()


WORK, RETRY_WORK = "home.publish", "home.retry"


def _publish(work: Work) -> None:
    publish_home(work.client, work.runtime, work.workspace,
                 str(work.body.get("event", {}).get("user", "")))


def _retry(work: Work) -> None:
    """An admin's Retry: run the failed task again, and show the tab with what happened."""
    user = str((work.body.get("user") or {}).get("id", ""))
    value = str((work.body.get("actions") or [{}])[0].get("value", ""))
    actor = work.runtime.context(work.workspace, user, work.client).actor
    if not value.isdigit():
        notice = "That button names no task."
    elif not is_admin(actor):
        notice = "Only a workspace admin can retry failed tasks."
    elif retry_failed(actor, work.runtime.queue, int(value)):
        notice = f"Task #{value} is queued again."
    else:
        notice = f"Task #{value} is no longer failed (already retried?)."
    publish_home(work.client, work.runtime, work.workspace, user, notice=notice)


def publish_home(client: WebClient, runtime: Runtime, team: str, user: str, *,
                 notice: str = "") -> None:
    """Publish ``user``'s App Home tab; a failure is logged (there is no one to tell)."""
    try:
        client.views_publish(user_id=user, view=home_view(runtime, team, user, client,
                                                          notice=notice))
    except Exception:
        log.exception("publishing the home tab failed")


WORK_FUNCTIONS = {WORK: _publish, RETRY_WORK: _retry}
