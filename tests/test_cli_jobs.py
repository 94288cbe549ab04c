"""`outcome jobs`: the operator lists the task queue and runs failed tasks again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli import main as cli
from bot.storage.db import make_engine, session_factory, upgrade
from bot.tasks.local import LocalQueue
from bot.tasks.spec import Queue, State

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
HOOK = "https://hooks.slack.com/commands/T1/123/secret-response-path"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> LocalQueue:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    return LocalQueue(session_factory(engine), lambda: NOW)


def fail(queue: LocalQueue, workspace: str, text: str) -> int:
    """A `/outcome` command's task that failed on its only try."""
    job = queue.defer("slack.work", {"work": "commands.run", "workspace": workspace,
                                     "body": {"command": "/outcome", "text": text,
                                              "response_url": HOOK}})
    claimed = queue.claim(str(Queue.INTERACTIVE), "w1")
    assert claimed is not None and claimed.id == job
    queue.failed(claimed, "w1", "The source is unreachable.", None)
    return job


def outcome(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["jobs", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_an_empty_queue_says_so(queue: LocalQueue, capsys) -> None:
    assert outcome(capsys) == (0, "Queue: empty.\nNo job in that state.\n", "")


def test_failed_tasks_are_listed_by_workspace_without_their_response_url(
        queue: LocalQueue, capsys) -> None:
    first = fail(queue, "T1", "record fleet.deploy 111")
    second = fail(queue, "T2", "pull fleet")
    waiting = queue.defer("pulls.metric", {"metric_id": 7}, queue=Queue.PULLS)

    status, out, _ = outcome(capsys)
    assert status == 0
    assert out.splitlines() == [
        "Queue: interactive failed: 2, pulls todo: 1.",
        f"#{first} failed interactive [T1] /outcome record fleet.deploy 111, 1 try: "
        "The source is unreachable.",
        f"#{second} failed interactive [T2] /outcome pull fleet, 1 try: "
        "The source is unreachable."]
    assert "secret" not in out
    assert [line.split()[0] for line in outcome(capsys, "--workspace", "T2")[1].splitlines()
            [1:]] == [f"#{second}"]
    assert outcome(capsys, "waiting")[1].splitlines()[1] == (
        f"#{waiting} todo pulls pulls.metric metric 7, 0 tries")
    assert len(outcome(capsys, "all")[1].splitlines()) == 4


def test_retrying_puts_a_failed_task_back_in_line_once(queue: LocalQueue, capsys) -> None:
    first = fail(queue, "T1", "record fleet.deploy 111")
    second = fail(queue, "T2", "pull fleet")

    assert outcome(capsys, "retry", str(first)) == (0, f"Queued again: {first}.\n", "")
    assert [job.id for job in queue.jobs([State.TODO])] == [first]
    assert outcome(capsys, "retry", str(first)) == (
        1, f"Not failed (or not there): {first}.\n", "")
    assert outcome(capsys, "retry", "failed", "--workspace", "T1") == (
        0, "No failed job to retry.\n", "")
    assert outcome(capsys, "retry", "failed") == (0, f"Queued again: {second}.\n", "")
    assert queue.jobs([State.FAILED]) == []


@pytest.mark.parametrize(("args", "says"), [
    (("retry", "abc"), "'abc' is not a job id; `outcome jobs failed` lists them."),
    (("retry",), "Usage: outcome jobs retry <id>|failed"),
    (("everything",), "Usage: outcome jobs [failed|waiting|running|all]"),
])
def test_a_wrong_word_gets_a_usage_line_and_exit_2(queue: LocalQueue, capsys, args,
                                                   says) -> None:
    status, out, err = outcome(capsys, *args)
    assert (status, out) == (2, "")
    assert err.startswith(says) and "Traceback" not in err
