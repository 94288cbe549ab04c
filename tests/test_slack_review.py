"""`/outcome review` posts a headline and one thread reply per initiative with its chart;
Slack's refusals and rate limits are handled, never silently dropped."""

from __future__ import annotations

import json
import time

from fake_slack import FakeSlack
from slack_helpers import (
    CHANNEL,
    ENG,
    Bot,
    seed_checkout,
)
from sqlalchemy import select

from bot.slack.posting import DISCUSSED_ACTION
from bot.storage.models import AuditEvent

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


def _posted_review(bot: Bot, slack: FakeSlack) -> tuple[str, list]:
    bot.command("review")
    headline = slack.wait_for(lambda: next((m for m in slack.channel_messages(CHANNEL)
                                            if m.text.startswith("Outcome review")), None))
    # Charts first, then the numbers, whose message marks the initiative as posted.
    return headline.ts, slack.wait_for(
        lambda: thread if len(thread := slack.thread(CHANNEL, headline.ts)) >= 2 else None)


def test_a_review_is_a_headline_with_a_thread_reply_and_chart_per_initiative(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)

    ack = bot.command("review")

    assert "Building the review (this sprint)" in ack.text
    done = slack.wait_for_response(1)[0][1]
    assert done["text"].startswith(":white_check_mark: Posted the review")
    headline = next(m for m in slack.channel_messages(CHANNEL)
                    if m.text.startswith("Outcome review"))
    assert headline.thread_ts is None
    assert headline.blocks[0]["type"] == "header"
    assert headline.metadata["event_type"] == "outcome_digest"
    thread = slack.thread(CHANNEL, headline.ts)
    chart, numbers = thread
    text = json.dumps(numbers.blocks, ensure_ascii=False)
    assert "35 → 20 min" in text  # before → after with the unit
    assert numbers.blocks[-1]["elements"][0]["action_id"] == DISCUSSED_ACTION
    assert chart.files and chart.files[0]["name"].endswith(".png")
    upload = slack.uploads[chart.files[0]["id"]]
    assert upload["content"][:8] == b"\x89PNG\r\n\x1a\n"
    assert upload["thread_ts"] == headline.ts and upload["channel"] == CHANNEL
    # The current external upload flow, in order; never the retired files.upload.
    methods = [c.method for c in slack.calls if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_discussed_records_the_review_and_updates_the_message(bot: Bot,
                                                             slack: FakeSlack) -> None:
    seed_checkout(bot)
    _, (_chart, numbers) = _posted_review(bot, slack)
    button = numbers.blocks[-1]["elements"][0]

    result = bot.click({"action_id": button["action_id"], "value": button["value"],
                        "type": "button", "block_id": numbers.blocks[-1]["block_id"]},
                       user=ENG, message={"ts": numbers.ts, "text": numbers.text,
                                          "blocks": numbers.blocks})

    assert result.status == 200
    update = slack.wait_for(lambda: slack.ok_calls_to("chat.update"))[0]
    updated = json.loads(update.args["blocks"]) if isinstance(update.args["blocks"], str) \
        else update.args["blocks"]
    assert all(b["type"] != "actions" for b in updated)
    assert f"Discussed, confirmed by <@{ENG}>" in json.dumps(updated)
    with bot.runtime.sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "discussed"))
    assert event is not None and event.actor == ENG
    assert event.after == {"period": "this sprint", "channel": CHANNEL, "ts": numbers.ts}


def test_not_in_a_public_channel_joins_it_and_posts(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.set_channel_error(CHANNEL, "not_in_channel")

    _posted_review(bot, slack)

    assert CHANNEL in slack.joined


def test_not_in_a_private_channel_tells_the_user_to_invite_the_bot(bot: Bot,
                                                                  slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.channels[CHANNEL] = {"is_private": True}
    slack.set_channel_error(CHANNEL, "not_in_channel")

    bot.command("review")

    text = slack.wait_for_response(1)[0][1]["text"]
    assert "I'm not a member of <#C0REVIEWS>" in text
    assert "/invite @Outcomes" in text


def test_a_missing_channel_gets_a_clear_message(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.set_channel_error(CHANNEL, "channel_not_found")

    bot.command("review")

    text = slack.wait_for_response(1)[0][1]["text"]
    assert text.startswith("I can't find <#C0REVIEWS>")


def test_a_revoked_token_gets_a_clear_message(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.workspaces.clear()  # every token is now refused with invalid_auth

    bot.command("review")

    text = slack.wait_for_response(1)[0][1]["text"]
    assert "authorisation was refused (invalid_auth)" in text
    assert "reinstall" in text


def test_a_429_is_retried_after_retry_after(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.fail_next(1, 429, retry_after=1, method="chat.postMessage")

    _posted_review(bot, slack)

    posts = slack.calls_to("chat.postMessage")
    assert posts[0].status == 429
    assert posts[1].response["ok"]
    assert posts[1].at - posts[0].at >= 0.95


def test_server_errors_are_retried(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.fail_next(1, 503, method="files.completeUploadExternal")
    slack.fail_next(1, 500, method="chat.postMessage")

    _posted_review(bot, slack)

    statuses = [c.status for c in slack.calls if c.method in {
        "chat.postMessage", "files.completeUploadExternal"}]
    assert 500 in statuses and 503 in statuses
    assert len(slack.ok_calls_to("files.completeUploadExternal")) == 1


def test_persistent_server_errors_end_in_a_message_not_silence(bot: Bot,
                                                               slack: FakeSlack) -> None:
    seed_checkout(bot)
    slack.fail_next(10, 500, method="chat.postMessage")

    started = time.monotonic()
    bot.command("review")

    text = slack.wait_for_response(1, timeout=20)[0][1]["text"]
    assert "Slack refused the message (internal_error)" in text
    assert time.monotonic() - started < 15
