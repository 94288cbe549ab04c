"""The embedded task queue and its workers, on SQLite and PostgreSQL, under a movable clock.

LocalQueue is driven directly (defer, claim, renew, succeeded, failed) for its semantics;
LocalWorker runs real task functions on its threads for the end-to-end behaviour. Time is
a clock object the test moves: leases, retries, schedules and periodic slots follow it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from task_helpers import DEADLINE, Calls, eventually

from bot.clock import TASKS_PRUNE, add_scheduled_tasks
from bot.core.errors import OutcomeError
from bot.storage.db import make_engine, session_factory
from bot.storage.models import LocalTask
from bot.tasks.local import LocalQueue
from bot.tasks.spec import (
    FAILED_KEPT_FOR,
    Deferral,
    Periodic,
    Queue,
    Registry,
    Retry,
    State,
    TaskSpec,
    error_text,
)
from bot.tasks.worker import LocalWorker
from metrics.pulling import Puller
from metrics.resources import open_resources

START = datetime(2031, 3, 4, 10, 0, 5, tzinfo=UTC)  # 5 s into a minute
POLL = 0.02  # the workers' idle poll in these tests
ALL_STATES = (State.TODO, State.DOING, State.FAILED)


class MovableClock:
    """The queue's time: starts at ``START``, moves only when the test says so. Counts
    how often it was read, so a test can wait until a worker has looked many times."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.reads = 0

    def __call__(self) -> datetime:
        with self._lock:
            self.reads += 1
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def polls_pass(clock: MovableClock, reads: int = 20) -> None:
    """Wait until the workers have read the clock ``reads`` more times: they looked for
    work that often and found nothing they may run."""
    target = clock.reads + reads
    eventually(lambda: clock.reads >= target, f"{reads} more reads of the clock")


def job(queue: LocalQueue, job_id: int) -> Any:
    """The stored task ``job_id`` in any state, or None once it is gone (succeeded)."""
    return next((j for j in queue.jobs(ALL_STATES, limit=10**6) if j.id == job_id), None)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def queue(sessions: sessionmaker[Session], clock: MovableClock) -> LocalQueue:
    return LocalQueue(sessions, clock)


@pytest.fixture
def calls() -> Calls:
    return Calls()


@contextmanager
def running(worker: LocalWorker) -> Iterator[LocalWorker]:
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=DEADLINE)


def recording(calls: Calls, name: str, queue: Queue = Queue.INTERACTIVE,
              retry: Retry | None = None) -> TaskSpec:
    """A task that records its calls."""
    return TaskSpec(name, lambda **args: calls.record(name, args), queue,
                    retry or Retry())


# ---------------------------------------------------------------- the queue itself


def test_a_second_task_with_a_waiting_queueing_lock_is_not_stored(queue: LocalQueue) -> None:
    first = queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1")
    assert isinstance(first, int)
    assert queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1") is None
    other = queue.defer("pulls.metric", {"metric_id": 2}, queueing_lock="metric:2")
    unlocked = [queue.defer("pulls.metric", {"metric_id": 1}) for _ in range(2)]
    assert None not in unlocked and len({first, other, *unlocked}) == 4

    claimed = queue.claim(str(Queue.INTERACTIVE), "w1")
    assert claimed is not None and claimed.id == first
    # Running, no longer waiting: one may wait again, but only one.
    again = queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1")
    assert isinstance(again, int) and again != first
    assert queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1") is None
    assert [j.id for j in queue.jobs([State.DOING])] == [first]


def test_a_retry_while_its_queueing_lock_has_a_task_waiting_leaves_that_one(
        queue: LocalQueue) -> None:
    first = queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1")
    claimed = queue.claim(str(Queue.INTERACTIVE), "w1")
    assert claimed is not None and claimed.id == first
    waiting = queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1")
    assert waiting is not None

    queue.failed(claimed, "w1", "TimeoutError", timedelta(seconds=2))

    # The waiting task does the same work: the retry gives way to it, nothing is raised.
    assert [j.id for j in queue.jobs(ALL_STATES)] == [waiting]
    assert queue.defer("pulls.metric", {"metric_id": 1}, queueing_lock="metric:1") is None


