"""The embedded mode's task queue: rows in the SQLite file, next to everything else.

A task is one short insert, so it survives the process being killed the moment after.
Workers claim a task with one ``UPDATE … RETURNING`` and hold it under a lease they renew;
a task whose worker died is taken over once its lease has run out, so a restart finishes
what was pending. Locks and queueing locks mean what they mean in procrastinate (the
production engine), so the same task code behaves the same on both backends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, Update, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock
from bot.storage.db import transaction
from bot.storage.models import LocalTask
from bot.tasks.spec import JSON, Deferral, Job, Queue, State

TASKS: Table = LocalTask.__table__  # type: ignore[assignment]
LEASE = timedelta(seconds=30)


class Signal:
    """Wakes this process's idle workers of one queue when tasks arrive: as many as there
    are new tasks, not every thread of every queue. A worker reads :attr:`version` before
    it looks for a task and waits only if nothing arrived since, so no wake-up is missed."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.version = 0

    def notify(self, tasks: int = 1) -> None:
        with self._condition:
            self.version += 1
            self._condition.notify(tasks)

    def notify_all(self) -> None:
        with self._condition:
            self.version += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds unless a task arrived after ``version`` was
        ``seen``."""
        with self._condition:
            if self.version == seen:
                self._condition.wait(timeout)


INSERT = TASKS.insert().returning(TASKS.c.id)


def _row(task: str, queue: str, item: Deferral, now: datetime) -> JSON:
    return {"task": task, "queue": queue, "args": item.args, "priority": item.priority,
            "lock": item.lock, "queueing_lock": item.queueing_lock,
            "state": State.TODO.value, "attempts": 0, "scheduled_at": item.at,
            "created_at": now}


def _claim_statement() -> Update:
    """``UPDATE … RETURNING`` that claims the next runnable task of ``:claim_queue`` at
    ``:claim_now`` for ``:claim_worker`` until ``:claim_lease_until`` (built once: each
    worker thread claims every second)."""
    now = bindparam("claim_now", type_=TASKS.c.created_at.type)
    other = TASKS.alias("other")
    blocked = exists().where(
        other.c.lock == TASKS.c.lock, other.c.id != TASKS.c.id,
        or_(and_(other.c.state == State.DOING.value, other.c.lease_until >= now),
            and_(other.c.state == State.TODO.value, other.c.id < TASKS.c.id)))
    ready = or_(
        and_(TASKS.c.state == State.TODO.value,
             or_(TASKS.c.scheduled_at.is_(None), TASKS.c.scheduled_at <= now)),
        and_(TASKS.c.state == State.DOING.value, TASKS.c.lease_until < now))
    # SKIP LOCKED (PostgreSQL; SQLite writes one at a time anyway): two workers never
    # pick the same row, and the outer ``ready`` re-checks it once it is locked.
    candidate = (select(TASKS.c.id)
                 .where(TASKS.c.queue == bindparam("claim_queue"), ready,
                        or_(TASKS.c.lock.is_(None), ~blocked))
                 .order_by(TASKS.c.priority.desc(), TASKS.c.id).limit(1)
                 .with_for_update(skip_locked=True, of=TASKS)
                 .scalar_subquery())
    return (update(TASKS).where(TASKS.c.id == candidate, ready)
            .values(state=State.DOING.value, attempts=TASKS.c.attempts + 1,
                    worker=bindparam("claim_worker"),
                    lease_until=bindparam("claim_lease_until", type_=TASKS.c.lease_until.type))
            .returning(TASKS.c.id, TASKS.c.task, TASKS.c.args, TASKS.c.attempts, TASKS.c.lock))


CLAIM = _claim_statement()


@dataclass(frozen=True)
class Claimed:
    """A task a worker holds: its id, name, arguments, how many tries it has had, and its
    lock."""

    id: int
    task: str
    args: JSON
    attempts: int
    lock: str | None = None


class LocalQueue:
    """Tasks in the application's own database (the embedded SQLite default)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._signals: dict[str, Signal] = {}
        self._signals_lock = threading.Lock()

    def signal(self, queue: str) -> Signal:
        """What this process's idle workers of ``queue`` wait on."""
        with self._signals_lock:
            return self._signals.setdefault(str(queue), Signal())

    def wake_all(self, *, one_each: bool = False) -> None:
        """Wake every idle worker of this process (e.g. to stop), or one of each queue."""
        with self._signals_lock:
            signals = list(self._signals.values())
        for signal in signals:
            if one_each:
                signal.notify()
            else:
                signal.notify_all()

    def _released(self, claimed: Claimed) -> None:
        # A task that waited for this one's lock may sit in another queue: the thread that
        # ran this one looks in its own queue next, one idle thread of each looks in theirs.
        if claimed.lock is not None:
            self.wake_all(one_each=True)

    def defer(self, task: str, args: JSON, *, queue: Queue | None = None,
              lock: str | None = None, queueing_lock: str | None = None,
              at: datetime | None = None, priority: int = 0) -> int | None:
        """Store a task (see :class:`bot.tasks.spec.TaskQueue`)."""
        queue_name = str(queue or Queue.INTERACTIVE)
        row = _row(task, queue_name, Deferral(args, lock=lock, queueing_lock=queueing_lock,
                                              at=at, priority=priority), self.clock())
        try:
            with transaction(self.sessions) as session:
                task_id: int = session.connection().execute(INSERT, row).scalar_one()
        except IntegrityError:
            if queueing_lock is None:
                raise
            return None  # one is already waiting
        self.signal(queue_name).notify()
        return task_id

    def defer_many(self, task: str, batch: list[Deferral], *, queue: Queue) -> int:
        """Store many tasks in one transaction (see :class:`bot.tasks.spec.TaskQueue`)."""
        if not batch:
            return 0
        now = self.clock()
        rows = [_row(task, str(queue), item, now) for item in batch]
        with transaction(self.sessions) as session:
            insert = (sqlite_insert if session.get_bind().dialect.name == "sqlite"
                      else postgresql_insert)
            # One multi-row INSERT per few hundred rows; RETURNING gives the rows stored.
            stored = len(session.connection().execute(
                insert(TASKS).on_conflict_do_nothing().returning(TASKS.c.id), rows).all())
        if stored:
            self.signal(queue).notify(stored)
        return stored

    def claim(self, queue: str, worker: str, lease: timedelta = LEASE) -> Claimed | None:
        """Take the next task of ``queue`` that may run now: due, and first in line of its
        lock with nothing of that lock running; or one whose worker's lease ran out."""
        now = self.clock()
        with transaction(self.sessions) as session:
            row = session.connection().execute(CLAIM, {
                "claim_queue": queue, "claim_now": now, "claim_worker": worker,
                "claim_lease_until": now + lease,
            }).first()
        return None if row is None else Claimed(row.id, row.task, dict(row.args), row.attempts,
                                                 row.lock)

    def renew(self, ids: Iterable[int], worker: str, lease: timedelta = LEASE) -> None:
        """Extend the leases of the tasks ``worker`` is running."""
        ids = list(ids)
        if not ids:
            return
        with transaction(self.sessions) as session:
            session.execute(update(TASKS).where(
                TASKS.c.id.in_(ids), TASKS.c.worker == worker,
                TASKS.c.state == State.DOING.value).values(lease_until=self.clock() + lease))

    def succeeded(self, claimed: Claimed, worker: str) -> None:
        """A finished task leaves the table (its effects are the record)."""
        with transaction(self.sessions) as session:
            session.execute(delete(TASKS).where(TASKS.c.id == claimed.id,
                                                TASKS.c.worker == worker))
        self._released(claimed)

    def failed(self, claimed: Claimed, worker: str, error: str,
               retry_in: timedelta | None) -> None:
        """Back to *todo* after ``retry_in``, or *failed* for good when it is None. A task
        another worker took over meanwhile is left to that worker."""
        values: JSON = {"error": error[:2000], "lease_until": None}
        if retry_in is None:
            values |= {"state": State.FAILED.value, "ended_at": self.clock()}
        else:
            values |= {"state": State.TODO.value, "scheduled_at": self.clock() + retry_in}
        mine = (TASKS.c.id == claimed.id, TASKS.c.worker == worker,
                TASKS.c.state == State.DOING.value)
        try:
            with transaction(self.sessions) as session:
                session.execute(update(TASKS).where(*mine).values(**values))
        except IntegrityError:
            if retry_in is None:
                raise
            # A task with its queueing lock was deferred while this one ran, and waits:
            # it does the same work, so this retry gives way to it.
            with transaction(self.sessions) as session:
                session.execute(delete(TASKS).where(*mine))
        self._released(claimed)  # its lock, and its place in line if it retries later

    def has_work(self) -> bool:
        """Whether a task is running, or waiting and due now."""
        now = self.clock()
        with self.sessions() as session:
            return session.scalar(select(exists().where(or_(
                TASKS.c.state == State.DOING.value,
                and_(TASKS.c.state == State.TODO.value,
                     or_(TASKS.c.scheduled_at.is_(None), TASKS.c.scheduled_at <= now)))))
            ) or False

    def jobs(self, states: Iterable[State], *, workspace: str | None = None,
             limit: int = 50) -> list[Job]:
        with self.sessions() as session:
            rows = session.execute(select(TASKS).where(
                TASKS.c.state.in_([State(s).value for s in states])).order_by(TASKS.c.id))
            found = [Job(row.id, row.task, row.queue, row.state, row.attempts,
                         dict(row.args), row.scheduled_at, row.error) for row in rows]
        if workspace is not None:
            found = [job for job in found if job.workspace == workspace]
        return found[:limit]

    def retry(self, job_id: int, *, workspace: str | None = None) -> bool:
        failed = [job for job in self.jobs([State.FAILED], workspace=workspace, limit=10**6)
                  if job.id == job_id]
        if not failed:
            return False
        failed_one = (TASKS.c.id == job_id, TASKS.c.state == State.FAILED.value)
        try:
            with transaction(self.sessions) as session:
                session.execute(update(TASKS).where(*failed_one).values(
                    state=State.TODO.value, scheduled_at=None, error="", ended_at=None))
        except IntegrityError:
            # One with its queueing lock already waits and does the same work.
            with transaction(self.sessions) as session:
                session.execute(delete(TASKS).where(*failed_one))
        self.signal(failed[0].queue).notify()
        return True

    def counts(self) -> dict[tuple[str, str], int]:
        with self.sessions() as session:
            rows = session.execute(select(TASKS.c.queue, TASKS.c.state, func.count())
                                   .group_by(TASKS.c.queue, TASKS.c.state))
            return {(row[0], row[1]): row[2] for row in rows}

    def prune(self, before: datetime) -> int:
        """Remove the tasks that failed for good before ``before`` (those failed by a
        release that did not note when: by when they were deferred)."""
        ended = func.coalesce(TASKS.c.ended_at, TASKS.c.created_at)
        with transaction(self.sessions) as session:
            result = session.execute(delete(TASKS).where(
                TASKS.c.state == State.FAILED.value, ended < before))
        return int(getattr(result, "rowcount", 0) or 0)
