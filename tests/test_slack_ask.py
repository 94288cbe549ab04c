"""Everyday questions through the real HTTP endpoint: buttons that ask, names asked back,
follow-ups in a thread, escaping, and Slack's assistant threads."""

from __future__ import annotations

from fake_slack import FakeSlack
from slack_helpers import CHANNEL, ENG, PO, Bot, seed_checkout

from bot.app.commands import execute
from bot.grammar import commands as g

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

ASKED = "1699999999.000100"


def _mention(bot: Bot, text: str, ts: str = ASKED, **extra: object) -> None:
    result = bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": ts,
                        "text": f"<@UBOTT1> {text}", **extra})
    assert result.status == 200


def _answers(slack: FakeSlack, count: int = 1, channel: str = CHANNEL, ts: str = ASKED
             ) -> list:
    return slack.wait_for(lambda: (lambda t: t if len(t) >= count else None)(
        slack.thread(channel, ts)))


def test_an_unrecognised_question_offers_buttons_that_ask_what_it_can_answer(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    _mention(bot, "make me a sandwich")

    offer = _answers(slack)[0]
    assert offer.text.startswith("I'm not sure what you're asking. Try one of these:")
    buttons = offer.blocks[1]["elements"]
    assert len(buttons) == 3
    assert "Periods:" not in offer.text  # never the whole help text

    bot.click(buttons[1], message={"ts": offer.ts, "thread_ts": ASKED})

    answered = _answers(slack, 2)[1]
    assert answered.text.startswith("What moved, this sprint:"), answered.text


def test_help_lists_questions_in_everyday_words_with_real_names(bot: Bot,
                                                                slack: FakeSlack) -> None:
    seed_checkout(bot)
    _mention(bot, "help")

    text = _answers(slack)[0].text
    assert text.startswith("Ask me in your own words, for example:")
    assert "• How is Faster checkout doing?" in text


def test_a_follow_up_in_the_thread_keeps_the_initiative(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    _mention(bot, "how's faster checkout doing?")
    _answers(slack, 2)  # the numbers and the chart

    _mention(bot, "and who owns it?", ts="1699999999.000110", thread_ts=ASKED)

    owners = _answers(slack, 3)[2]
    assert owners.text == (f"Faster checkout (checkout): product owner {PO}, engineering "
                           f"lead {ENG}.")


def test_an_ambiguous_name_is_asked_back_with_buttons_and_answered_on_a_click(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    execute(g.Define("checkout-v2", {"name": "Faster checkout payments"}),
            bot.runtime.context(bot.team, PO))
    _mention(bot, "who owns the faster one")

    asked = _answers(slack)[0]
    assert asked.text.startswith("Which initiative do you mean?")
    buttons = asked.blocks[1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Faster checkout",
                                                   "Faster checkout payments"]

    bot.click(buttons[1], message={"ts": asked.ts, "thread_ts": ASKED})

    answer = _answers(slack, 2)[1]
    assert answer.text.startswith("Faster checkout payments (checkout-v2): product owner")


def test_names_in_an_answer_are_escaped(bot: Bot, slack: FakeSlack) -> None:
    execute(g.Define("loud", {"name": "Loud <!channel> launch"}),
            bot.runtime.context(bot.team, PO))
    _mention(bot, "who owns loud")

    answer = _answers(slack)[0]
    assert "<!channel>" not in answer.text
    assert "Loud &lt;!channel&gt; launch (loud)" in answer.text


def test_an_assistant_thread_gets_prompts_a_status_an_answer_and_a_title(
        bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot)
    thread = {"user_id": PO, "channel_id": "DPO", "thread_ts": "1699999999.000500",
              "context": {}}
    bot.event({"type": "assistant_thread_started", "assistant_thread": thread,
               "event_ts": "1699999999.000501"})

    key = ("DPO", "1699999999.000500")
    prompts = slack.wait_for(lambda: (slack.assistant_threads.get(key) or {}).get("prompts"))
    assert prompts[0] == {"title": "What moved this sprint?",
                          "message": "What moved this sprint?"}
    greeting = _answers(slack, 1, "DPO", key[1])[0]
    assert greeting.text.startswith("Hi! Ask me about your initiatives")

    bot.event({"type": "message", "channel_type": "im", "channel": "DPO", "user": PO,
               "ts": "1699999999.000600", "thread_ts": key[1],
               "text": "waht moved this sprnt?"})

    answer = _answers(slack, 2, "DPO", key[1])[1]
    assert answer.text.startswith("What moved, this sprint:")
    state = slack.wait_for(lambda: slack.assistant_threads[key]["title"] and
                           slack.assistant_threads[key])
    assert state["statuses"] == ["is reading the numbers…"]
    assert state["title"] == "waht moved this sprnt?"


def test_the_manifest_declares_the_assistant_surface_with_prompts_it_understands() -> None:
    from datetime import date
    from pathlib import Path

    import yaml

    from bot.grammar.ask import Catalogue, Question, understand

    manifest = yaml.safe_load((Path(__file__).parents[1] / "docs" / "slack-manifest.yml")
                              .read_text(encoding="utf-8"))
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"assistant_thread_started", "assistant_thread_context_changed",
            "message.im"} <= events
    prompts = manifest["features"]["assistant_view"]["suggested_prompts"]
    assert prompts and all(
        isinstance(understand(p["message"], Catalogue(), date(2026, 12, 3)), Question)
        for p in prompts)