def test_tasks_of_one_lock_run_one_at_a_time_in_defer_order(queue: LocalQueue) -> None:
    interactive = str(Queue.INTERACTIVE)
    a1 = queue.defer("t", {"n": 1}, lock="initiative:7")
    a2 = queue.defer("t", {"n": 2}, lock="initiative:7")
    a3 = queue.defer("t", {"n": 3}, lock="initiative:7")
    other = queue.defer("t", {"n": 4}, lock="initiative:8")
    free = queue.defer("t", {"n": 5})

    first = queue.claim(interactive, "w1")
    assert first is not None and first.id == a1
    # a2 and a3 wait for a1; other locks and none run meanwhile.
    assert [queue.claim(interactive, "w2").id, queue.claim(interactive, "w3").id] == [
        other, free]
    assert queue.claim(interactive, "w4") is None

    queue.succeeded(first, "w1")
    second = queue.claim(interactive, "w2")
    assert second is not None and second.id == a2
    assert queue.claim(interactive, "w3") is None
    queue.failed(second, "w2", "boom", None)  # failed for good: the lock is free again
    third = queue.claim(interactive, "w3")
    assert third is not None and third.id == a3


def test_a_retry_keeps_its_place_at_the_head_of_its_lock(queue: LocalQueue,
                                                         clock: MovableClock) -> None:
    interactive = str(Queue.INTERACTIVE)
    a1 = queue.defer("t", {}, lock="L")
    a2 = queue.defer("t", {}, lock="L")
    first = queue.claim(interactive, "w1")
    assert first is not None and first.id == a1
    queue.failed(first, "w1", "boom", timedelta(seconds=4))

    clock.advance(3)
    assert queue.claim(interactive, "w1") is None  # a1 waits for its retry, a2 behind it
    clock.advance(1)
    again = queue.claim(interactive, "w1")
    assert again is not None and (again.id, again.attempts) == (a1, 2)
    queue.succeeded(again, "w1")
    last = queue.claim(interactive, "w1")
    assert last is not None and last.id == a2


def test_a_scheduled_task_waits_for_its_time_then_runs_by_priority_and_id(
        queue: LocalQueue, clock: MovableClock) -> None:
    interactive = str(Queue.INTERACTIVE)
    later = START + timedelta(seconds=60)
    low_first = queue.defer("t", {}, at=later)
    low_second = queue.defer("t", {}, at=later)
    high = queue.defer("t", {}, at=later, priority=5)
    elsewhere = queue.defer("t", {}, queue=Queue.PULLS)

    assert queue.claim(interactive, "w") is None
    clock.advance(59)
    assert queue.claim(interactive, "w") is None
    assert [j.scheduled_at for j in queue.jobs([State.TODO])][:3] == [later] * 3

    clock.advance(2)
    order = [queue.claim(interactive, "w") for _ in range(4)]
    assert [c.id if c else None for c in order] == [high, low_first, low_second, None]
    pulls = queue.claim(str(Queue.PULLS), "w")
    assert pulls is not None and pulls.id == elsewhere


def test_a_task_whose_lease_ran_out_is_taken_over_and_the_new_holder_wins(
        queue: LocalQueue, clock: MovableClock) -> None:
    interactive = str(Queue.INTERACTIVE)
    task = queue.defer("t", {"workspace": "T1"})
    old = queue.claim(interactive, "process-a/1", timedelta(seconds=30))
    assert old is not None and (old.id, old.attempts) == (task, 1)
    assert queue.claim(interactive, "process-b/1") is None  # still held

    clock.advance(31)
    new = queue.claim(interactive, "process-b/1", timedelta(seconds=30))
    assert new is not None and (new.id, new.attempts) == (task, 2)

    # The old worker comes back and reports: nothing changes.
    queue.succeeded(old, "process-a/1")
    queue.failed(old, "process-a/1", "late", None)
    queue.failed(old, "process-a/1", "late", timedelta(seconds=1))
    stored = job(queue, task)
    assert stored is not None and (stored.state, stored.attempts, stored.error) == (
        "doing", 2, "")
    assert queue.claim(interactive, "process-c/1") is None

    queue.succeeded(new, "process-b/1")
    assert job(queue, task) is None


