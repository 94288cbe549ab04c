"""What Slack listeners share besides Slack: sessions, a clock, defaults, and the task
queue that holds their work after the ack."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.app.context import Actor, Context, Defaults
from bot.core.clock import Clock
from bot.slack.ack_priority import AckPriority
from bot.slack.admins import WorkspaceAdmins
from bot.slack.pulls import PULL_WAIT_SECONDS, PullLimits
from bot.slack.work import TASK, WorkFunction, task_args, work_task
from bot.storage.event_deliveries import first_delivery
from bot.tasks.local import LEASE, LocalQueue
from bot.tasks.spec import Queue, Registry, TaskQueue
from bot.tasks.worker import DEFAULT_THREADS, LocalWorker
from metrics.connections import Connections
from metrics.resources import Resources, open_resources

log = logging.getLogger(__name__)

DRAIN_SECONDS = 25.0  # within the 30 s most platforms give between SIGTERM and SIGKILL


@dataclass
class Runtime:
    """What listeners need besides Slack: the database, the command defaults, and the task
    queue their work after the ack goes to.

    ``tasks`` defaults to the embedded queue in the database's own file; with
    ``run_tasks`` this process also runs them, on the threads of a :class:`LocalWorker`
    (the embedded mode, and the tests). A web replica on PostgreSQL only defers them, for
    ``outcome worker`` processes to run.
    """

    sessions: sessionmaker[Session]
    now: Clock
    defaults: Defaults = field(default_factory=Defaults)
    open_resources: Callable[[], Resources] = open_resources
    admins: WorkspaceAdmins = field(default_factory=WorkspaceAdmins)
    connections: Connections | None = None  # the operator's, for define-time checks
    priority: AckPriority = field(default_factory=AckPriority)
    tasks: TaskQueue | None = None
    registry: Registry = field(default_factory=Registry)
    run_tasks: bool = True
    worker_name: str = "outcome"
    pull_wait: float = PULL_WAIT_SECONDS  # when a pull says it is still pulling
    worker_threads: Mapping[Queue, int] = field(default_factory=lambda: DEFAULT_THREADS)
    lease: timedelta = LEASE  # a task whose worker went silent this long runs again
    limits: PullLimits = field(init=False, repr=False)
    worker: LocalWorker | None = field(default=None, init=False, repr=False)
    _locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict, repr=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.limits = PullLimits(self.now)
        if self.tasks is None:
            self.tasks = LocalQueue(self.sessions, self.now)

    @property
    def queue(self) -> TaskQueue:
        assert self.tasks is not None  # set in __post_init__
        return self.tasks

    def serve(self, clients: Callable[[str], WebClient],
              functions: Mapping[str, WorkFunction]) -> None:
        """Register the listeners' work as the ``slack.work`` task and, with
        ``run_tasks`` on the embedded queue, start running tasks in this process."""
        if TASK not in self.registry:
            self.registry.add(work_task(self, clients, functions))
        self.start_worker()

    def start_worker(self) -> None:
        """With ``run_tasks`` on the embedded queue, run the registry's tasks on threads
        of this process (once)."""
        if self.run_tasks and isinstance(self.tasks, LocalQueue) and self.worker is None:
            self.worker = LocalWorker(self.tasks, self.registry, name=self.worker_name,
                                      threads=self.worker_threads, lease=self.lease,
                                      before=self.priority.wait_for_acks)
            self.worker.start()

    def defer(self, work: str, body: dict[str, Any], workspace: str, *,
              queue: Queue = Queue.INTERACTIVE, lock: str | None = None,
              queueing_lock: str | None = None, priority: int = 0) -> int | None:
        """Store ``work`` for the request ``body`` before the ack is sent (see
        :mod:`bot.slack.work`); None when ``queueing_lock`` already has one waiting."""
        return self.queue.defer(TASK, task_args(work, body, workspace, self.now()),
                                queue=queue, lock=lock, queueing_lock=queueing_lock,
                                priority=priority)

    def context(self, team_id: str, user_id: str, client: WebClient | None = None
                ) -> Context:
        """A command context acting as ``user_id`` in the workspace ``team_id``; with the
        workspace's ``client`` it knows whether they are an admin there (cached
        ``users.info``), without one only ``OUTCOME_ADMINS`` counts."""
        admin = self.admins.is_admin(client, team_id, user_id, now=self.now())
        return Context(Actor(team_id, user_id, admin=admin), self.sessions, self.now,
                       "/outcome", self.defaults, self.open_resources,
                       connections=self.connections)

    @contextmanager
    def one_at_a_time(self, *key: str) -> Iterator[None]:
        """Serialise work on one thing (e.g. an initiative's sign-off message) in this
        process: a click that follows a post by milliseconds finds the post recorded."""
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Run what is queued here (up to ``timeout`` seconds), then stop this process's
        workers; what is left stays queued for the next process."""
        if self.worker is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.worker.queue.has_work()
                                               or not self.worker.idle()):
            time.sleep(0.05)
        self.worker.stop(timeout=max(deadline - time.monotonic(), 0.1))
        self.worker = None

    def first_delivery(self, event_id: str | None) -> bool:
        """False for an event this or another replica already took (Slack delivers an
        event again when its ack was slow or lost)."""
        return not event_id or first_delivery(self.sessions, event_id, self.now())
