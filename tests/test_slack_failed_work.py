"""Failed tasks on the App Home: a workspace admin sees their workspace's, escaped, and a
Retry button runs one again; members and other workspaces' admins see none."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fake_slack import TEAM, FakeSlack
from slack_helpers import OTHER, Bot

from bot.core.errors import OutcomeError
from bot.slack.admins import WorkspaceAdmins
from bot.tasks.spec import Queue, Retry, State, TaskSpec
from handlers.home import RETRY_JOB_ACTION

pytest_plugins = ("slack_fixtures",)

ADMIN = "UADMIN"
TASK = "test.flaky"


class Flaky:
    """A task that fails until told to succeed, with a message quoting a member's text."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.succeed = False
        self.ran = threading.Event()

    def __call__(self, **args: Any) -> None:
        self.runs.append(args)
        self.ran.set()
        if not self.succeed:
            raise OutcomeError("The source said <!channel> *down*")


@pytest.fixture
def flaky(bot: Bot) -> Flaky:
    task = Flaky()
    bot.runtime.registry.add(TaskSpec(TASK, task, Queue.INTERACTIVE, Retry(attempts=1)))
    bot.runtime.admins = WorkspaceAdmins({ADMIN})  # as OUTCOME_ADMINS=UADMIN
    return task


def failed_task(bot: Bot, task: Flaky, workspace: str = TEAM) -> int:
    """Defer the flaky task and wait until its only try has failed."""
    body = {"command": "/outcome", "text": "pull <!here> `fleet`"}
    job = bot.runtime.queue.defer(TASK, {"workspace": workspace, "body": body})
    assert job is not None
    bot.slack.wait_for(lambda: [j for j in bot.runtime.queue.jobs([State.FAILED])
                                if j.id == job])
    return job


def open_home(bot: Bot, slack: FakeSlack, user: str) -> dict[str, Any]:
    slack.home_views.pop(user, None)
    bot.event({"type": "app_home_opened", "user": user, "tab": "home"})
    return slack.wait_for(lambda: slack.home_views.get(user))


def retry_buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [(block["text"]["text"], block["accessory"]["value"]) for block in view["blocks"]
            if block.get("accessory", {}).get("action_id") == RETRY_JOB_ACTION]


def test_an_admin_sees_the_failed_task_escaped_and_retries_it(
        bot: Bot, slack: FakeSlack, flaky: Flaky) -> None:
    job = failed_task(bot, flaky)

    [(text, value)] = retry_buttons(open_home(bot, slack, ADMIN))
    assert value == str(job)
    assert text == (f"#{job} /outcome pull &lt;!here&gt; `fleet` — 1 try: "
                    "The source said &lt;!channel&gt; *down*")

    flaky.succeed, flaky.ran = True, threading.Event()
    slack.home_views.pop(ADMIN, None)
    bot.click({"action_id": RETRY_JOB_ACTION, "value": value}, user=ADMIN)
    assert flaky.ran.wait(10)
    view = slack.wait_for(lambda: slack.home_views.get(ADMIN))
    texts = [e["text"] for b in view["blocks"] if b["type"] == "context"
             for e in b["elements"]]
    assert f"Task #{job} is queued again." in texts
    assert len(flaky.runs) == 2
    slack.wait_for(lambda: not bot.runtime.queue.jobs([State.TODO, State.DOING,
                                                       State.FAILED]))


def test_members_and_other_workspaces_admins_see_no_failed_task(
        bot: Bot, slack: FakeSlack, flaky: Flaky) -> None:
    failed_task(bot, flaky, workspace="T0ELSEWHERE")
    mine = failed_task(bot, flaky)

    assert retry_buttons(open_home(bot, slack, OTHER)) == []
    assert [value for _, value in retry_buttons(open_home(bot, slack, ADMIN))] == [str(mine)]


def test_a_retry_click_by_a_member_or_of_another_workspace_changes_nothing(
        bot: Bot, slack: FakeSlack, flaky: Flaky) -> None:
    elsewhere = failed_task(bot, flaky, workspace="T0ELSEWHERE")
    mine = failed_task(bot, flaky)

    def click(user: str, value: str) -> str:
        slack.home_views.pop(user, None)
        bot.click({"action_id": RETRY_JOB_ACTION, "value": value}, user=user)
        view = slack.wait_for(lambda: slack.home_views.get(user))
        return " ".join(e["text"] for b in view["blocks"] if b["type"] == "context"
                        for e in b["elements"])

    assert "Only a workspace admin can retry failed tasks." in click(OTHER, str(mine))
    assert f"Task #{elsewhere} is no longer failed" in click(ADMIN, str(elsewhere))
    assert "That button names no task." in click(ADMIN, "DROP TABLE")
    failed = {job.id for job in bot.runtime.queue.jobs([State.FAILED])}
    assert failed == {mine, elsewhere}
    assert len(flaky.runs) == 2