def test_renewing_a_lease_extends_it_for_its_holder_only(queue: LocalQueue,
                                                         clock: MovableClock) -> None:
    interactive = str(Queue.INTERACTIVE)
    lease = timedelta(seconds=30)
    task = queue.defer("t", {})
    held = queue.claim(interactive, "w1", lease)
    assert held is not None

    clock.advance(20)
    queue.renew([task], "w1", lease)  # held until START + 50 s
    clock.advance(20)
    assert queue.claim(interactive, "w2", lease) is None
    queue.renew([task], "w2", lease)  # not w2's: it would hold it until START + 70 s
    queue.renew([], "w1", lease)  # nothing running: nothing to do
    clock.advance(11)
    taken = queue.claim(interactive, "w3", lease)
    assert taken is not None and (taken.id, taken.attempts) == (task, 2)


def test_jobs_filter_by_state_and_workspace_and_counts_group_by_queue_and_state(
        queue: LocalQueue) -> None:
    t1 = queue.defer("slack.work", {"workspace": "T1", "work": "review"})
    t2 = queue.defer("slack.work", {"workspace": "T2", "work": "review"})
    t1_pull = queue.defer("pulls.metric", {"workspace": "T1", "metric_id": 3},
                          queue=Queue.PULLS)
    running = queue.claim(str(Queue.INTERACTIVE), "w")
    assert running is not None and running.id == t1
    broken = queue.claim(str(Queue.PULLS), "w")
    assert broken is not None
    queue.failed(broken, "w", "The source answered 503", None)

    assert [j.id for j in queue.jobs([State.TODO])] == [t2]
    assert [j.id for j in queue.jobs([State.DOING])] == [t1]
    assert [j.id for j in queue.jobs([State.TODO, State.DOING, State.FAILED])] == [
        t1, t2, t1_pull]
    assert [j.id for j in queue.jobs(ALL_STATES, workspace="T1")] == [t1, t1_pull]
    assert [j.id for j in queue.jobs(ALL_STATES, workspace="T3")] == []
    assert [j.id for j in queue.jobs(ALL_STATES, limit=2)] == [t1, t2]
    failed = queue.jobs([State.FAILED])
    assert [(j.id, j.task, j.queue, j.attempts, j.error, j.workspace) for j in failed] == [
        (t1_pull, "pulls.metric", "pulls", 1, "The source answered 503", "T1")]
    assert queue.counts() == {("interactive", "doing"): 1, ("interactive", "todo"): 1,
                              ("pulls", "failed"): 1}


def fail_for_good(queue: LocalQueue, task: str) -> int:
    """Defer ``task`` and fail it for good at the queue's time; its id."""
    job_id = queue.defer(task, {}, queue=Queue.PULLS)
    claimed = queue.claim(str(Queue.PULLS), "w")
    assert claimed is not None and claimed.id == job_id
    queue.failed(claimed, "w", "RuntimeError", None)
    return job_id


def test_prune_removes_only_the_tasks_that_failed_for_good_before_the_cutoff(
        queue: LocalQueue, clock: MovableClock, sessions: sessionmaker[Session]) -> None:
    old = fail_for_good(queue, "old")
    deferred_long_ago = fail_for_good(queue, "failed by the previous release")
    with sessions.begin() as session:  # that release did not note when a task failed
        session.execute(update(LocalTask).where(LocalTask.id == deferred_long_ago)
                        .values(ended_at=None))
    waiting = queue.defer("waiting since the start", {})
    clock.advance(timedelta(days=10).total_seconds())
    recent = fail_for_good(queue, "recent")
    retried = fail_for_good(queue, "retried")
    assert queue.retry(retried) is True
    clock.advance(timedelta(days=21).total_seconds())  # old failed 31 days ago, recent 21

    assert queue.prune(clock() - FAILED_KEPT_FOR) == 2
    assert [j.id for j in queue.jobs(ALL_STATES)] == [waiting, recent, retried]
    assert queue.prune(clock() - FAILED_KEPT_FOR) == 0
    assert old not in [j.id for j in queue.jobs(ALL_STATES)]


