"""Questions in a mention or a DM are answered in a thread with numbers and a chart; the
App Home tab shows the user's initiatives."""

from __future__ import annotations

import json

import pytest
from fake_slack import FakeSlack
from slack_helpers import (
    CHANNEL,
    ENG,
    PO,
    Bot,
    seed_checkout,
    serving,
    token_config,
)

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


def _mention(bot: Bot, text: str, ts: str = "1699999999.000100", **extra: object) -> None:
    result = bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": ts,
                        "text": f"<@UBOTT1> {text}", **extra})
    assert result.status == 200


def _answers(slack: FakeSlack, ts: str, count: int = 1) -> list:
    return slack.wait_for(lambda: (lambda t: t if len(t) >= count else None)(
        slack.thread(CHANNEL, ts)))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what moved this sprint?", "What moved, this sprint:\n• Faster checkout / Deploy "
                                    "time: 35 → 20 min (-43%), improved"),
        ("what moved last quarter?", "last quarter"),
        ("what moved since Oct 1?", "What moved, since Oct 1, 20"),
        ("what regressed?", "Nothing regressed this sprint"),
        ("which metrics have no data?", "• Faster checkout / Checkout errors: no data"),
    ],
)

def test_a_question_in_a_mention_is_answered_in_its_thread(bot: Bot, slack: FakeSlack,
                                                           question: str,
                                                           expected: str) -> None:
    seed_checkout(bot)

    _mention(bot, question)

    answer = _answers(slack, "1699999999.000100")[0]
    assert expected in answer.text, answer.text


def test_what_moved_comes_with_a_chart_in_the_thread(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)

    _mention(bot, "what moved this sprint?")

    _text, chart = _answers(slack, "1699999999.000100", 2)
    assert chart.files and chart.files[0]["name"].endswith(".png")


def test_how_is_an_initiative_doing_shows_its_numbers_and_chart(bot: Bot,
                                                               slack: FakeSlack) -> None:
    seed_checkout(bot)

    _mention(bot, "how is checkout doing?")

    numbers, chart = _answers(slack, "1699999999.000100", 2)
    assert numbers.blocks[0]["text"]["text"] == "Faster checkout"
    assert "35 → 20 min" in json.dumps(numbers.blocks, ensure_ascii=False)
    assert chart.files


def test_a_dm_question_is_answered(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)

    bot.event({"type": "message", "channel_type": "im", "channel": "DPO", "user": PO,
               "ts": "1699999999.000200", "text": "what moved this sprint?"})

    answer = slack.wait_for(lambda: [m for m in slack.channel_messages("DPO")])[0]
    assert answer.thread_ts == "1699999999.000200"
    assert "What moved, this sprint" in answer.text


def test_the_bots_own_dm_messages_are_ignored(bot: Bot, slack: FakeSlack) -> None:
    bot.event({"type": "message", "channel_type": "im", "channel": "DPO", "bot_id": "B1",
               "ts": "1699999999.000300", "text": "what moved?"})
    bot.command("help")  # something to wait behind

    assert not slack.calls_to("chat.postMessage")


def test_a_retried_event_is_answered_once(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    event = {"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": "1699999999.0004",
             "text": "<@UBOTT1> which metrics have no data?"}

    bot.event(event, event_id="Ev1")
    bot.event(event, event_id="Ev1", headers={"X-Slack-Retry-Num": "1",
                                              "X-Slack-Retry-Reason": "http_timeout"})

    _answers(slack, "1699999999.0004")
    bot.command("help")
    assert len(slack.thread(CHANNEL, "1699999999.0004")) == 1


def test_an_event_delivered_again_to_another_replica_is_answered_once(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    event = {"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": "1699999999.0005",
             "text": "<@UBOTT1> which metrics have no data?"}
    with serving(slack, bot.engine, token_config(slack)) as replica:  # leaving: work done
        bot.event(event, event_id="Ev2")
        replica.event(event, event_id="Ev2", headers={"X-Slack-Retry-Num": "1",
                                                      "X-Slack-Retry-Reason": "http_timeout"})
        _answers(slack, "1699999999.0005")
    bot.runtime.drain()  # and this one's

    assert len(slack.thread(CHANNEL, "1699999999.0005")) == 1


def test_app_home_shows_the_users_initiatives_with_latest_numbers(bot: Bot,
                                                                  slack: FakeSlack) -> None:
    seed_checkout(bot)

    bot.event({"type": "app_home_opened", "user": ENG, "channel": "DENG", "tab": "home"})

    view = slack.wait_for(lambda: slack.home_views.get(ENG))
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Faster checkout* (`checkout`) — criteria draft, revision 1" in text
    assert "Deploy time: 20 min (target 12 min)" in text
    assert "Checkout errors: – (target 1%), no data" in text


def test_app_home_without_initiatives_invites_to_define_one(bot: Bot,
                                                           slack: FakeSlack) -> None:
    bot.event({"type": "app_home_opened", "user": PO, "channel": "DPO", "tab": "home"})

    view = slack.wait_for(lambda: slack.home_views.get(PO))
    assert "No initiatives yet" in json.dumps(view["blocks"])
