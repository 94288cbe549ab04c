"""The task queue across real processes: acknowledged work survives SIGKILL, runs once.

Each test runs the bot as ``python3 -m bot serve|worker`` child processes on a real
database (a SQLite file, or PostgreSQL with procrastinate), talks to it over HTTP as Slack
does (signed slash commands, answers at the fake Slack's response URLs), reads metrics
from loopback HTTP sources, and kills processes with SIGKILL at the worst moment. Time is
the wall clock in every process; what the tests seed is placed relative to it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fake_api import Answer, FakeApi
from fake_slack import TEAM, FakeSlack
from process_helpers import (
    BotProcess,
    Launcher,
    bot_environment,
    free_port,
    response_texts,
    wait_until,
)
from slack_helpers import CHANNEL, ENG, PO, migrated_engine
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from bot.app.context import Actor
from bot.app.metric_changes import define_metric
from bot.app.services import define_initiative
from bot.processes import WORKER_NICENESS
from bot.slack.work import TASK as SLACK_WORK
from bot.storage.db import session_factory, transaction
from bot.storage.models import LocalTask, PullAttempt, Sample

COMMANDS = 20
VALUES = [float(100 + n) for n in range(COMMANDS)]  # one distinct value per command
PULLED_METRICS = 1000


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(PO, "ana")
        fake.add_user(ENG, "eli")
        yield fake


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    """Starts bot processes; kills whatever still runs when the test ends (before its
    database is dropped)."""
    started = Launcher(tmp_path / "logs")
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi() as fake:
        yield fake


# ---------------------------------------------------------------------------- set-up

def seed_manual_metric(engine: Engine) -> None:
    """`checkout` owned by PO and ENG, with the manual metric `deploy-time` (min)."""
    actor = Actor(TEAM, PO)
    with transaction(session_factory(engine)) as session:
        define_initiative(session, actor, "checkout", {
            "name": "Faster checkout", "channel": CHANNEL, "product_owner": PO,
            "engineering_owner": ENG, "why": "More completed orders",
            "sprint_anchor": sprint_anchor()}, now=now())
        define_metric(session, actor, "checkout", "deploy-time", {
            "name": "Deploy time", "unit": "min", "direction": "down",
            "baseline_value": 40.0, "target_value": 12.0}, now=now())


def pulled_every(margin: timedelta = timedelta(minutes=15)) -> str:
    """A pull interval (whole minutes, about a day) whose current slot has at least
    ``margin`` left: a scheduled pull stays due, or stays done, for the whole test, at
    whatever time of day it runs."""
    stamp = int(now().timestamp())
    for minutes in range(24 * 60, 12 * 60, -1):
        period = minutes * 60
        if period - stamp % period >= margin.total_seconds():
            return f"{minutes}m"
    raise AssertionError("no interval with room left")  # the slots' ends are spread out


def connections_file(folder: Path, api: FakeApi) -> Path:
    """An operator's connections file with `api`, the loopback source (allowed)."""
    path = folder / "connections.yaml"
    path.write_text("connections:\n  api:\n    kind: http\n"
                    f"    url: {api.url()}\n    allow_private: ['127.0.0.1/32']\n")
    return path


def seed_pulled_metrics(engine: Engine, paths: list[str], every: str) -> dict[str, int]:
    """The initiative `fleet` with one http metric per path of the `api` connection;
    path -> metric id."""
    actor = Actor(TEAM, PO, admin=True)  # a pulled source is an admin's to set
    ids = {}
    with transaction(session_factory(engine)) as session:
        define_initiative(session, actor, "fleet", {
            "name": "Fleet", "channel": CHANNEL, "sprint_anchor": sprint_anchor()},
            now=now())
        for number, path in enumerate(paths):
            metric, _ = define_metric(session, actor, "fleet", f"m{number:04d}", {
                "name": f"M{number}", "target_value": 1.0, "source_kind": "http",
                "source_config": {"connection": "api", "path": path, "value": "value",
                                  "every": every}}, now=now())
            ids[path] = metric.id
    return ids


def now() -> datetime:
    return datetime.now(UTC)


def sprint_anchor() -> date:
    return (now() - timedelta(days=10)).date()


# ---------------------------------------------------------------------------- reading back

def sample_values(engine: Engine) -> list[float]:
    with Session(engine) as session:
        return sorted(session.scalars(select(Sample.value)))


def local_tasks(engine: Engine, task: str) -> int:
    """Rows of ``task`` in the embedded queue (any state)."""
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(LocalTask)
                                  .where(LocalTask.task == task)) or 0)