def test_a_retried_task_that_fails_again_is_kept_from_its_new_failure(
        queue: LocalQueue, clock: MovableClock) -> None:
    task = fail_for_good(queue, "flaky")
    clock.advance(timedelta(days=40).total_seconds())
    assert queue.retry(task) is True
    claimed = queue.claim(str(Queue.PULLS), "w")
    assert claimed is not None and claimed.id == task
    queue.failed(claimed, "w", "RuntimeError", None)

    assert queue.prune(clock() - FAILED_KEPT_FOR) == 0
    assert [j.id for j in queue.jobs([State.FAILED])] == [task]


def test_the_scheduled_tasks_prune_old_failures_every_hour(
        queue: LocalQueue, clock: MovableClock, sessions: sessionmaker[Session]) -> None:
    old = fail_for_good(queue, "old")
    clock.advance(timedelta(days=29).total_seconds())
    recent = fail_for_good(queue, "recent")
    clock.advance(timedelta(days=2).total_seconds())
    registry = Registry()
    add_scheduled_tasks(registry, queue, Puller(sessions, open_resources(), clock=clock),
                        None, sessions)
    assert Periodic(TASKS_PRUNE, timedelta(hours=1)) in registry.periodic

    with running(worker_for(queue, registry, threads={Queue.SCHEDULE: 1})):
        eventually(lambda: job(queue, old) is None, "the old failure was pruned")
    assert [j.id for j in queue.jobs([State.FAILED])] == [recent]


@pytest.mark.parametrize(("every", "cron"), [
    (timedelta(minutes=1), "* * * * *"), (timedelta(minutes=15), "*/15 * * * *"),
    (timedelta(hours=1), "0 * * * *"), (timedelta(hours=6), "0 */6 * * *")])
def test_a_periodic_task_has_the_cron_of_its_period(every: timedelta, cron: str) -> None:
    assert Periodic("t", every).cron == cron


@pytest.mark.parametrize("every", [timedelta(seconds=90), timedelta(minutes=90),
                                   timedelta(hours=5)])
def test_a_period_cron_cannot_say_is_refused(every: timedelta) -> None:
    with pytest.raises(ValueError, match="periodic task"):
        assert Periodic("t", every).cron is None


def test_retry_moves_only_a_failed_task_of_the_workspace_back(queue: LocalQueue) -> None:
    failing = queue.defer("t", {"workspace": "T1"}, queue=Queue.PULLS)
    waiting = queue.defer("t", {"workspace": "T1"})
    claimed = queue.claim(str(Queue.PULLS), "w")
    assert claimed is not None
    queue.failed(claimed, "w", "RuntimeError", None)

    assert queue.retry(waiting) is False  # not failed
    assert queue.retry(failing, workspace="T2") is False  # another workspace's
    assert queue.retry(10**6) is False  # no such task
    assert job(queue, failing).state == "failed"

    assert queue.retry(failing, workspace="T1") is True
    again = job(queue, failing)
    assert (again.state, again.error, again.scheduled_at) == ("todo", "", None)
    assert queue.retry(failing) is False  # waits already
    rerun = queue.claim(str(Queue.PULLS), "w")
    assert rerun is not None and (rerun.id, rerun.attempts) == (failing, 2)


