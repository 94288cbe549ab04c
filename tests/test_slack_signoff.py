"""Sign-off in the review channel: Agree buttons for both owners, the message updated as
they sign, and a later change to agreed criteria announced with before → after."""

from __future__ import annotations

import json
from typing import Any

from fake_slack import FakeSlack, Message
from slack_helpers import (
    CHANNEL,
    ENG,
    PO,
    Bot,
    seed_checkout,
)
from sqlalchemy import select

from bot.app.replies import Criterion
from bot.app.signoff import CriteriaReopened, SignoffRequest
from bot.core.kinds import SignoffRole
from bot.storage.models import Initiative
from handlers.signoff import reopened_text, request_blocks

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


def _text_objects(node: Any) -> list[dict[str, Any]]:
    """Every Block Kit text object (a dict with a type and a text) inside ``node``."""
    if isinstance(node, list):
        return [found for item in node for found in _text_objects(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if isinstance(node.get("text"), str) and "type" in node else []
    return own + [found for value in node.values() for found in _text_objects(value)]


def _request(slack: FakeSlack) -> Message:
    return slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                   if m.text.startswith("Success criteria")])[-1]


def _buttons(message: Message) -> dict[str, dict[str, Any]]:
    actions = [b for b in message.blocks if b["type"] == "actions"]
    return {e["action_id"]: e for e in (actions[0]["elements"] if actions else [])}


def _click(bot: Bot, message: Message, action_id: str, user: str) -> None:
    button = _buttons(message)[action_id]
    bot.click({"action_id": action_id, "value": button["value"], "type": "button"},
              user=user, message={"ts": message.ts, "text": message.text,
                                  "blocks": message.blocks})


def _ready(bot: Bot, slack: FakeSlack) -> Message:
    bot.command(f'define checkout "Faster checkout" channel=<#{CHANNEL}|reviews> '
                f'po=<@{PO}|ana> eng=<@{ENG}|eli>')
    slack.wait_for_response(2)
    bot.command('metric add checkout deploy-time "Deploy time" baseline=40 target=12 '
                'unit=min direction=down by=2027-06-30')
    return _request(slack)


def test_ready_criteria_are_posted_with_an_agree_button_per_owner(bot: Bot,
                                                                  slack: FakeSlack) -> None:
    message = _ready(bot, slack)

    assert set(_buttons(message)) == {"outcome_agree_product", "outcome_agree_engineering"}
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Deploy time*: 40 → 12 min by 2027-06-30 (lower is better" in text
    assert f"<@{PO}> has not agreed yet" in text


def test_both_owners_agreeing_updates_the_message_and_records_it(bot: Bot,
                                                                 slack: FakeSlack) -> None:
    message = _ready(bot, slack)

    _click(bot, message, "outcome_agree_product", PO)
    # (an earlier chat.update may come from adding the metric: wait for the click's)
    slack.wait_for(lambda: set(_buttons(message)) == {"outcome_agree_engineering"})
    _click(bot, message, "outcome_agree_engineering", ENG)

    slack.wait_for(lambda: _buttons(message) == {})
    assert "Agreed (revision 1)" in json.dumps(message.blocks)
    note = slack.wait_for(lambda: slack.thread(CHANNEL, message.ts))[0]
    assert note.text.startswith(":handshake: checkout is agreed (revision 1)")
    with bot.runtime.sessions() as session:
        initiative = session.scalar(select(Initiative))
        assert initiative.status == "agreed"
        assert {(s.role, s.user) for s in initiative.signoffs} == {
            ("product", PO), ("engineering", ENG)}


def test_a_non_owner_click_is_refused_privately(bot: Bot, slack: FakeSlack) -> None:
    message = _ready(bot, slack)
    # The define's own background refresh may still update the request once; count after.
    updates_before = len(slack.ok_calls_to("chat.update"))

    _click(bot, message, "outcome_agree_product", "UOTHER")

    reply = slack.wait_for(lambda: [p for _, p in slack.responses
                                    if "Only the product owner" in p.get("text", "")])[0]
    assert reply["response_type"] == "ephemeral"
    with bot.runtime.sessions() as session:
        assert not session.scalar(select(Initiative)).signoffs
    assert all("has not agreed yet" in json.dumps(call.args.get("blocks", ""))
               for call in slack.ok_calls_to("chat.update")[updates_before:])


def test_a_change_to_agreed_criteria_is_announced_with_before_and_after(
        bot: Bot, slack: FakeSlack) -> None:
    message = _ready(bot, slack)
    _click(bot, message, "outcome_agree_product", PO)
    slack.wait_for(lambda: set(_buttons(message)) == {"outcome_agree_engineering"})
    _click(bot, message, "outcome_agree_engineering", ENG)
    slack.wait_for(lambda: _buttons(message) == {})

    bot.command("metric add checkout deploy-time target=15", user=ENG)

    announcement = slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                           if "changed the agreed criteria" in m.text])[0]
    assert f"<@{ENG}> changed the agreed criteria of *Faster checkout*" in announcement.text
    assert "metric deploy-time: target value: 12.0 → 15.0" in announcement.text
    assert "back to draft at revision 2" in announcement.text
    fresh = slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                    if m.text.endswith("(revision 2)")])[0]
    assert fresh.ts != message.ts
    assert set(_buttons(fresh)) == {"outcome_agree_product", "outcome_agree_engineering"}


def test_a_click_on_an_outdated_request_is_refused(bot: Bot, slack: FakeSlack) -> None:
    seed_checkout(bot, samples=False)
    from bot.app.commands import execute
    from bot.grammar import commands as g

    stale = {"i": "checkout", "r": 1, "role": "product"}
    execute(g.Agree("checkout"), bot.runtime.context("T1", PO))
    execute(g.Agree("checkout"), bot.runtime.context("T1", ENG))
    execute(g.MetricAdd("checkout", "deploy-time", {"target_value": 10.0}),
            bot.runtime.context("T1", ENG))

    bot.click({"action_id": "outcome_agree_product", "value": json.dumps(stale),
               "type": "button"}, user=PO, message={"ts": "1.0", "blocks": []})

    reply = slack.wait_for_response(1)[0][1]
    assert "changed since this message was posted (now revision 2)" in reply["text"]


def test_markup_in_the_criteria_is_shown_not_obeyed() -> None:
    # Text from a modal reaches the request as typed: the renderer escapes it.
    metric = Criterion("deploy", "Deploy <@U0BOSS>", "Is it <b>fast</b>?", "40 → 12 min",
                       "lower is better", "manual")
    request = SignoffRequest("checkout", "Faster <!channel> checkout", 1, "draft",
                             "<!here> ping & <https://evil|win>", "", "", "", (metric,),
                             PO, ENG, (SignoffRole.PRODUCT,))
    reopened = CriteriaReopened(CHANNEL, "checkout", "A <!channel>", ENG, 1, 2,
                                ("why: old → <!here>",))

    # Slack reads markup in mrkdwn text only; the header is plain text, shown as typed.
    mrkdwn = [node["text"] for node in _text_objects(request_blocks(request))
              if node["type"] == "mrkdwn"]
    text = "\n".join([*mrkdwn, reopened_text(reopened)])

    assert "*Why:* &lt;!here&gt; ping &amp; &lt;https://evil|win&gt;" in text
    assert "*Deploy &lt;@U0BOSS&gt;* — _Is it &lt;b&gt;fast&lt;/b&gt;?_" in text
    assert "*A &lt;!channel&gt;*" in text and "• why: old → &lt;!here&gt;" in text
    assert "<!here>" not in text and "<!channel>" not in text and "<@U0BOSS>" not in text
