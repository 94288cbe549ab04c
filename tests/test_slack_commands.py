"""`/outcome` and every subcommand, through the bot's real HTTP endpoint, against the fake
Slack: the ack answers at once, the work arrives through the response URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fake_slack import FakeSlack
from slack_helpers import (
    CHANNEL,
    ENG,
    PO,
    Bot,
    seed_checkout,
)
from sqlalchemy import select

from bot.slack.work import TASK, task_args
from bot.storage.models import AuditEvent, Deliverable, Initiative, Sample

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


def _last_response(slack: FakeSlack, count: int) -> dict:
    return slack.wait_for_response(count)[-1][1]


def test_help_is_answered_in_the_ack(bot: Bot) -> None:
    result = bot.command("help")

    assert result.status == 200
    # Escaped for Slack, which shows "<key>" (unescaped, it would read it as a link).
    assert "/outcome define &lt;key&gt;" in result.text
    assert "metric add" in result.text


def test_help_for_one_command_shows_its_usage(bot: Bot) -> None:
    result = bot.command("help record")

    assert result.text.startswith("/outcome record &lt;initiative&gt;.&lt;metric&gt; &lt;value&gt;")


def test_malformed_input_gets_specific_usage_in_an_ephemeral_ack(bot: Bot) -> None:
    result = bot.command("record checkout.deploy-time fast")

    assert result.status == 200
    assert "value must be a number" in result.text
    assert "Usage: `/outcome record" in result.text
    assert result.json().get("response_type") in (None, "ephemeral")


def test_an_unknown_command_suggests_the_closest(bot: Bot) -> None:
    assert "Did you mean `review`?" in bot.command("reveiw").text


def test_define_is_announced_in_the_channel_and_offers_a_metric(bot: Bot,
                                                                 slack: FakeSlack) -> None:
    result = bot.command('define checkout "Faster checkout" why="More orders"')

    assert result.status == 200 and result.body == ""
    replies = [payload for _, payload in slack.wait_for_response(2)]
    assert replies[0]["response_type"] == "in_channel"
    assert replies[0]["text"].startswith("Defined checkout: Faster checkout (draft)")
    assert replies[1]["blocks"][0]["elements"][0]["action_id"] == "outcome_add_metric"
    with bot.runtime.sessions() as session:
        initiative = session.scalar(select(Initiative).where(Initiative.key == "checkout"))
        assert initiative is not None and initiative.workspace == "T1"
        assert initiative.created_by == PO


def test_metric_remove_asks_privately_then_announces_the_removal(bot: Bot,
                                                                 slack: FakeSlack) -> None:
    seed_checkout(bot)
    bot.command('metric add checkout conv "<!channel> conversion" baseline=1 target=2')
    slack.wait_for_response(1)

    bot.command("metric remove checkout conv")
    asked = _last_response(slack, 2)
    bot.command("metric remove checkout conv confirm")
    removed = _last_response(slack, 3)

    assert asked.get("response_type") in (None, "ephemeral")
    assert asked["text"] == (
        "This removes metric checkout.conv (@channel conversion) and its 0 recorded values, "
        "and sends agreed criteria back for sign-off. To go ahead: /outcome metric remove "
        "checkout conv confirm")
    assert removed["response_type"] == "in_channel"
    assert removed["text"].startswith("Removed metric checkout.conv (@channel conversion) "
                                      "and its 0 recorded values.")
    assert "<!channel>" not in asked["text"] + removed["text"]  # nobody is pinged
    with bot.runtime.sessions() as session:
        assert [m.key for m in session.scalar(
            select(Initiative).where(Initiative.key == "checkout")).metrics] == [
            "deploy-time", "errors"]


def test_metric_add_in_text_form(bot: Bot, slack: FakeSlack) -> None:
    bot.command('define checkout "Faster checkout"')
    slack.wait_for_response(2)

    bot.command('metric add checkout deploy-time "Deploy time" baseline=40 target=12 '
                'unit=min direction=down by=2027-06-30')

    reply = _last_response(slack, 3)
    assert reply["text"].startswith("Added metric checkout.deploy-time: Deploy time "
                                    "(40 → 12 min by 2027-06-30, lower is better)")
    assert reply["response_type"] == "in_channel"


def test_a_command_mentioning_payload_is_still_a_command(bot: Bot, slack: FakeSlack) -> None:
    """A form body containing the word "payload" is not an interaction payload."""
    bot.command('define checkout "Faster checkout"')
    slack.wait_for_response(2)

    ack = bot.command('metric add checkout payload-size "Payload size" target=10 unit=KB')
    again = bot.command("payload")

    assert ack.status == 200 and _last_response(slack, 3)["text"].startswith(
        "Added metric checkout.payload-size: Payload size")
    assert again.status == 200 and "payload" in again.text


@pytest.mark.parametrize(
    ("text", "expected", "public"),
    [
        ("list", "• checkout: Faster checkout [draft] 2 metric(s)", False),
        ("show checkout", "Faster checkout (checkout) [draft, revision 1", False),
        ("record checkout.deploy-time 18", "Recorded 18 min for checkout.deploy-time", False),
        ("history checkout", "Changes to checkout, newest first", False),
        ("history checkout.deploy-time", "20", False),
        ("moved last 30 days", "What moved, last 30 days", False),
        ("schedule checkout sprint=7d", "checkout reviews: 7-day sprints", False),
        ("archive checkout", "Archived checkout", True),
    ],
)

def test_each_subcommand_answers_through_the_response_url(
        bot: Bot, slack: FakeSlack, text: str, expected: str, public: bool) -> None:
    seed_checkout(bot)

    ack = bot.command(text)

    assert ack.status == 200
    reply = _last_response(slack, 1)
    assert expected in reply["text"], reply["text"]
    assert (reply.get("response_type") == "in_channel") is public


def test_agree_by_a_non_owner_is_refused_privately(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)

    bot.command("agree checkout", user="UOTHER")

    reply = _last_response(slack, 1)
    assert "Only the owners of checkout (product UPO, engineering UENG)" in reply["text"]
    assert reply.get("response_type") == "ephemeral"


def test_agree_in_text_form_is_public(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)

    bot.command("agree checkout", user=PO)
    first = _last_response(slack, 1)
    bot.command("agree checkout", user=ENG)
    second = slack.wait_for(lambda: [p for _, p in slack.responses
                                     if "is agreed" in p.get("text", "")])[0]

    assert first["text"].startswith("Signed checkout (revision 1); waiting for the "
                                    "engineering owner")
    assert first["response_type"] == "in_channel"
    assert second["text"] == f"checkout is agreed (revision 1) by {PO} and {ENG}."


def test_an_unknown_initiative_names_the_known_ones(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)

    bot.command("show onboarding")

    assert _last_response(slack, 1)["text"] == ("No initiative 'onboarding'. Known "
                                                "initiatives: checkout.")


def test_export_is_sent_as_a_file_in_a_dm(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)

    ack = bot.command("export checkout format=csv")

    assert "I'll send it to you in a DM" in ack.text
    reply = _last_response(slack, 1)
    assert reply["text"].endswith("Sent to you in a DM.")
    complete = slack.ok_calls_to("files.completeUploadExternal")[-1]
    assert complete.args["channel_id"] == f"D{PO}"
    upload = next(iter(slack.uploads.values()))
    assert upload["filename"].endswith(".csv") and upload["content"]


def test_a_database_failure_is_a_clear_message_not_a_stack_trace(
        bot: Bot, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.app import commands

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(commands, "_execute", broken)

    bot.command("list")

    text = _last_response(slack, 1)["text"]
    assert "Something went wrong on our side and it has been logged" in text
    assert "fire" not in text and "Traceback" not in text


def test_a_shipped_task_run_twice_records_the_ship_once(bot: Bot, slack: FakeSlack) -> None:
    """As for a value: the deliverable shipped when it was asked, so a rerun changes
    nothing and the audit log has one entry."""
    seed_checkout(bot, samples=False)
    body = {"team_id": bot.team, "user_id": PO, "channel_id": CHANNEL, "command": "/outcome",
            "text": 'shipped checkout "One-click &lt;b&gt;pay&lt;/b&gt;" moves=deploy-time',
            "response_url": slack.response_url()}
    asked = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    for _ in range(2):
        bot.runtime.queue.defer(TASK, task_args("commands.run", body, bot.team, asked))
    replies = sorted(payload["text"] for _, payload in slack.wait_for_response(2))

    assert replies[0].startswith("'One-click &lt;b&gt;pay&lt;/b&gt;' of checkout already "
                                 "shipped at ")
    assert replies[1].startswith("Recorded: 'One-click &lt;b&gt;pay&lt;/b&gt;' of checkout "
                                 "shipped at ")
    with bot.runtime.sessions() as session:
        (row,) = session.scalars(select(Deliverable))
        assert row.shipped_at == asked
        assert len(session.scalars(select(AuditEvent).where(
            AuditEvent.action == "deliverable added")).all()) == 1


def test_a_record_task_run_twice_stores_its_value_once(bot: Bot, slack: FakeSlack) -> None:
    """A worker that dies after storing a value but before removing its task leaves the
    task to run again: the value's time is when it was asked, so the rerun finds it."""
    seed_checkout(bot, samples=False)
    body = {"team_id": bot.team, "user_id": PO, "channel_id": CHANNEL, "command": "/outcome",
            "text": "record checkout.deploy-time 21", "response_url": slack.response_url()}
    asked = datetime.now(UTC).replace(microsecond=0)
    for _ in range(2):  # the same stored task, run twice
        bot.runtime.queue.defer(TASK, task_args("commands.run", body, bot.team, asked))
    # The two runs may overlap on two worker threads: either may answer first.
    replies = sorted(payload["text"] for _, payload in slack.wait_for_response(2))

    assert replies[0].startswith("Recorded 21 min for checkout.deploy-time at ")
    assert replies[1].startswith("checkout.deploy-time already has a value at ")
    with bot.runtime.sessions() as session:
        assert [s.value for s in session.scalars(select(Sample))] == [21.0]