def test_retrying_a_failed_task_while_its_queueing_lock_waits_gives_way(queue: LocalQueue
                                                                       ) -> None:
    failed = queue.defer("pulls.metric", {"metric_id": 1}, queue=Queue.PULLS, queueing_lock="m1")
    claimed = queue.claim(str(Queue.PULLS), "w")
    assert claimed is not None
    queue.failed(claimed, "w", "ConnectionError", None)
    waiting = queue.defer("pulls.metric", {"metric_id": 1}, queue=Queue.PULLS,
                          queueing_lock="m1")

    assert queue.retry(failed) is True  # the same work is queued: the waiting one
    assert queue.jobs([State.FAILED]) == []
    assert [j.id for j in queue.jobs([State.TODO])] == [waiting]


def test_defer_many_stores_a_batch_and_leaves_out_those_whose_queueing_lock_waits(
        queue: LocalQueue) -> None:
    queue.defer("pulls.metric", {"metric_id": 2}, queue=Queue.PULLS, queueing_lock="m2")
    batch = [Deferral({"metric_id": n}, lock=f"m{n}", queueing_lock=f"m{n}", priority=-n)
             for n in (1, 2, 3)]

    assert queue.defer_many("pulls.metric", batch, queue=Queue.PULLS) == 2
    assert queue.defer_many("pulls.metric", [], queue=Queue.PULLS) == 0
    waiting = queue.jobs([State.TODO])
    assert sorted(j.args["metric_id"] for j in waiting) == [1, 2, 3]
    order = [queue.claim(str(Queue.PULLS), f"w{n}") for n in range(3)]
    # The single one (priority 0) first, then the batch by its priorities.
    assert [c.args["metric_id"] for c in order if c] == [2, 1, 3]


def test_error_text_keeps_our_messages_and_only_the_type_of_foreign_ones() -> None:
    assert error_text(OutcomeError("The source answered 503; try again later")) == (
        "The source answered 503; try again later")
    assert error_text(ConnectionError("postgresql://app:s3cr3t@db/prod refused")) == (
        "ConnectionError")


# ---------------------------------------------------------------- the worker


def worker_for(queue: LocalQueue, registry: Registry, name: str = "process-a",
               threads: dict[Queue, int] | None = None) -> LocalWorker:
    return LocalWorker(queue, registry, name=name, poll=POLL,
                       threads=threads or {Queue.INTERACTIVE: 2, Queue.PULLS: 1})


def test_a_worker_runs_deferred_tasks_on_their_queues_and_removes_them(
        queue: LocalQueue, calls: Calls) -> None:
    registry = Registry()
    registry.add(recording(calls, "slack.work"))
    registry.add(recording(calls, "pulls.metric", Queue.PULLS))
    with running(worker_for(queue, registry)) as worker:
        ids = [queue.defer("slack.work", {"n": n}) for n in range(5)]
        ids.append(queue.defer("pulls.metric", {"metric_id": 9}, queue=Queue.PULLS))
        calls.wait_for(lambda: len(calls.items) == 6, "six tasks ran")
        eventually(lambda: not queue.has_work() and worker.idle(), "the worker is idle")
    assert sorted(args["n"] for args in calls.of("slack.work")) == list(range(5))
    assert calls.of("pulls.metric") == [{"metric_id": 9}]
    assert queue.jobs(ALL_STATES) == [] and None not in ids


SLOW_POLL = 120.0  # longer than DEADLINE: a task seen in time was woken for, not polled


def idle_after_first_look(clock: MovableClock, threads: int) -> None:
    """Wait until each of ``threads`` worker threads has looked for work once (and, with
    SLOW_POLL, gone to sleep)."""
    eventually(lambda: clock.reads >= threads, "every worker thread looked once")
    time.sleep(0.1)