def procrastinate_jobs(engine: Engine, pattern: str = "%") -> Counter[str]:
    """procrastinate's jobs whose task name is LIKE ``pattern``, counted by status."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name LIKE :p "
            "GROUP BY status"), {"p": pattern})
        return Counter({status: count for status, count in rows})


def unfinished(engine: Engine, pattern: str) -> int:
    jobs = procrastinate_jobs(engine, pattern)
    return jobs["todo"] + jobs["doing"]


def send_records(web: BotProcess, slack: FakeSlack) -> None:
    """``record checkout.deploy-time <value>`` for each value, each acked at once with
    nothing to say (the answer comes at its own response URL ``r<value>``)."""
    for value in VALUES:
        ack = web.command(f"record checkout.deploy-time {value:g}",
                          slack.response_url(f"r{value:g}"))
        assert (ack.status, ack.body) == (200, ""), ack


def assert_each_record_done_once(engine: Engine, slack: FakeSlack) -> None:
    """Every value stored once, every response URL answered once, with its value."""
    assert sample_values(engine) == VALUES
    answered = response_texts(slack)
    assert {name: len(texts) for name, texts in answered.items()} == {
        f"r{value:g}": 1 for value in VALUES}
    for value in VALUES:
        assert answered[f"r{value:g}"][0].startswith(
            f"Recorded {value:g} min for checkout.deploy-time"), answered[f"r{value:g}"]


def all_answered(slack: FakeSlack) -> bool:
    return len(response_texts(slack).keys() & {f"r{value:g}" for value in VALUES}) == COMMANDS


# ---------------------------------------------------------------------------- the tests

def test_an_embedded_bot_killed_with_acked_commands_answers_each_once_after_a_restart(
        sqlite_url: str, slack: FakeSlack, launcher: Launcher) -> None:
    """Proves, for `serve` on SQLite (tasks in the same file, run in-process): a command
    acked 200 is stored before the ack, survives SIGKILL of the only process, and the same
    command restarted on the file runs it exactly once: 20 values stored once, 20 response
    URLs answered once. The one task that was running at the kill (held in a slow Slack
    call, before it stored anything) is taken over once its lease has run out.

    One interactive thread, busy with the first command while Slack's ``users.info`` (the
    admin check every command's work starts with) hangs, makes the other 19 wait in the
    file at the kill."""
    engine = migrated_engine(sqlite_url)
    seed_manual_metric(engine)
    env = bot_environment(sqlite_url, slack, port=free_port(),
                          OUTCOME_WORKER_THREADS="interactive=1,pulls=1,digests=1,charts=1,"
                                                 "schedule=1",
                          OUTCOME_WORKER_STALLED_AFTER=3)
    web = launcher.start("serve", env)
    web.wait_healthy()
    # A first request before Slack hangs: bolt may ask auth.test on it.
    assert web.command("help", slack.response_url("warm-up")).status == 200

    slack.chaos(stalls=1.0, stall_seconds=30)  # every Web API call hangs for 30 s
    send_records(web, slack)
    wait_until(lambda: slack.calls_to("users.info"), "the first command's work to start",
               [web])
    web.kill()

    assert sample_values(engine) == [] and response_texts(slack) == {}
    assert local_tasks(engine, SLACK_WORK) == COMMANDS  # stored before their acks

    slack.chaos()  # Slack answers at once again
    again = launcher.start("serve", env)
    wait_until(lambda: all_answered(slack) and not local_tasks(engine, SLACK_WORK),
               "every command answered and its task gone", [again])
    assert_each_record_done_once(engine, slack)
    assert again.stop() == 0, again.describe()
    assert_each_record_done_once(engine, slack)
    engine.dispose()


@pytest.mark.postgres
def test_commands_acked_by_a_killed_web_process_are_run_once_by_a_worker(
        postgres_url: str, slack: FakeSlack, launcher: Launcher) -> None:
    """Proves, for `serve` on PostgreSQL (a web replica: it only defers): 20 commands
    acked 200 are 20 procrastinate jobs before the web process is SIGKILLed, none run by
    it; a `worker` started afterwards runs each exactly once (20 values stored once, 20
    response URLs answered once)."""
    engine = migrated_engine(postgres_url)
    seed_manual_metric(engine)
    web = launcher.start("serve", bot_environment(postgres_url, slack, port=free_port()))
    web.wait_healthy()

    send_records(web, slack)
    web.kill()

    assert procrastinate_jobs(engine, SLACK_WORK) == {"todo": COMMANDS}
    assert sample_values(engine) == [] and response_texts(slack) == {}

    worker = launcher.start("worker", bot_environment(postgres_url, slack))
    wait_until(lambda: all_answered(slack) and not procrastinate_jobs(engine, SLACK_WORK),
               "every command answered and its job gone", [worker])
    # It yields the CPU to web processes on the same machine.
    assert niceness(worker.pid) == os.nice(0) + WORKER_NICENESS
    assert_each_record_done_once(engine, slack)
    assert worker.stop() == 0, worker.describe()
    assert_each_record_done_once(engine, slack)
    engine.dispose()


def niceness(pid: int) -> int:
    """A process's nice value, from /proc (Linux)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.postgres
