"""Modals: `/outcome define` and "Add metric" open forms; bad fields are answered inline."""

from __future__ import annotations

from typing import Any

from fake_slack import FakeSlack
from slack_helpers import CHANNEL, ENG, PO, Bot
from sqlalchemy import select

from bot.storage.models import Initiative, Metric

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _opened(slack: FakeSlack, count: int = 1) -> dict[str, Any]:
    return slack.wait_for(lambda: slack.ok_calls_to("views.open")[count - 1:])[0].response["view"]


def _define_values(**overrides: Any) -> dict[str, Any]:
    values = {
        "key": text("checkout"), "name": text("Faster checkout"), "why": text("More orders"),
        "who": text("Shoppers"), "how": text("Finish checkout faster"),
        "what": text("One-page checkout"),
        "channel": {"type": "conversations_select", "selected_conversation": CHANNEL},
        "po": {"type": "users_select", "selected_user": PO},
        "eng": {"type": "users_select", "selected_user": ENG},
        "sprint": text("14d"), "tz": text("Europe/Berlin"),
    }
    return values | overrides


def test_define_without_arguments_opens_the_initiative_modal(bot: Bot,
                                                            slack: FakeSlack) -> None:
    ack = bot.command("define")

    assert ack.status == 200 and ack.body == ""
    view = _opened(slack)
    assert view["callback_id"] == "outcome_define"
    block_ids = [b["block_id"] for b in view["blocks"]]
    assert block_ids == ["key", "name", "why", "who", "how", "what", "channel", "po", "eng",
                         "sprint", "tz"]


def test_a_valid_submission_closes_the_modal_and_defines_the_initiative(
        bot: Bot, slack: FakeSlack) -> None:
    bot.command("define")
    view = _opened(slack)

    result = bot.submit(view, _define_values())

    assert result.status == 200 and result.body == ""
    confirmation = slack.wait_for(lambda: slack.ok_calls_to("chat.postEphemeral"))[0]
    assert confirmation.args["user"] == PO
    assert "Defined checkout" in confirmation.args["text"]
    with bot.runtime.sessions() as session:
        initiative = session.scalar(select(Initiative))
    assert (initiative.name, initiative.channel, initiative.product_owner,
            initiative.engineering_owner, initiative.timezone) == (
        "Faster checkout", CHANNEL, PO, ENG, "Europe/Berlin")


def test_bad_fields_are_answered_inline_and_nothing_is_saved(bot: Bot,
                                                            slack: FakeSlack) -> None:
    bot.command("define")
    view = _opened(slack)

    result = bot.submit(view, _define_values(key=text("This Sprint!"), name=text(""),
                                             sprint=text("fortnight"), tz=text("Mars/Base")))

    body = result.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"key", "name", "sprint", "tz"}
    assert "cannot be used as an initiative key" in body["errors"]["key"]
    assert "sprint must be a duration" in body["errors"]["sprint"]
    assert "not an IANA time zone" in body["errors"]["tz"]
    with bot.runtime.sessions() as session:
        assert session.scalar(select(Initiative)) is None


def test_add_metric_opens_the_metric_modal_for_that_initiative(bot: Bot,
                                                              slack: FakeSlack) -> None:
    bot.command('define checkout "Faster checkout"')
    button = slack.wait_for_response(2)[1][1]["blocks"][0]["elements"][0]

    bot.click({"action_id": button["action_id"], "value": button["value"], "type": "button"})

    view = _opened(slack)
    assert view["callback_id"] == "outcome_metric"
    assert "initiative" not in [b["block_id"] for b in view["blocks"]]
    assert view["title"]["text"] == "Metric for checkout"


def test_a_metric_submission_with_errors_stays_open_then_saves(bot: Bot,
                                                              slack: FakeSlack) -> None:
    slack.users[PO]["is_admin"] = True  # a pulled source is an admin's to set
    bot.command('define checkout "Faster checkout"')
    slack.wait_for_response(2)
    bot.command("metric add checkout")
    view = _opened(slack)
    values = {
        "key": text("deploy-time"), "name": text("Deploy time"), "question": text(""),
        "source": {"type": "static_select", "selected_option": {"value": "prometheus"}},
        "config": text('{"query": "avg(deploy_seconds)", "password": "hunter2"}'),
        "unit": text("min"),
        "direction": {"type": "static_select", "selected_option": {"value": "down"}},
        "baseline": text("forty"), "target": text(""),
        "by": {"type": "datepicker", "selected_date": "2027-06-30"},
    }

    first = bot.submit(view, values).json()

    assert first["response_action"] == "errors"
    assert set(first["errors"]) == {"baseline", "target", "config"}
    assert "baseline must be a number" in first["errors"]["baseline"]

    values |= {"baseline": text("40"), "target": text("60"),
               "config": text('{"query": "avg(deploy_seconds)"}')}
    contradicting = bot.submit(view, values).json()  # down from 40 to 60: a regression

    assert contradicting["response_action"] == "errors"
    assert contradicting["errors"] == {"target": (
        "The target 60 is above the baseline 40, but direction=down: reaching the target "
        "would be reported as a regression. Use direction=up, or check the two values.")}

    values |= {"target": text("12")}
    second = bot.submit(view, values)

    assert second.status == 200 and second.body == ""
    slack.wait_for(lambda: slack.ok_calls_to("chat.postEphemeral"))
    with bot.runtime.sessions() as session:
        metric = session.scalar(select(Metric))
    assert (metric.key, metric.baseline_value, metric.target_value, metric.direction,
            metric.source_kind, metric.source_config) == (
        "deploy-time", 40.0, 12.0, "down", "prometheus", {"query": "avg(deploy_seconds)"})
    assert str(metric.target_date) == "2027-06-30"


def test_metric_modal_for_an_unknown_initiative_says_which_exist(bot: Bot,
                                                                slack: FakeSlack) -> None:
    bot.command('define checkout "Faster checkout"')
    slack.wait_for_response(2)

    bot.command("metric add onboarding")

    assert "Known initiatives: checkout" in slack.wait_for_response(3)[-1][1]["text"]
    assert not slack.calls_to("views.open")
