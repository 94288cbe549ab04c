"""`outcome jobs`: the operator's view of the task queue, and retrying what failed.

    outcome jobs [failed|waiting|running|all] [--workspace T…]
    outcome jobs retry <id>|failed [--workspace T…]

A task that failed on every try stays *failed* until someone retries it: nothing
acknowledged is dropped silently. Workspace admins see and retry their workspace's failed
work on the bot's App Home.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from bot import wiring
from bot.core.clock import Clock
from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.storage import db
from bot.tasks.choice import task_queue
from bot.tasks.spec import Job, State, TaskQueue

STATES = {"failed": [State.FAILED], "waiting": [State.TODO], "running": [State.DOING],
          "all": [State.TODO, State.DOING, State.FAILED]}


def main(args: list[str], settings: Settings, clock: Clock) -> int:
    """Run `outcome jobs` with ``args``; the exit status."""
    parser = argparse.ArgumentParser(
        prog="outcome jobs",
        description="List the task queue's jobs (default: the failed ones), or run failed "
                    "ones again.")
    parser.add_argument("words", nargs="*", metavar="failed|waiting|running|all | retry ID",
                        default=["failed"])
    parser.add_argument("--workspace", metavar="TEAM", help="only this workspace's jobs")
    parser.add_argument("--limit", type=int, default=50)
    options = parser.parse_args(args)
    engine = wiring.open_database(settings)
    try:
        queue = task_queue(settings.database_url, db.session_factory(engine), clock)
        if options.words[0] == "retry":
            return _retry(queue, options.words[1:], options.workspace)
        if len(options.words) != 1 or options.words[0] not in STATES:
            raise UsageError("Usage: outcome jobs [failed|waiting|running|all] | "
                             "outcome jobs retry <id>|failed")
        jobs = queue.jobs(STATES[options.words[0]], workspace=options.workspace,
                          limit=options.limit)
        print(listing(jobs, queue.counts()))
        return 0
    finally:
        getattr(queue, "close", lambda: None)()
        engine.dispose()


def _retry(queue: TaskQueue, words: list[str], workspace: str | None) -> int:
    if len(words) != 1:
        raise UsageError("Usage: outcome jobs retry <id>|failed")
    if words[0] == "failed":
        ids = [job.id for job in queue.jobs([State.FAILED], workspace=workspace,
                                             limit=10_000)]
    elif words[0].isdigit():
        ids = [int(words[0])]
    else:
        raise UsageError(f"{words[0]!r} is not a job id; `outcome jobs failed` lists them.")
    retried = [job_id for job_id in ids if queue.retry(job_id, workspace=workspace)]
    missing = sorted(set(ids) - set(retried))
    if retried:
        print(f"Queued again: {', '.join(map(str, retried))}.")
    if missing:
        print(f"Not failed (or not there): {', '.join(map(str, missing))}.")
    if not ids:
        print("No failed job to retry.")
    return 1 if missing else 0


def listing(jobs: list[Job], counts: dict[tuple[str, str], int]) -> str:
    """The jobs as lines, under a count per queue and state."""
    totals = ", ".join(f"{queue} {state}: {count}"
                       for (queue, state), count in sorted(counts.items())) or "empty"
    lines = [f"Queue: {totals}."]
    if not jobs:
        lines.append("No job in that state.")
    for job in jobs:
        when = f" at {_when(job.scheduled_at)}" if job.scheduled_at else ""
        workspace = f" [{job.workspace}]" if job.workspace else ""
        error = f": {job.error}" if job.error else ""
        lines.append(f"#{job.id} {job.state} {job.queue}{workspace} {job.what}, "
                     f"{job.tries}{when}{error}")
    return "\n".join(lines)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"