def test_a_deferred_task_wakes_one_idle_thread_of_its_queue_only(
        queue: LocalQueue, calls: Calls, clock: MovableClock) -> None:
    registry = Registry()
    registry.add(recording(calls, "slack.work"))
    threads = {Queue.INTERACTIVE: 4, Queue.PULLS: 4, Queue.DIGESTS: 4}
    with running(LocalWorker(queue, registry, name="a", poll=SLOW_POLL, threads=threads)):
        idle_after_first_look(clock, 12)
        before = clock.reads
        queue.defer("slack.work", {"n": 1})
        calls.wait_for(lambda: len(calls.items) == 1, "the task ran before any poll")
        time.sleep(0.2)
        # the defer, the woken thread's claim, and its look for a next task: the other
        # eleven threads slept on (waking them all costs a claim query each)
        assert clock.reads - before <= 4


def test_a_task_arriving_while_a_worker_looks_is_not_missed(queue: LocalQueue) -> None:
    signal = queue.signal(Queue.PULLS)
    seen = signal.version
    queue.defer("pulls.metric", {}, queue=Queue.PULLS)  # between the look and the sleep
    started = time.monotonic()
    signal.wait(seen, SLOW_POLL)
    assert time.monotonic() - started < DEADLINE


def test_a_task_waiting_for_a_lock_held_in_another_queue_runs_when_it_is_released(
        queue: LocalQueue, calls: Calls, clock: MovableClock) -> None:
    release = threading.Event()
    registry = Registry()
    registry.add(TaskSpec("pulls.metric", lambda **_: release.wait(DEADLINE), Queue.PULLS,
                          Retry()))
    registry.add(recording(calls, "slack.work"))
    threads = {Queue.INTERACTIVE: 1, Queue.PULLS: 1}
    with running(LocalWorker(queue, registry, name="a", poll=SLOW_POLL, threads=threads)):
        idle_after_first_look(clock, 2)
        queue.defer("pulls.metric", {}, queue=Queue.PULLS, lock="metric:7")
        eventually(lambda: queue.counts().get(("pulls", "doing")), "the pull runs")
        queue.defer("slack.work", {"n": 1}, lock="metric:7")
        time.sleep(0.2)
        assert calls.items == []  # it waits for the lock
        release.set()
        calls.wait_for(lambda: len(calls.items) == 1, "the waiting task ran, unpolled")


def test_a_queue_with_no_threads_runs_nothing(queue: LocalQueue, calls: Calls,
                                              clock: MovableClock) -> None:
    registry = Registry()
    registry.add(recording(calls, "slack.work"))
    registry.add(recording(calls, "charts.review", Queue.CHARTS))
    threads = {Queue.INTERACTIVE: 1, Queue.CHARTS: 0}
    with running(worker_for(queue, registry, threads=threads)):
        chart = queue.defer("charts.review", {}, queue=Queue.CHARTS)
        queue.defer("slack.work", {})
        calls.wait_for(lambda: len(calls.items) == 1, "the interactive task ran")
        polls_pass(clock)
    assert calls.of("charts.review") == []
    waiting = job(queue, chart)
    assert (waiting.state, waiting.attempts) == ("todo", 0)


def test_a_failing_task_is_retried_after_base_to_the_n_seconds_then_fails_for_good(
        queue: LocalQueue, clock: MovableClock, calls: Calls) -> None:
    def flaky(**args: Any) -> None:
        calls.record("sync", args)
        raise RuntimeError("login failed for token xoxb-123-secret")

    registry = Registry()
    registry.add(TaskSpec("sync", flaky, Queue.INTERACTIVE, Retry(attempts=3, base=2)))
    with running(worker_for(queue, registry)):
        task = queue.defer("sync", {"workspace": "T1"})
        calls.wait_for(lambda: len(calls.items) == 1, "the first try")
        first = eventually(lambda: (j := job(queue, task)) and j.state == "todo" and j,
                           "the first try is recorded")
        assert (first.attempts, first.scheduled_at) == (1, START + timedelta(seconds=2))

        clock.advance(1.9)
        polls_pass(clock)
        assert len(calls.items) == 1  # not before 2 s
        clock.advance(0.1)
        calls.wait_for(lambda: len(calls.items) == 2, "the second try")
        second = eventually(lambda: (j := job(queue, task)) and j.attempts == 2
                            and j.state == "todo" and j, "the second try is recorded")
        assert second.scheduled_at == START + timedelta(seconds=2 + 4)

        clock.advance(3.9)
        polls_pass(clock)
        assert len(calls.items) == 2  # not before 4 s more
        clock.advance(0.1)
        calls.wait_for(lambda: len(calls.items) == 3, "the last try")
        failed = eventually(lambda: queue.jobs([State.FAILED]), "failed for good")
        polls_pass(clock)
    assert len(calls.items) == 3
    assert [(j.id, j.attempts, j.error) for j in failed] == [(task, 3, "RuntimeError")]
    stored = repr(queue.jobs(ALL_STATES))
    assert "xoxb" not in stored and "secret" not in stored


