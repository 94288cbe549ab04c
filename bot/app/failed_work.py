"""A workspace's failed tasks, for its admins: what failed on every try, and trying again.

Nothing acknowledged is dropped silently: a task that failed on each of its tries stays
*failed* until someone runs it again. The operator sees every workspace's (`outcome jobs`);
a workspace admin sees and retries only their own workspace's, on the App Home.
"""

from __future__ import annotations

from bot.app.context import Actor
from bot.app.permissions import Action, require
from bot.tasks.spec import Job, State, TaskQueue

SHOWN = 5  # on the App Home; `outcome jobs` lists more


def failed_work(actor: Actor, queue: TaskQueue, limit: int = SHOWN) -> list[Job]:
    """The failed tasks of ``actor``'s workspace, oldest first (admins only)."""
    require(actor, Action.FAILED_WORK)
    return queue.jobs([State.FAILED], workspace=actor.workspace, limit=limit)


def retry_failed(actor: Actor, queue: TaskQueue, job_id: int) -> bool:
    """Run the failed task ``job_id`` of ``actor``'s workspace again (admins only); False
    when it is not a failed task of that workspace (already retried, or another's)."""
    require(actor, Action.FAILED_WORK)
    return queue.retry(job_id, workspace=actor.workspace)
