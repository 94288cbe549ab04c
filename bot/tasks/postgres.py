"""Production's task queue: procrastinate on the PostgreSQL the deployment already has.

procrastinate keeps tasks in its own tables (created by our Alembic migration 0010 from
the schema it ships), and its workers fetch them with ``FOR UPDATE SKIP LOCKED``, woken by
``LISTEN/NOTIFY``. It gives this bot what it needs without a new server: queues, locks
(one task at a time per lock, in order: fairness across workspaces and one change at a
time per initiative), queueing locks (one waiting task per key), retries with backoff, a
*failed* state kept for an admin to retry, periodic tasks deferred once per period however
many workers run (a unique row per period), and worker heartbeats from which a task
whose worker died is found and run again.

Deferring is synchronous (bolt listeners and task functions are threads): a small psycopg
pool of its own. Running is procrastinate's asyncio worker, each task on a thread.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Job as ProcrastinateJob
from procrastinate.jobs import Status
from procrastinate.worker import Worker
from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.tasks.spec import (
    JSON,
    Deferral,
    Job,
    Queue,
    Registry,
    State,
    TaskSpec,
    error_text,
)

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
STALLED_AFTER_SECONDS = 30.0  # a worker silent this long is dead: its tasks run again
DEFER_POOL_SIZE = 4  # connections a process defers and lists through
ANALYZE_AFTER = 500  # jobs deferred at once: enough to change how a fetch is best planned
# A new task wakes a worker at once (LISTEN/NOTIFY); one scheduled for later (a retry, a
# digest's next message) is seen within this.
POLL_SECONDS = 1.0


def conninfo(database_url: str) -> str:
    """libpq's URL for the SQLAlchemy ``DATABASE_URL`` (``postgresql+psycopg://…``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class PostgresQueue:
    """Defers, lists and retries tasks in procrastinate's tables."""

    def __init__(self, database_url: str, sessions: sessionmaker[Session]) -> None:
        connector = procrastinate.SyncPsycopgConnector(
            conninfo=conninfo(database_url), min_size=1, max_size=DEFER_POOL_SIZE)
        self.app = procrastinate.App(connector=connector)
        self.sessions = sessions  # listing reads procrastinate_jobs with our own engine
        self._open = False
        self._lock = threading.Lock()

    def _opened(self) -> procrastinate.App:
        with self._lock:
            if not self._open:
                self.app.open()
                self._open = True
        return self.app

    def close(self) -> None:
        with self._lock:
            if self._open:
                self.app.close()
                self._open = False

    def defer(self, task: str, args: JSON, *, queue: Queue | None = None,
              lock: str | None = None, queueing_lock: str | None = None,
              at: datetime | None = None, priority: int = 0) -> int | None:
        """Store a task (see :class:`bot.tasks.spec.TaskQueue`)."""
        options: dict[str, Any] = {"queue": str(queue or Queue.INTERACTIVE),
                                   "priority": priority}
        if lock is not None:
            options["lock"] = lock
        if queueing_lock is not None:
            options["queueing_lock"] = queueing_lock
        if at is not None:
            options["schedule_at"] = at
        try:
            return self._opened().configure_task(task, **options).defer(**args)
        except AlreadyEnqueued:
            return None

    def defer_many(self, task: str, batch: list[Deferral], *, queue: Queue) -> int:
        """Store many tasks in one query, leaving out those whose queueing lock already
        has a task waiting; one deferred meanwhile makes the database refuse the whole
        batch, and then the halves are tried on their own. After a large batch the jobs
        table is analyzed: until PostgreSQL has statistics on a full queue, it plans each
        fetch as a scan of every waiting job."""
        waiting = self._waiting_queueing_locks(
            [item.queueing_lock for item in batch if item.queueing_lock is not None])
        stored = self._defer_batch(
            task, [item for item in batch if item.queueing_lock not in waiting], queue)
        if stored >= ANALYZE_AFTER:
            try:
                with self.sessions.begin() as session:
                    session.execute(text("ANALYZE procrastinate_jobs"))
            except SQLAlchemyError as exc:  # the jobs are stored; autovacuum analyzes later
                log.warning("could not analyze the task queue's table: %s",
                            type(exc).__name__)
        return stored

    def _waiting_queueing_locks(self, locks: list[str]) -> set[str]:
        if not locks:
            return set()
        with self.sessions() as session:
            return set(session.execute(text(
                "SELECT queueing_lock FROM procrastinate_jobs "
                "WHERE status = 'todo' AND queueing_lock = ANY(:locks)"),
                {"locks": locks}).scalars())

    def _defer_batch(self, task: str, batch: list[Deferral], queue: Queue) -> int:
        if not batch:
            return 0
        jobs = [ProcrastinateJob(queue=str(queue), task_name=task, task_kwargs=item.args,
                                 lock=item.lock, queueing_lock=item.queueing_lock,
                                 priority=item.priority, scheduled_at=item.at)
                for item in batch]
        try:
            self._opened().job_manager.batch_defer_jobs(jobs)
        except AlreadyEnqueued:
            if len(batch) == 1:
                return 0
            half = len(batch) // 2
            return (self._defer_batch(task, batch[:half], queue)
                    + self._defer_batch(task, batch[half:], queue))
        return len(batch)

    def jobs(self, states: Iterable[State], *, workspace: str | None = None,
             limit: int = 50) -> list[Job]:
        query = ("SELECT j.id, j.task_name, j.queue_name, j.status::text AS status, "
                 "j.attempts, j.args, j.scheduled_at, coalesce(e.error, '') AS error "
                 "FROM procrastinate_jobs j LEFT JOIN outcome_task_errors e "
                 "ON e.job_id = j.id WHERE j.status::text = ANY(:states)")
        params: dict[str, Any] = {"states": [State(s).value for s in states],
                                  "limit": limit}
        if workspace is not None:
            query += " AND j.args->>'workspace' = :workspace"
            params["workspace"] = workspace
        with self.sessions() as session:
            rows = session.execute(text(query + " ORDER BY j.id LIMIT :limit"), params)
            return [Job(row.id, row.task_name, row.queue_name, row.status, row.attempts,
                        dict(row.args), row.scheduled_at, row.error) for row in rows]

    def retry(self, job_id: int, *, workspace: str | None = None) -> bool:
        if not any(job.id == job_id for job in self.jobs([State.FAILED],
                                                          workspace=workspace,
                                                          limit=10**6)):
            return False
        manager = self._opened().job_manager
        try:
            manager.retry_job_by_id(job_id, retry_at=_now_in_database(self.sessions))
        except UniqueViolation:
            # One with its queueing lock already waits and does the same work: this one
            # gives way to it (cancelled: no longer listed as failed).
            with self.sessions.begin() as session:
                session.execute(text("UPDATE procrastinate_jobs SET status = 'cancelled' "
                                     "WHERE id = :id AND status = 'failed'"), {"id": job_id})
        return True

    def counts(self) -> dict[tuple[str, str], int]:
        with self.sessions() as session:
            rows = session.execute(text(
                "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
                "GROUP BY queue_name, status"))
            return {(row[0], row[1]): row[2] for row in rows}


    def prune(self, before: datetime) -> int:
        """Remove the failed jobs, and those cancelled because a twin was waiting, whose
        last event (procrastinate's record of what happened to a job) is before
        ``before``; their noted errors and events go with them."""
        with self.sessions.begin() as session:
            result = session.execute(text(
                "DELETE FROM procrastinate_jobs WHERE status IN ('failed', 'cancelled') "
                "AND id IN (SELECT job_id FROM procrastinate_events GROUP BY job_id "
                "HAVING max(at) < :before)"), {"before": before})
        return int(getattr(result, "rowcount", 0) or 0)