def test_a_failed_task_records_our_message_and_runs_again_on_retry(
        queue: LocalQueue, calls: Calls) -> None:
    broken = threading.Event()
    broken.set()

    def pull(**args: Any) -> None:
        calls.record("pull", args)
        if broken.is_set():
            raise OutcomeError("The source answered 503; check its connection")

    registry = Registry()
    registry.add(TaskSpec("pull", pull, Queue.PULLS, Retry(attempts=1)))
    with running(worker_for(queue, registry)) as worker:
        task = queue.defer("pull", {"workspace": "T1"}, queue=Queue.PULLS)
        failed = eventually(lambda: queue.jobs([State.FAILED]), "the task failed")
        assert [(j.id, j.attempts, j.error) for j in failed] == [
            (task, 1, "The source answered 503; check its connection")]
        assert queue.retry(task, workspace="T2") is False

        broken.clear()
        assert queue.retry(task, workspace="T1") is True
        calls.wait_for(lambda: len(calls.items) == 2, "the task ran again")
        eventually(lambda: job(queue, task) is None, "the retried task succeeded")
        eventually(worker.idle, "the worker is idle")
    assert calls.of("pull") == [{"workspace": "T1"}] * 2


def test_a_pull_that_fails_while_the_next_one_waits_gives_way_and_the_worker_goes_on(
        queue: LocalQueue, calls: Calls) -> None:
    started, release = threading.Event(), threading.Event()

    def pull(metric_id: int) -> None:
        calls.record("pull", {"metric_id": metric_id})
        if len(calls.of("pull")) == 1:
            started.set()
            assert release.wait(DEADLINE)
            raise TimeoutError("the source did not answer")

    registry = Registry()
    registry.add(TaskSpec("pull", pull, Queue.PULLS))
    with running(worker_for(queue, registry, threads={Queue.PULLS: 1})) as worker:
        key = "metric:1"
        first = queue.defer("pull", {"metric_id": 1}, queue=Queue.PULLS, lock=key,
                            queueing_lock=key)
        assert started.wait(DEADLINE)
        # The next tick finds the metric due again while the first pull still runs.
        second = queue.defer("pull", {"metric_id": 1}, queue=Queue.PULLS, lock=key,
                             queueing_lock=key)
        assert second is not None
        release.set()
        calls.wait_for(lambda: len(calls.items) == 2, "the waiting pull ran")
        eventually(lambda: worker.idle() and not queue.jobs(ALL_STATES),
                   "both pulls are done")
    assert first != second and calls.of("pull") == [{"metric_id": 1}] * 2


def test_an_unknown_task_fails_with_a_clear_error_and_leaves_the_worker_idle(
        queue: LocalQueue, calls: Calls) -> None:
    registry = Registry()
    registry.add(recording(calls, "slack.work"))
    with running(worker_for(queue, registry)) as worker:
        unknown = queue.defer("slack.gone", {"workspace": "T1"})
        queue.defer("slack.work", {})
        failed = eventually(lambda: queue.jobs([State.FAILED]), "the unknown task failed")
        calls.wait_for(lambda: len(calls.items) == 1, "the known task still ran")
        eventually(lambda: worker.idle() and not queue.has_work(), "the worker is idle")
    assert [(j.id, j.state, j.error) for j in failed] == [
        (unknown, "failed", "no task named 'slack.gone' is registered")]


