"""The production task queue: PostgresQueue and PostgresWorker on procrastinate, on a real
PostgreSQL migrated by Alembic.

The worker runs on a thread of the test process (``start_in_thread``) with real task
functions that record their calls. Stalled-worker recovery needs processes that die; it
is covered with real processes elsewhere.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from task_helpers import DEADLINE, Calls, eventually

from bot.core.errors import OutcomeError
from bot.storage.db import make_engine, session_factory, upgrade
from bot.tasks.postgres import PostgresQueue, PostgresWorker
from bot.tasks.spec import Deferral, Job, Periodic, Queue, Registry, Retry, State, TaskSpec

pytestmark = pytest.mark.postgres

ALL_STATES = (State.TODO, State.DOING, State.FAILED)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(pg_engine: Engine) -> sessionmaker[Session]:
    return session_factory(pg_engine)


@pytest.fixture
def queue(postgres_url: str, sessions: sessionmaker[Session]) -> Iterator[PostgresQueue]:
    queue = PostgresQueue(postgres_url, sessions)
    yield queue
    queue.close()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@contextmanager
def working(url: str, registry: Registry, threads: Mapping[Queue, int],
            name: str = "process-a") -> Iterator[PostgresWorker]:
    worker = PostgresWorker(url, registry, threads=threads, name=name, heartbeat=0.5)
    worker.start_in_thread()
    try:
        yield worker
    finally:
        worker.stop(timeout=DEADLINE)


def recording(calls: Calls, name: str, queue: Queue = Queue.INTERACTIVE) -> TaskSpec:
    return TaskSpec(name, lambda **args: calls.record(name, args), queue)


def stored(queue: PostgresQueue, job_id: int) -> Job | None:
    return next((j for j in queue.jobs(ALL_STATES, limit=10**6) if j.id == job_id), None)


def test_defer_lists_counts_and_keeps_one_waiting_per_queueing_lock(
        queue: PostgresQueue) -> None:
    review = queue.defer("slack.work", {"workspace": "T1", "work": "review"})
    pull = queue.defer("pulls.metric", {"workspace": "T2", "metric_id": 3}, queue=Queue.PULLS,
                       lock="metric:3", queueing_lock="metric:3")
    assert isinstance(review, int) and isinstance(pull, int)
    assert queue.defer("pulls.metric", {"workspace": "T2", "metric_id": 3},
                       queue=Queue.PULLS, lock="metric:3", queueing_lock="metric:3") is None
    later = datetime.now(UTC) + timedelta(hours=1)
    export = queue.defer("charts.export", {"workspace": "T1"}, queue=Queue.CHARTS, at=later,
                         priority=3)
    assert export is not None

    todo = queue.jobs([State.TODO])
    assert [(j.id, j.task, j.queue, j.state, j.attempts, j.args) for j in todo] == [
        (review, "slack.work", "interactive", "todo", 0, {"workspace": "T1", "work": "review"}),
        (pull, "pulls.metric", "pulls", "todo", 0, {"workspace": "T2", "metric_id": 3}),
        (export, "charts.export", "charts", "todo", 0, {"workspace": "T1"})]
    assert todo[2].scheduled_at == later and todo[0].scheduled_at is None
    assert [j.id for j in queue.jobs(ALL_STATES, workspace="T1")] == [review, export]
    assert [j.id for j in queue.jobs(ALL_STATES, limit=1)] == [review]
    assert queue.jobs([State.FAILED]) == [] and queue.jobs([State.DOING]) == []
    assert queue.counts() == {("interactive", "todo"): 1, ("pulls", "todo"): 1,
                              ("charts", "todo"): 1}

    assert queue.retry(review) is False  # waiting, not failed
    assert queue.retry(10**6) is False
    assert stored(queue, review).state == "todo"


def test_defer_many_stores_a_batch_and_leaves_out_those_whose_queueing_lock_waits(
        queue: PostgresQueue) -> None:
    queue.defer("pulls.metric", {"metric_id": 2}, queue=Queue.PULLS, queueing_lock="m2")
    batch = [Deferral({"metric_id": n}, lock=f"m{n}", queueing_lock=f"m{n}", priority=-n)
             for n in range(1, 9)]

    assert queue.defer_many("pulls.metric", batch, queue=Queue.PULLS) == 7
    assert queue.defer_many("pulls.metric", batch, queue=Queue.PULLS) == 0
    assert sorted(j.args["metric_id"] for j in queue.jobs([State.TODO])) == list(range(1, 9))


def jobs_table_rows_estimate(sessions: sessionmaker[Session]) -> float:
    """PostgreSQL's estimate of procrastinate_jobs' rows: -1 until it was analyzed."""
    with sessions() as session:
        return float(session.execute(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'procrastinate_jobs'")).scalar_one())


def test_the_fetch_finds_a_jobs_lock_by_index(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        plan = "\n".join(session.execute(text(
            "EXPLAIN SELECT 1 FROM procrastinate_jobs WHERE lock = 'metric:1' "
            "AND status IN ('todo', 'doing')")).scalars())
    assert "outcome_procrastinate_jobs_lock_todo_doing" in plan


def test_a_large_batch_is_analyzed_so_the_fetch_is_planned_for_a_full_queue(
        queue: PostgresQueue, sessions: sessionmaker[Session]) -> None:
    small = [Deferral({"metric_id": n}, lock=f"m{n}") for n in range(10)]
    queue.defer_many("pulls.metric", small, queue=Queue.PULLS)
    assert jobs_table_rows_estimate(sessions) == -1

    large = [Deferral({"metric_id": n}, lock=f"m{n}") for n in range(10, 610)]
    assert queue.defer_many("pulls.metric", large, queue=Queue.PULLS) == 600
    assert jobs_table_rows_estimate(sessions) == 610


def test_a_worker_runs_tasks_on_their_queues_and_leaves_a_queue_without_threads(
        postgres_url: str, queue: PostgresQueue, calls: Calls) -> None:
    registry = Registry()
    registry.add(recording(calls, "slack.work"))
    registry.add(recording(calls, "pulls.metric", Queue.PULLS))
    registry.add(recording(calls, "charts.review", Queue.CHARTS))
    threads = {Queue.INTERACTIVE: 2, Queue.PULLS: 1, Queue.CHARTS: 0}
    with working(postgres_url, registry, threads):
        for n in range(3):
            queue.defer("slack.work", {"workspace": "T1", "n": n})
        queue.defer("pulls.metric", {"workspace": "T1", "metric_id": 4}, queue=Queue.PULLS)
        chart = queue.defer("charts.review", {"workspace": "T1"}, queue=Queue.CHARTS)
        calls.wait_for(lambda: len(calls.items) == 4, "the four tasks ran")
        left = eventually(lambda: (jobs := queue.jobs(ALL_STATES)) and len(jobs) == 1 and jobs,
                          "the finished tasks are deleted")
    assert sorted(args["n"] for args in calls.of("slack.work")) == [0, 1, 2]
    assert calls.of("pulls.metric") == [{"workspace": "T1", "metric_id": 4}]
    assert calls.of("charts.review") == []
    assert [(j.id, j.state, j.attempts) for j in left] == [(chart, "todo", 0)]


def test_tasks_of_one_lock_never_overlap_and_run_in_defer_order(
        postgres_url: str, queue: PostgresQueue) -> None:
    spans: list[tuple[int, float, float]] = []
    spans_lock = threading.Lock()
    free_ran = threading.Event()
    first_saw_free = threading.Event()

    def locked(n: int) -> None:
        start = time.monotonic()
        if n == 0 and free_ran.wait(DEADLINE):  # the unlocked task runs meanwhile
            first_saw_free.set()
        time.sleep(0.1)  # the work: long enough for a second one to overlap, if it could
        with spans_lock:
            spans.append((n, start, time.monotonic()))

    registry = Registry()
    registry.add(TaskSpec("initiative.change", locked, Queue.INTERACTIVE))
    registry.add(TaskSpec("slack.work", lambda: free_ran.set(), Queue.INTERACTIVE))
    with working(postgres_url, registry, {Queue.INTERACTIVE: 4}):
        for n in range(3):
            queue.defer("initiative.change", {"n": n}, lock="initiative:7")
        queue.defer("slack.work", {})
        eventually(lambda: len(spans) == 3, "the three locked tasks ran")
        eventually(lambda: not queue.jobs(ALL_STATES), "every task is done")
    assert first_saw_free.is_set()
    by_start = sorted(spans, key=lambda span: span[1])
    assert [n for n, _, _ in by_start] == [0, 1, 2]
    for (_, _, end), (_, start, _) in itertools.pairwise(by_start):
        assert start >= end


def test_a_failing_task_ends_failed_after_its_attempts_and_runs_again_on_retry(
        postgres_url: str, queue: PostgresQueue, calls: Calls) -> None:
    broken = threading.Event()
    broken.set()

    def pull(**args: Any) -> None:
        calls.record("pull", args)
        if broken.is_set():
            raise ConnectionError("could not reach the source")

    registry = Registry()
    registry.add(TaskSpec("pulls.metric", pull, Queue.PULLS, Retry(attempts=2, base=1)))
    with working(postgres_url, registry, {Queue.PULLS: 1}):
        task = queue.defer("pulls.metric", {"workspace": "T1", "metric_id": 5},
                           queue=Queue.PULLS)
        failed = eventually(lambda: queue.jobs([State.FAILED]), "the task failed for good")
        assert [(j.id, j.state, j.error) for j in failed] == [
            (task, "failed", "ConnectionError")]  # a foreign error: its type, no message
        assert len(calls.of("pull")) == 2  # two tries in all, as Retry(attempts=2) says
        assert queue.counts() == {("pulls", "failed"): 1}

        assert queue.retry(task, workspace="T2") is False  # another workspace's
        broken.clear()
        assert queue.retry(task, workspace="T1") is True
        calls.wait_for(lambda: len(calls.items) == 3, "the retried task ran")
        eventually(lambda: stored(queue, task) is None, "the retried task succeeded")
    assert calls.of("pull") == [{"workspace": "T1", "metric_id": 5}] * 3
    with queue.sessions() as session:  # the reason went with its job
        assert session.execute(text("SELECT count(*) FROM outcome_task_errors")).scalar() == 0


def unreachable_pulls(calls: Calls) -> Registry:
    """A registry whose pulls record their call and fail on their only try."""
    def pull(**args: Any) -> None:
        calls.record("pull", args)
        raise ConnectionError("could not reach the source")

    registry = Registry()
    registry.add(TaskSpec("pulls.metric", pull, Queue.PULLS, Retry(attempts=1)))
    return registry


def test_retrying_a_failed_task_while_its_queueing_lock_waits_gives_way(
        postgres_url: str, queue: PostgresQueue, calls: Calls) -> None:
    with working(postgres_url, unreachable_pulls(calls), {Queue.PULLS: 1}):
        failed = queue.defer("pulls.metric", {"metric_id": 5}, queue=Queue.PULLS,
                             queueing_lock="metric:5")
        eventually(lambda: queue.jobs([State.FAILED]), "the task failed")
    waiting = queue.defer("pulls.metric", {"metric_id": 5}, queue=Queue.PULLS,
                          queueing_lock="metric:5")

    assert queue.retry(failed) is True  # the same work is queued: the waiting one
    assert queue.jobs([State.FAILED]) == []
    assert [j.id for j in queue.jobs([State.TODO])] == [waiting]


def test_prune_removes_failed_and_cancelled_jobs_whose_last_event_is_old(
        postgres_url: str, queue: PostgresQueue, calls: Calls) -> None:
    with working(postgres_url, unreachable_pulls(calls), {Queue.PULLS: 1}):
        old, recent, twin = (queue.defer("pulls.metric", {"metric_id": n}, queue=Queue.PULLS,
                                         queueing_lock=f"metric:{n}") for n in (1, 2, 3))
        eventually(lambda: len(queue.jobs([State.FAILED])) == 3, "the three failed")
    waiting = queue.defer("pulls.metric", {"metric_id": 3}, queue=Queue.PULLS,
                          queueing_lock="metric:3")
    assert queue.retry(twin) is True  # gives way to the waiting one: cancelled
    with queue.sessions.begin() as session:  # what happened to old and twin, 40 days ago
        session.execute(text("UPDATE procrastinate_events SET at = at - interval '40 days' "
                             "WHERE job_id = ANY(:ids)"), {"ids": [old, twin]})
        now = session.execute(text("SELECT now()")).scalar_one()

    assert queue.prune(now - timedelta(days=30)) == 2
    assert [j.id for j in queue.jobs(ALL_STATES)] == [recent, waiting]
    with queue.sessions() as session:  # their noted errors and events went with them
        assert session.execute(text("SELECT array_agg(job_id ORDER BY job_id) "
                                    "FROM outcome_task_errors")).scalar() == [recent]
        assert session.execute(text("SELECT count(*) FROM procrastinate_events "
                                    "WHERE job_id = ANY(:ids)"),
                               {"ids": [old, twin]}).scalar() == 0
    assert queue.prune(now - timedelta(days=30)) == 0


def test_a_task_of_one_try_is_not_retried(postgres_url: str, queue: PostgresQueue,
                                          calls: Calls) -> None:
    def tick() -> None:
        calls.record("digests.tick", {})
        raise OutcomeError("The review channel is archived; pick another one")

    registry = Registry()
    registry.add(TaskSpec("digests.tick", tick, Queue.SCHEDULE, Retry(attempts=1)))
    with working(postgres_url, registry, {Queue.SCHEDULE: 1}):
        task = queue.defer("digests.tick", {}, queue=Queue.SCHEDULE)
        failed = eventually(lambda: queue.jobs([State.FAILED]), "the task failed")
    assert [(j.id, j.state, j.error) for j in failed] == [
        (task, "failed", "The review channel is archived; pick another one")]
    assert len(calls.of("digests.tick")) == 1


def test_a_pull_that_fails_while_the_next_one_waits_gives_way_to_it(
        postgres_url: str, queue: PostgresQueue, calls: Calls) -> None:
    started, release = threading.Event(), threading.Event()

    def pull(metric_id: int) -> None:
        calls.record("pulls.metric", {"metric_id": metric_id})
        if len(calls.items) == 1:
            started.set()
            assert release.wait(DEADLINE)
            raise TimeoutError("the source did not answer")

    registry = Registry()
    registry.add(TaskSpec("pulls.metric", pull, Queue.PULLS, Retry(attempts=2, base=1)))
    key = "metric:1"
    with working(postgres_url, registry, {Queue.PULLS: 1}):
        first = queue.defer("pulls.metric", {"metric_id": 1}, queue=Queue.PULLS, lock=key,
                            queueing_lock=key)
        assert started.wait(DEADLINE)
        # The next minute's tick finds the metric still due while the first pull runs.
        second = queue.defer("pulls.metric", {"metric_id": 1}, queue=Queue.PULLS,
                             lock=key, queueing_lock=key)
        assert second is not None and second != first
        release.set()
        # Its retry would be a second waiting task of the queueing lock: it gives way to
        # the one waiting, which runs (before, the first stayed "doing" for good, holding
        # the lock, and the metric was never pulled again).
        calls.wait_for(lambda: len(calls.items) == 2, "the waiting pull ran")
        eventually(lambda: not queue.jobs(ALL_STATES), "both pulls are done")
    assert calls.of("pulls.metric") == [{"metric_id": 1}] * 2


def test_two_workers_defer_a_periodic_task_once_per_period(
        postgres_url: str, queue: PostgresQueue, sessions: sessionmaker[Session],
        calls: Calls, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="procrastinate.periodic")

    def attempts() -> list[logging.LogRecord]:
        actions = {"periodic_task_deferred", "periodic_task_already_deferred",
                   "skip_periodic_task_queueing_lock"}
        return [r for r in caplog.records if getattr(r, "action", None) in actions]

    def registry() -> Registry:
        registry = Registry()
        registry.add(recording(calls, "pulls.due", Queue.SCHEDULE))
        registry.every(Periodic("pulls.due", timedelta(minutes=1)))
        return registry

    threads = {Queue.SCHEDULE: 1, Queue.INTERACTIVE: 1}  # a deferrer per queue, too
    # procrastinate's periods follow the wall clock: start well inside one, so that no new
    # period begins while the workers stop (its task might be deferred and not yet run).
    eventually(lambda: time.time() % 60 < 40, "a minute with 20 s left", timeout=30)
    with working(postgres_url, registry(), threads, name="process-a"), \
            working(postgres_url, registry(), threads, name="process-b"):
        # Each of the four deferrers tries the current minute as soon as it starts.
        eventually(lambda: len(attempts()) >= 4, "every deferrer tried the period")
        calls.wait_for(lambda: len(calls.items) >= 1, "the periodic task ran")
        eventually(lambda: not queue.jobs(ALL_STATES), "the periodic task finished")
    deferred = Counter(r.defer_timestamp for r in attempts()
                       if r.action == "periodic_task_deferred")
    tried = {r.defer_timestamp for r in attempts()}
    assert set(deferred) == tried and set(deferred.values()) == {1}  # one per period
    assert len(calls.of("pulls.due")) == len(deferred)
    assert calls.of("pulls.due")[0] == {}  # procrastinate's timestamp is not passed on
    assert all(ts % 60 == 0 for ts in deferred)
    with sessions() as session:
        rows = session.execute(text(
            "SELECT task_name, periodic_id, defer_timestamp FROM procrastinate_periodic_defers"
        )).all()
    assert [(r.task_name, r.periodic_id) for r in rows] == [("pulls.due", "pulls.due")]
    assert rows[0].defer_timestamp == max(deferred)