def _now_in_database(sessions: sessionmaker[Session]) -> datetime:
    with sessions() as session:
        return session.execute(text("SELECT now()")).scalar_one()


def _task_function(spec: TaskSpec, periodic: bool) -> Any:
    def run(**kwargs: Any) -> None:
        if periodic:
            kwargs.pop("timestamp", None)  # procrastinate's: the period's start
        spec.function(**kwargs)

    run.__name__ = spec.name.replace(".", "_")
    return run


def worker_app(database_url: str, registry: Registry) -> procrastinate.App:
    """A procrastinate app that runs ``registry``'s tasks, periodic ones included."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url)))
    periodic = {period.task: period for period in registry.periodic}
    for spec in registry.tasks:
        # procrastinate's max_attempts counts the tries after the first (and 0 means no
        # limit); its wait after the n-th failure is base ** n, as ours.
        retries = spec.retry.attempts - 1
        retry: procrastinate.RetryStrategy | bool = procrastinate.RetryStrategy(
            max_attempts=retries, exponential_wait=spec.retry.base) if retries > 0 else False
        task = app.task(name=spec.name, queue=str(spec.queue), retry=retry)(
            _task_function(spec, spec.name in periodic))
        if spec.name in periodic:
            # One waiting at a time: a tick that runs long is not queued up behind.
            app.periodic(cron=periodic[spec.name].cron, periodic_id=spec.name,
                         queueing_lock=f"periodic:{spec.name}")(task)
    return app


async def _recover_stalled(app: procrastinate.App, every: float, stalled_after: float
                           ) -> None:
    """Run again the tasks of workers that stopped sending heartbeats (killed, lost)."""
    while True:
        try:
            for job in await app.job_manager.get_stalled_jobs(
                    seconds_since_heartbeat=stalled_after):
                log.warning("task %s (%s) lost its worker; running it again",
                            job.task_name, job.id)
                try:
                    await app.job_manager.retry_job(job)
                except UniqueViolation:  # one with its queueing lock waits: the same work
                    await app.job_manager.finish_job(job, status=Status.FAILED,
                                                     delete_job=True)
                    log.info("task %s gives way to the one waiting with its queueing "
                             "lock", job.id)
                except Exception:  # another worker retried it first
                    log.info("task %s was already taken up again", job.id)
        except Exception:
            log.exception("could not look for tasks of stalled workers")
        await asyncio.sleep(every)


async def _after_failure(call_next: Any, context: Any, worker: Worker) -> Any:
    """Note why a task failed, for ``outcome jobs`` (procrastinate keeps only that it did).
    A task that failed and would be retried while another of its queueing lock waits gives
    way to that one (the same work) instead: its retry would be a second waiting task of
    the lock, which the database refuses, leaving it *doing* for good and holding its
    lock."""
    try:
        return await call_next()
    except Exception as exc:
        job = context.job
        if await _waiting_for_its_lock(worker, job, exc):
            log.warning("task %s (%s) failed (%s); the one waiting with its queueing lock "
                        "runs instead", job.task_name, job.id, type(exc).__name__)
            return None
        try:
            await worker.app.connector.execute_query_async(
                "INSERT INTO outcome_task_errors (job_id, error) VALUES (%(id)s, %(error)s) "
                "ON CONFLICT (job_id) DO UPDATE SET error = EXCLUDED.error, "
                "noted_at = now()", id=job.id, error=error_text(exc)[:2000])
        except Exception as note_failure:  # the task's own failure is what matters
            log.warning("could not note why task %s failed: %s", job.id,
                        type(note_failure).__name__)
        raise


async def _waiting_for_its_lock(worker: Worker, job: ProcrastinateJob, exc: Exception
                                ) -> bool:
    task = worker.app.tasks.get(job.task_name)
    if job.queueing_lock is None or task is None or task.get_retry_exception(
            exception=exc, job=job) is None:
        return False
    row = await worker.app.connector.execute_query_one_async(
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status = 'todo' "
        "AND queueing_lock = %(lock)s) AS waiting", lock=job.queueing_lock)
    return bool(row["waiting"])


class PostgresWorker:
    """procrastinate workers, one per queue with ``threads[queue]`` tasks at a time (so
    slow work never delays quick work). Stopping finishes the tasks that are running and
    takes no new one."""

    def __init__(self, database_url: str, registry: Registry, *,
                 threads: Mapping[Queue, int], name: str,
                 heartbeat: float = HEARTBEAT_SECONDS,
                 stalled_after: float = STALLED_AFTER_SECONDS) -> None:
        self.app = worker_app(database_url, registry)
        self.threads = {queue: count for queue, count in threads.items() if count > 0}
        self.name, self.heartbeat, self.stalled_after = name, heartbeat, stalled_after
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[Worker] = []
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def run(self, *, signals: bool = True) -> None:
        """Run until :meth:`stop` or, with ``signals``, SIGTERM/SIGINT."""
        asyncio.run(self._main(signals))

    def start_in_thread(self) -> None:
        """Run on a thread of its own (next to a web server in one process)."""
        self._thread = threading.Thread(target=self.run, kwargs={"signals": False},
                                        name="outcome-tasks", daemon=True)
        self._thread.start()
        self._started.wait(30)

    def stop(self, timeout: float | None = None) -> None:
        """From any thread: finish the running tasks (up to ``timeout`` s), then return."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop_workers)
        if self._thread is not None:
            self._thread.join(timeout)

    def _stop_workers(self) -> None:
        for worker in self._workers:
            worker.stop()

    async def _main(self, signals: bool) -> None:
        self._loop = loop = asyncio.get_running_loop()
        # Each task runs on a thread of the loop's default executor: one per slot.
        loop.set_default_executor(ThreadPoolExecutor(
            max_workers=sum(self.threads.values()) + 2, thread_name_prefix="outcome-task"))
        async with self.app.open_async():
            self._workers = [
                Worker(app=self.app, queues=[str(queue)], concurrency=count,
                       name=f"{self.name}/{queue}", wait=True, delete_jobs="successful",
                       install_signal_handlers=False,
                       update_heartbeat_interval=self.heartbeat,
                       stalled_worker_timeout=self.stalled_after,
                       fetch_job_polling_interval=POLL_SECONDS,
                       worker_middleware=[_after_failure])
                for queue, count in self.threads.items()]
            if signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, self._stop_workers)
            recovery = asyncio.create_task(
                _recover_stalled(self.app, self.heartbeat, self.stalled_after))
            self._started.set()
            try:
                await asyncio.gather(*(worker.run() for worker in self._workers))
            finally:
                recovery.cancel()
