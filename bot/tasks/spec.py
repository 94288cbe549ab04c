"""Tasks: named functions of JSON arguments, with the queue they run on and their retries.

Work that continues after Slack's ack, and work that runs on a schedule, is a *task*: a row
written before anyone waits on it, run later by a worker. The same task functions run on
both backends (:mod:`bot.tasks.local` in the SQLite file, :mod:`bot.tasks.postgres` on
procrastinate); this module only names them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.errors import OutcomeError
from bot.core.kinds import Queue

__all__ = ["JSON", "Deferral", "Job", "Periodic", "Queue", "Registry", "Retry", "State",
           "TaskQueue", "TaskSpec", "error_text"]

JSON = dict[str, Any]
FAILED_KEPT_FOR = timedelta(days=30)  # a failed task stays listed this long for a retry
TaskFunction = Callable[..., None]  # called with the task's arguments as keywords


def error_text(exc: BaseException) -> str:
    """What a failed task records: an error's own message when it is ours (written for
    people), else only its type (a foreign message may quote a secret)."""
    if isinstance(exc, OutcomeError):
        return exc.message
    return type(exc).__name__


@dataclass(frozen=True)
class Retry:
    """``attempts`` tries in all; after the n-th failure the task waits ``base ** n``
    seconds (2, 4, 8… for ``base=2``). After the last it is *failed*, listed by
    ``outcome jobs`` until someone retries it."""

    attempts: int = 3
    base: int = 2

    def wait_after(self, failures: int) -> timedelta | None:
        """How long to wait before the next try, or None when no try is left."""
        if failures >= self.attempts:
            return None
        return timedelta(seconds=self.base ** failures)


@dataclass(frozen=True)
class TaskSpec:
    """A task: its name, function, queue and retries."""

    name: str
    function: TaskFunction
    queue: Queue
    retry: Retry = field(default_factory=Retry)


@dataclass(frozen=True)
class Periodic:
    """A task deferred once every ``every`` (at multiples of it since the epoch, in UTC),
    once per period however many workers run."""

    task: str
    every: timedelta

    @property
    def cron(self) -> str:
        """The period as a cron expression (whole minutes)."""
        minutes = int(self.every.total_seconds() // 60)
        if minutes < 1 or self.every.total_seconds() % 60:
            raise ValueError(f"a periodic task runs every whole minute, not {self.every}")
        if minutes < 60:
            return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
        hours, odd = divmod(minutes, 60)
        if odd or 24 % hours:
            raise ValueError(f"a periodic task of an hour or more runs every whole hour "
                             f"that divides a day, not {self.every}")
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"

    def slot(self, now: datetime) -> int:
        """The number of the period ``now`` falls in."""
        return int(now.timestamp() // self.every.total_seconds())


class Registry:
    """The tasks and periodic tasks a worker can run, by name."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskSpec] = {}
        self._periodic: dict[str, Periodic] = {}

    def add(self, spec: TaskSpec) -> TaskSpec:
        if spec.name in self._tasks:
            raise ValueError(f"task {spec.name!r} is already registered")
        self._tasks[spec.name] = spec
        return spec

    def every(self, period: Periodic) -> None:
        if period.task not in self._tasks:
            raise ValueError(f"periodic task {period.task!r} is not registered")
        self._periodic[period.task] = period

    def get(self, name: str) -> TaskSpec:
        try:
            return self._tasks[name]
        except KeyError:
            raise LookupError(f"no task named {name!r} is registered") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    @property
    def tasks(self) -> Iterable[TaskSpec]:
        return self._tasks.values()

    @property
    def periodic(self) -> Iterable[Periodic]:
        return self._periodic.values()


class State(enum.StrEnum):
    TODO = "todo"
    DOING = "doing"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """A task as stored: for listing and retrying."""

    id: int
    task: str
    queue: str
    state: str
    attempts: int
    args: JSON
    scheduled_at: datetime | None = None
    error: str = ""

    @property
    def workspace(self) -> str:
        return str(self.args.get("workspace", ""))

    @property
    def tries(self) -> str:
        """How many tries it has had, in words ("1 try", "3 tries")."""
        return f"{self.attempts} {'try' if self.attempts == 1 else 'tries'}"

    @property
    def what(self) -> str:
        """The task and what it is about, for people (never its whole arguments: a
        request's ``response_url`` lets anyone answer in its place)."""
        body = self.args.get("body")
        body = body if isinstance(body, dict) else {}
        if body.get("command"):  # a slash command: as the person typed it
            return f"{body['command']} {str(body.get('text', ''))[:80]}".strip()
        parts = [str(self.args.get("work", self.task))]
        if "metric_id" in self.args:
            parts.append(f"metric {self.args['metric_id']}")
        return " ".join(parts)


@dataclass(frozen=True)
class Deferral:
    """One task of a batch for :meth:`TaskQueue.defer_many`, with its own locks."""

    args: JSON
    lock: str | None = None
    queueing_lock: str | None = None
    priority: int = 0
    at: datetime | None = None


class TaskQueue(Protocol):
    """Where tasks are written before anyone waits on them, and listed for an admin."""

    def defer(self, task: str, args: JSON, *, queue: Queue | None = None,
              lock: str | None = None, queueing_lock: str | None = None,
              at: datetime | None = None, priority: int = 0) -> int | None:
        """Store a task; its id, or None when ``queueing_lock`` is already waiting.

        ``lock``: tasks with the same lock run one at a time, in the order deferred.
        ``queueing_lock``: at most one task with it waits at a time. ``at``: not before.
        """

    def defer_many(self, task: str, batch: list[Deferral], *, queue: Queue) -> int:
        """Store many tasks in few round trips (a tick's due pulls); how many were stored
        (one whose queueing lock already waits is left out)."""

    def jobs(self, states: Iterable[State], *, workspace: str | None = None,
             limit: int = 50) -> list[Job]:
        """Stored tasks in ``states``, oldest first."""

    def retry(self, job_id: int, *, workspace: str | None = None) -> bool:
        """Run a failed task again now; False when there is no such failed task."""

    def counts(self) -> dict[tuple[str, str], int]:
        """(queue, state) -> how many tasks."""

    def prune(self, before: datetime) -> int:
        """Remove the tasks that ended failed (or gave way to a twin) before ``before``;
        how many were removed."""