def test_stopping_finishes_the_running_task_and_takes_no_new_one(
        queue: LocalQueue, calls: Calls) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(**args: Any) -> None:
        started.set()
        assert release.wait(DEADLINE)
        calls.record("slow", args)

    registry = Registry()
    registry.add(TaskSpec("slow", slow, Queue.INTERACTIVE))
    worker = worker_for(queue, registry, threads={Queue.INTERACTIVE: 1})
    worker.start()
    try:
        first = queue.defer("slow", {"n": 1})
        assert started.wait(DEADLINE)
        second = queue.defer("slow", {"n": 2})
        worker.stop(timeout=0.05)  # takes no new task; the first is still running
        assert not worker.idle()
        release.set()
    finally:
        release.set()
        worker.stop(timeout=DEADLINE)
    assert worker.idle()
    assert calls.of("slow") == [{"n": 1}]
    assert job(queue, first) is None
    left = job(queue, second)
    assert (left.state, left.attempts) == ("todo", 0)


def test_a_periodic_task_is_deferred_once_per_slot_however_often_the_ticker_looks(
        queue: LocalQueue, clock: MovableClock, calls: Calls) -> None:
    registry = Registry()
    registry.add(recording(calls, "pulls.due", Queue.SCHEDULE))
    registry.every(Periodic("pulls.due", timedelta(minutes=1)))
    with running(worker_for(queue, registry, threads={Queue.SCHEDULE: 1})):
        calls.wait_for(lambda: len(calls.items) == 1, "the first slot's run")
        polls_pass(clock, reads=60)  # the ticker and the claimer loop many times
        assert len(calls.items) == 1

        clock.advance(50)  # 55 s into the minute: the same slot
        polls_pass(clock, reads=60)
        assert len(calls.items) == 1

        clock.advance(10)  # the next minute
        calls.wait_for(lambda: len(calls.items) == 2, "the second slot's run")
        polls_pass(clock, reads=60)
        clock.advance(60 * 3)  # three slots later: one run, not one per missed slot
        calls.wait_for(lambda: len(calls.items) == 3, "the third run")
        polls_pass(clock, reads=60)
    assert calls.of("pulls.due") == [{}] * 3


def test_two_processes_on_one_database_run_each_task_exactly_once(
        engine: Engine, clock: MovableClock, calls: Calls) -> None:
    url = engine.url.render_as_string(hide_password=False)
    other_engine = make_engine(url)
    try:
        queues = [LocalQueue(session_factory(engine), clock),
                  LocalQueue(session_factory(other_engine), clock)]
        both = threading.Barrier(2, timeout=DEADLINE)
        met: dict[int, str] = {}

        def registry(name: str) -> Registry:
            def meet(n: int) -> None:
                met[n] = name
                both.wait()  # two at once, one thread per process: one in each

            registry = Registry()
            registry.add(TaskSpec("meet", meet, Queue.INTERACTIVE))
            registry.add(recording(calls, "count"))
            return registry

        pair = [LocalWorker(q, registry(name), name=name, poll=POLL,
                            threads={Queue.INTERACTIVE: 1})
                for q, name in zip(queues, ("process-a", "process-b"), strict=True)]
        with running(pair[0]), running(pair[1]):
            queues[0].defer("meet", {"n": 1})
            queues[1].defer("meet", {"n": 2})
            for n in range(40):
                queues[n % 2].defer("count", {"n": n})
            calls.wait_for(lambda: len(calls.items) >= 40, "forty tasks ran")
            eventually(lambda: not queues[0].has_work() and all(w.idle() for w in pair),
                       "both processes are idle")
            polls_pass(clock)
        assert sorted(met.values()) == ["process-a", "process-b"]
        runs = Counter(args["n"] for args in calls.of("count"))
        assert runs == Counter(range(40))
        assert queues[1].jobs(ALL_STATES) == []
    finally:
        other_engine.dispose()
