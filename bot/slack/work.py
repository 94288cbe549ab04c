"""Listener work as tasks: what a listener leaves to do after its ack, stored first.

A listener that has more to do than its ack defers a ``slack.work`` task naming one of the
listeners' work functions, with the request's body, before it returns (and so before bolt
sends the ack). A worker, in this process or another, runs the function with a Web API
client for the workspace and ``respond`` bound to the request's ``response_url`` (valid
for 30 minutes), so an acknowledged request is answered even when the process that
acknowledged it is killed the moment after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.tasks.spec import JSON, Queue, Retry, TaskSpec

if TYPE_CHECKING:
    from bot.slack.runtime import Runtime

log = logging.getLogger(__name__)

TASK = "slack.work"
# Slack's fields that are credentials, never stored with a task: the legacy verification
# token of every request body.
_SECRET_FIELDS = ("token",)


@dataclass(frozen=True)
class Work:
    """What a work function gets: the request, its workspace, and how to answer."""

    body: dict[str, Any]
    workspace: str
    client: WebClient
    respond: Respond
    runtime: Runtime
    asked_at: datetime | None = None


WorkFunction = Callable[[Work], None]


def task_args(work: str, body: dict[str, Any], workspace: str, asked_at: datetime) -> JSON:
    """The stored arguments of a ``slack.work`` task."""
    kept = {key: value for key, value in body.items() if key not in _SECRET_FIELDS}
    return {"work": work, "workspace": workspace, "body": kept,
            "asked_at": asked_at.isoformat()}


def work_task(runtime: Runtime, clients: Callable[[str], WebClient],
              functions: Mapping[str, WorkFunction]) -> TaskSpec:
    """The ``slack.work`` task: runs ``functions[work]`` for the stored request."""

    def run(work: str, workspace: str, body: dict[str, Any], asked_at: str = "") -> None:
        function = functions.get(work)
        if function is None:
            raise LookupError(f"no listener work named {work!r}")
        runtime.priority.wait_for_acks()  # in the acking process, the acks go first
        function(Work(body, workspace, clients(workspace),
                      Respond(response_url=body.get("response_url")), runtime,
                      datetime.fromisoformat(asked_at) if asked_at else None))

    return TaskSpec(TASK, run, Queue.INTERACTIVE, Retry(attempts=3, base=2))
