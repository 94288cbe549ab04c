"""What Slack listeners share besides Slack: sessions, a clock, defaults, and the pools that
run their work after the ack."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.app.context import Actor, Context, Defaults
from bot.core.clock import Clock
from bot.slack.ack_priority import AckPriority
from bot.slack.admins import WorkspaceAdmins
from bot.slack.pulls import InteractivePulls
from bot.storage.event_deliveries import first_delivery
from metrics.connections import Connections
from metrics.resources import Resources, open_resources

log = logging.getLogger(__name__)

# Listeners ack on the request's own thread and hand the rest on: quick work (a database
# read or write, then respond) to one pool, slow work (reviews with charts, uploads, every
# series read) to a smaller one, so a queue of reviews never holds up a quick answer.
# Pulls wait on other systems: they get pools and limits of their own (bot.slack.pulls).
QUICK_THREADS = 8
WORKER_THREADS = 2  # the chart pool draws; these threads build reviews and upload


@dataclass
class Runtime:
    """What listeners need besides Slack: the database and the command defaults."""

    sessions: sessionmaker[Session]
    now: Clock
    defaults: Defaults = field(default_factory=Defaults)
    open_resources: Callable[[], Resources] = open_resources
    admins: WorkspaceAdmins = field(default_factory=WorkspaceAdmins)
    connections: Connections | None = None  # the operator's, for define-time checks
    priority: AckPriority = field(default_factory=AckPriority)
    quick: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=QUICK_THREADS, thread_name_prefix="outcome-quick"))
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=WORKER_THREADS, thread_name_prefix="outcome-worker"))
    pulls: InteractivePulls = field(init=False, repr=False)
    _locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict, repr=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        # Rate limits read the runtime's clock; pulls too wait for the acks in progress.
        self.pulls = InteractivePulls(self.now, self.priority.wait_for_acks)

    def context(self, team_id: str, user_id: str, client: WebClient | None = None
                ) -> Context:
        """A command context acting as ``user_id`` in the workspace ``team_id``; with the
        workspace's ``client`` it knows whether they are an admin there (cached
        ``users.info``), without one only ``OUTCOME_ADMINS`` counts."""
        admin = self.admins.is_admin(client, team_id, user_id, now=self.now())
        return Context(Actor(team_id, user_id, admin=admin), self.sessions, self.now,
                       "/outcome", self.defaults, self.open_resources,
                       connections=self.connections)

    def after_ack(self, work: Callable[..., None], *args: object) -> None:
        """Run quick ``work(*args)`` once the acks in progress are sent; it must report its
        own errors to the user."""
        self.quick.submit(self._once_acked, work, args)

    def submit(self, work: Callable[..., None], *args: object) -> None:
        """Run slow ``work(*args)`` (a review, an upload) on the worker, after the acks in
        progress; it must report its own errors to the user."""
        self.worker.submit(self._once_acked, work, args)

    def _once_acked(self, work: Callable[..., None], args: tuple[object, ...]) -> None:
        self.priority.wait_for_acks()
        try:
            work(*args)
        except Exception:
            log.exception("work after an ack failed: %s", getattr(work, "__name__", work))

    @contextmanager
    def one_at_a_time(self, *key: str) -> Iterator[None]:
        """Serialise work on one thing (e.g. an initiative's sign-off message) in this
        process: a click that follows a post by milliseconds finds the post recorded."""
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def drain(self) -> None:
        """Finish the work already handed on (posting, uploading), then stop."""
        self.quick.shutdown(wait=True)
        self.worker.shutdown(wait=True)
        self.pulls.shutdown()

    def first_delivery(self, event_id: str | None) -> bool:
        """False for an event this or another replica already took (Slack delivers an
        event again when its ack was slow or lost)."""
        return not event_id or first_delivery(self.sessions, event_id, self.now())