def test_a_pull_whose_worker_is_killed_mid_read_completes_once_on_another_worker(
        postgres_url: str, slack: FakeSlack, launcher: Launcher, api: FakeApi,
        tmp_path: Path) -> None:
    """Proves, on PostgreSQL: a `/outcome pull` whose worker is SIGKILLed while the
    source is answering is run again by a worker started afterwards, once its dead
    worker's heartbeat is stale (OUTCOME_WORKER_STALLED_AFTER=3): one sample stored, one
    successful attempt, one answer at the command's response URL; the source was read
    twice (the dead worker's read and the new one)."""
    engine = migrated_engine(postgres_url)
    api.route("/slow", Answer(json={"value": 42}, delay=60), Answer(json={"value": 42}))
    metric_id = seed_pulled_metrics(engine, ["/slow"], pulled_every())["/slow"]
    with transaction(session_factory(engine)) as session:
        # Pulled on schedule a moment ago: the periodic pulls leave it alone this slot,
        # so every read of the source is the command's.
        session.add(PullAttempt(metric_id=metric_id, started_at=now(), duration_ms=5,
                                ok=True, samples_stored=0, trigger="schedule"))
    env = bot_environment(postgres_url, slack, OUTCOME_WORKER_STALLED_AFTER=3,
                          OUTCOME_CONNECTIONS_FILE=connections_file(tmp_path, api))
    web = launcher.start("serve", {**env, "PORT": str(free_port())})
    first = launcher.start("worker", env, name="first-worker")
    web.wait_healthy()

    ack = web.command("pull fleet", slack.response_url("pull"))
    assert (ack.status, ack.body) == (200, ""), ack
    wait_until(lambda: api.hits_of("/slow"), "the source to be asked", [web, first])
    first.kill()

    assert procrastinate_jobs(engine, SLACK_WORK) == {"doing": 1}  # held by the dead one
    assert sample_values(engine) == [] and response_texts(slack) == {}

    second = launcher.start("worker", env, name="second-worker")
    wait_until(lambda: response_texts(slack) and not procrastinate_jobs(engine, SLACK_WORK),
               "the pull answered and its job gone", [web, second])
    assert response_texts(slack) == {
        "pull": ["Pulled 1 of 1 metric(s); 1 new value(s)."]}
    assert sample_values(engine) == [42.0]
    with Session(engine) as session:
        attempts = session.scalars(select(PullAttempt).where(PullAttempt.trigger == "now"))
        assert [(a.ok, a.samples_stored) for a in attempts] == [(True, 1)]
    assert len(api.hits_of("/slow")) == 2
    assert second.stop() == 0, second.describe()
    assert web.stop() == 0, web.describe()
    engine.dispose()


@pytest.mark.postgres
def test_two_workers_pull_each_of_a_thousand_due_metrics_exactly_once(
        postgres_url: str, slack: FakeSlack, launcher: Launcher, api: FakeApi,
        tmp_path: Path) -> None:
    """Proves, on PostgreSQL: with two `worker` processes started together and 1,000
    metrics due, the minute's `pulls.due` and the `pulls.metric` tasks it defers read each
    metric once between the two workers: every metric gets one sample, with its source's
    value, and each source path is hit exactly once, by one worker or the other."""
    engine = migrated_engine(postgres_url)
    paths = [f"/m/{n}" for n in range(PULLED_METRICS)]
    for n, path in enumerate(paths):
        api.route(path, json={"value": n})
    ids = seed_pulled_metrics(engine, paths, pulled_every())
    env = bot_environment(postgres_url, slack,
                          OUTCOME_CONNECTIONS_FILE=connections_file(tmp_path, api))
    workers = [launcher.start("worker", env, name=f"worker-{n}") for n in (1, 2)]

    def pulled() -> int:
        with Session(engine) as session:
            return int(session.scalar(select(func.count(func.distinct(Sample.metric_id))))
                       or 0)

    wait_until(lambda: pulled() == PULLED_METRICS, f"{PULLED_METRICS} metrics pulled",
               workers, timeout=120, interval=0.5)
    wait_until(lambda: not unfinished(engine, "pulls.%"), "the pull tasks to finish",
               workers, timeout=60)

    assert Counter(hit.path for hit in api.hits) == Counter(paths)
    with Session(engine) as session:
        samples = sorted(session.execute(select(Sample.metric_id, Sample.value)).all())
    assert samples == sorted((ids[path], float(n)) for n, path in enumerate(paths))
    for worker in workers:
        assert worker.stop() == 0, worker.describe()
    engine.dispose()
