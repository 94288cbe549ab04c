"""A name typed to notify a channel, mention someone or disguise a link reaches Slack as
text: every user string in mrkdwn or a message's ``text`` is escaped, ``plain_text`` shows
it as typed, no message unfurls links, and the Markdown and HTML exports escape too.

The initiative is defined the two ways a member can: through the modals (Slack sends what
was typed) and through the slash command (Slack sends ``&lt;`` for a typed ``<``). Then it
goes everywhere the bot shows it, through the real signed endpoint and the fake Slack API,
and every payload the fake recorded is checked.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from fake_slack import BOT_TOKEN, FakeSlack
from slack_helpers import CHANNEL, ENG, PO, Bot
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.app.commands import execute
from bot.app.context import Actor
from bot.app.export import arc42_markdown
from bot.app.review_builder import build_review
from bot.app.services import find_initiative, record_value
from bot.core.periods import THIS_SPRINT
from bot.grammar import commands as g
from bot.render.mrkdwn import as_mrkdwn, channel_link, mention
from bot.render.text import review_html
from bot.slack.config import make_client
from bot.slack.posting import SlackPoster, explain
from bot.storage.db import transaction
from bot.storage.models import Initiative

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures

HOSTILE = ("<!channel> <!here> <@U0123ABCD> <http://evil.example|click> <!date^1^{date}|x> "
           "& <script>alert(1)</script>")
MARKUP = ("<!channel>", "<!here>", "<@U0123ABCD>", "<http://evil.example|click>", "<!date",
          "<script>")
UNIT = "<!here>&"
CHANGED_WHY = "<!channel> again & " + HOSTILE
# What the bot itself may put in mrkdwn: mentions of the stored owners, its channel link.
OWN_REFERENCE = re.compile(rf"<(?:@(?:{PO}|{ENG})|#{CHANNEL})>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def slack_escaped(typed: str) -> str:
    """What Slack sends in a slash command's text for ``typed``."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_input(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def _text_objects(node: Any) -> list[dict[str, Any]]:
    """Every Block Kit text object inside ``node``."""
    if isinstance(node, list):
        return [found for item in node for found in _text_objects(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") in {"mrkdwn", "plain_text"} else []
    return own + [found for value in node.values() for found in _text_objects(value)]


def _payloads(slack: FakeSlack) -> list[tuple[str, dict[str, Any]]]:
    """(where, payload) for every message, update and view the bot sent."""
    sent = [(call.method, call.args) for call in slack.calls if call.method in {
        "chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish",
        "views.open", "files.completeUploadExternal"}]
    return sent + [("response_url", payload) for _, payload in slack.responses]


def _slack_texts(slack: FakeSlack) -> tuple[list[tuple[str, str]], list[str]]:
    """(where, text) Slack parses as markup, and the plain_text strings, of every payload."""
    parsed, plain = [], []
    for where, args in _payloads(slack):
        for field in ("text", "initial_comment"):
            if isinstance(args.get(field), str):
                parsed.append((f"{where} {field}", args[field]))
        for obj in _text_objects([_json(args.get("blocks")), _json(args.get("view"))]):
            if obj["type"] == "mrkdwn":
                parsed.append((f"{where} mrkdwn", obj["text"]))
            else:
                plain.append(obj["text"])
    return parsed, plain


def assert_nothing_unescaped(slack: FakeSlack) -> list[str]:
    """No markup from user text in anything Slack parses; returns those texts."""
    parsed, _ = _slack_texts(slack)
    for where, text in parsed:
        for markup in MARKUP:
            assert markup not in text, (where, text)
        # Any "<" left is a reference the bot built itself; any "&" starts an entity.
        assert "<" not in OWN_REFERENCE.sub("", text), (where, text)
        assert "&" not in ENTITY.sub("", text), (where, text)
    return [text for _, text in parsed]


def _opened_view(slack: FakeSlack, count: int) -> dict[str, Any]:
    calls = slack.wait_for(lambda: (lambda c: c if len(c) >= count else None)(
        slack.ok_calls_to("views.open")))
    return calls[count - 1].response["view"]


def _request(slack: FakeSlack) -> Any:
    return slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                                   if m.text.startswith("Success criteria")])[-1]


def _define_in_modals(bot: Bot, slack: FakeSlack) -> None:
    """checkout: hostile name, why/who/how/what, metric name, question and unit."""
    bot.command("define")
    bot.submit(_opened_view(slack, 1), {
        "key": text_input("checkout"), "name": text_input(HOSTILE), "why": text_input(HOSTILE),
        "who": text_input(HOSTILE), "how": text_input(HOSTILE), "what": text_input(HOSTILE),
        "channel": {"type": "conversations_select", "selected_conversation": CHANNEL},
        "po": {"type": "users_select", "selected_user": PO},
        "eng": {"type": "users_select", "selected_user": ENG},
        "sprint": text_input("14d"), "tz": text_input("Europe/Berlin"),
    })
    slack.wait_for(lambda: slack.ok_calls_to("chat.postEphemeral"))
    bot.command("metric add checkout")
    bot.submit(_opened_view(slack, 2), {
        "key": text_input("deploy"), "name": text_input(HOSTILE),
        "question": text_input(HOSTILE),
        "source": {"type": "static_select", "selected_option": {"value": "manual"}},
        "unit": text_input(UNIT),
        "direction": {"type": "static_select", "selected_option": {"value": "down"}},
        "baseline": text_input("40"), "target": text_input("12"),
    })
    now = bot.runtime.now()
    with transaction(bot.runtime.sessions) as session:
        for days, value in ((40, 40.0), (20, 35.0), (0.001, 20.0)):
            record_value(session, Actor(bot.team, PO), "checkout", "deploy", value,
                         now - timedelta(days=days))


def _agree_with_buttons(bot: Bot, slack: FakeSlack) -> None:
    for user, role in ((PO, "product"), (ENG, "engineering")):
        request = _request(slack)
        action = f"outcome_agree_{role}"
        button = slack.wait_for(lambda action=action: next(
            (e for b in _request(slack).blocks if b["type"] == "actions"
             for e in b["elements"] if e["action_id"] == action), None))
        bot.click({"action_id": action, "value": button["value"], "type": "button"},
                  user=user, message={"ts": request.ts, "text": request.text,
                                      "blocks": request.blocks})
        slack.wait_for(lambda action=action: all(
            e["action_id"] != action for b in _request(slack).blocks
            if b["type"] == "actions" for e in b["elements"]))
    slack.wait_for(lambda: slack.thread(CHANNEL, _request(slack).ts))  # "agreed" reply


def test_user_markup_is_shown_not_obeyed_in_every_message_the_bot_sends(
        bot: Bot, slack: FakeSlack) -> None:
    _define_in_modals(bot, slack)
    _agree_with_buttons(bot, slack)
    # A change to agreed criteria is announced in the channel, old and new why included.
    bot.command(f'define checkout why="{slack_escaped(CHANGED_WHY)}"', user=ENG)
    slack.wait_for(lambda: [m for m in slack.channel_messages(CHANNEL)
                            if "changed the agreed criteria" in m.text])
    # The slash command way: Slack escapes what was typed; the bot stores it as typed.
    acks = [bot.command(f'define launch "{slack_escaped(HOSTILE)}" channel=<#{CHANNEL}|r> '
                        f"po=<@{PO}|ana> eng=<@{ENG}|eli>")]
    slack.wait_for(lambda: [p for _, p in slack.responses if "Defined launch" in p["text"]])
    acks.append(bot.command("review checkout"))
    headline = slack.wait_for(lambda: next((m for m in slack.channel_messages(CHANNEL)
                                            if m.text.startswith("Outcome review")), None))
    numbers = slack.wait_for(lambda: (lambda t: t[-1] if len(t) >= 2 else None)(
        slack.thread(CHANNEL, headline.ts)))
    button = numbers.blocks[-1]["elements"][0]
    bot.click({"action_id": button["action_id"], "value": button["value"], "type": "button"},
              user=ENG, message={"ts": numbers.ts, "text": numbers.text,
                                 "blocks": numbers.blocks})
    slack.wait_for(lambda: slack.ok_calls_to("chat.update")
                   and "Discussed" in json.dumps(numbers.blocks))
    for question, ts in (("how is checkout doing?", "1699999999.000100"),
                         ("what moved this sprint?", "1699999999.000200"),
                         (f"how is {slack_escaped('<!here>')} doing?", "1699999999.000300")):
        bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": ts,
                   "text": f"<@UBOTT1> {question}"})
        slack.wait_for(lambda ts=ts: slack.thread(CHANNEL, ts))
    for command in ("show checkout", "show launch", "list"):
        bot.command(command)
    slack.wait_for(lambda: [p for _, p in slack.responses if p["text"].startswith(
        "Initiatives:")])
    bot.event({"type": "app_home_opened", "user": PO, "channel": "DPO", "tab": "home"})
    slack.wait_for(lambda: slack.home_views.get(PO))
    bot.runtime.drain()

    texts = assert_nothing_unescaped(slack)
    texts += [ack.text for ack in acks]
    shown = "\n".join(texts)
    # Each place the issue names got the name (or a text field) and escaped it.
    escaped = slack_escaped(HOSTILE)
    assert f"Defined launch: {escaped} (draft)" in shown  # the in-channel reply to define
    assert f"Success criteria of {escaped} (revision 1)" in shown  # the request's text
    assert f"*Why:* {escaped}" in shown  # the request's blocks
    assert f"changed the agreed criteria of *{escaped}*" in shown  # the announcement
    assert headline.text.startswith(f"Outcome review: {escaped} — ")  # the fallback text
    assert f"40 → 12 {slack_escaped(UNIT)}" in shown  # the unit, in the request
    assert f"Why: {slack_escaped(CHANGED_WHY)}" in shown  # show
    assert f"• launch: {escaped} [draft]" in shown  # list
    home = json.dumps(slack.home_views[PO], ensure_ascii=False)
    assert f"*{escaped}* (`checkout`)" in home
    with bot.runtime.sessions() as session:
        names = set(session.scalars(select(Initiative.name)))
    assert names == {HOSTILE}  # stored as typed, both ways


def test_plain_text_fields_show_the_name_as_typed(bot: Bot, slack: FakeSlack) -> None:
    _define_in_modals(bot, slack)
    request = _request(slack)
    bot.command("metric add")  # the modal then asks which initiative
    bot.command("review checkout")
    slack.wait_for(lambda: next((m for m in slack.channel_messages(CHANNEL)
                                 if m.text.startswith("Outcome review")), None))
    bot.runtime.drain()

    _, plain = _slack_texts(slack)
    header = request.blocks[0]["text"]
    assert header["type"] == "plain_text"
    assert header["text"].startswith(f"Success criteria: {HOSTILE}"[:100])
    assert any(text.startswith(f"Outcome review: {HOSTILE}"[:100]) for text in plain)
    options = [o["text"]["text"] for b in _opened_view(slack, 3)["blocks"]
               for o in b.get("element", {}).get("options", [])]
    assert any(option.startswith(HOSTILE[:60]) for option in options)  # the modal's choices
    assert not any("&lt;" in text or "&amp;" in text for text in plain)


def test_no_message_the_bot_posts_unfurls_links(bot: Bot, slack: FakeSlack) -> None:
    _define_in_modals(bot, slack)
    _agree_with_buttons(bot, slack)
    bot.command(f'define launch "{slack_escaped(HOSTILE)}" channel=<#{CHANNEL}|r>')
    bot.command("review checkout")
    slack.wait_for(lambda: next((m for m in slack.channel_messages(CHANNEL)
                                 if m.text.startswith("Outcome review")), None))
    bot.event({"type": "app_mention", "user": PO, "channel": CHANNEL, "ts": "1699999999.1",
               "text": "<@UBOTT1> what moved this sprint?"})
    slack.wait_for(lambda: slack.thread(CHANNEL, "1699999999.1"))
    SlackPoster(make_client(slack.api_url, BOT_TOKEN)).nudge(PO, f"Sign *{HOSTILE}*")
    bot.runtime.drain()

    posts = slack.ok_calls_to("chat.postMessage")
    assert len(posts) >= 6  # request, "agreed", headline, numbers, answer, nudge
    for call in posts:
        assert str(call.args.get("unfurl_links")).lower() in {"false", "0"}, call.args
        assert str(call.args.get("unfurl_media")).lower() in {"false", "0"}, call.args
    # chat.update defaults to "client" formatting; the bot asks for none.
    assert all(call.args.get("parse") == "none" for call in slack.ok_calls_to("chat.update"))
    public = [p for _, p in slack.responses if p.get("response_type") == "in_channel"]
    assert public and all(p.get("unfurl_links") is False for p in public)
    nudge = next(c for c in posts if c.args["channel"] == PO)
    assert nudge.args["text"] == f"Sign *{slack_escaped(HOSTILE)}*"
    assert_nothing_unescaped(slack)


def test_the_exports_show_user_markup_as_text(bot: Bot, slack: FakeSlack) -> None:
    _define_in_modals(bot, slack)

    bot.command("export checkout format=arc42")
    upload = slack.wait_for(lambda: next((u for u in slack.uploads.values()
                                          if u.get("content") and u.get("title")), None))
    markdown = upload["content"].decode()
    with transaction(bot.runtime.sessions) as session:
        initiative = find_initiative(session, bot.team, "checkout")
        assert arc42_markdown([initiative], bot.runtime.now()).splitlines()[1:] == \
            markdown.splitlines()[1:]
        page = review_html(build_review(session, bot.team, THIS_SPRINT, bot.runtime.now()), {})

    # Markdown: no raw HTML, autolink, link or image (only the bot's own <br> in cells);
    # each character shown as typed, behind a backslash.
    assert not re.search(r"(?<!\\)(<|\]\()", markdown.replace("<br>", "")), markdown
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "\\<http://evil.example|click\\>" in markdown  # outside tables: a visible |
    assert "\\<http://evil.example\\|click\\>" in markdown  # in table cells
    assert f"# {HOSTILE}" not in markdown
    # HTML: autoescaped.
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;!channel&gt;" in page and "<!channel>" not in page
    assert_nothing_unescaped(slack)  # the upload's comment too


def test_markdown_export_neutralises_block_markup_at_line_starts(bot: Bot,
                                                                  slack: FakeSlack) -> None:
    why = "# Heading\n- item\n1. first\n> quote\n===\n| a | b |\n[x](http://evil.example)"
    execute(g.Define("lines", {"name": "Lines", "why": why}), bot.runtime.context(bot.team, PO))
    with transaction(bot.runtime.sessions) as session:
        markdown = arc42_markdown([find_initiative(session, bot.team, "lines")],
                                  bot.runtime.now())

    overview = markdown.split("### 1.1 Requirements Overview\n\n")[1].split("\n\n")[0]
    assert overview.splitlines() == ["\\# Heading", "\\- item", "1\\. first", "\\> quote",
                                     "\\===", "\\| a | b |",
                                     "\\[x\\](http://evil.example)"]


def test_only_valid_ids_become_mentions_and_channel_links() -> None:
    assert mention("U0123ABCD") == "<@U0123ABCD>" and mention("W0ENT") == "<@W0ENT>"
    assert mention("ana") == "@ana"  # a name set from the CLI: text, not a reference
    assert mention("!channel>") == "@!channel&gt;"
    assert mention("U1> <!here") == "@U1&gt; &lt;!here"
    assert channel_link("C0REVIEWS") == "<#C0REVIEWS>"
    assert channel_link("team-reviews") == "#team-reviews"
    assert channel_link("C1|x> <!channel") == "#C1|x&gt; &lt;!channel"


def _slack_error(error: str) -> SlackApiError:
    return SlackApiError("refused", {"ok": False, "error": error})


def test_a_refusal_naming_a_channel_cannot_carry_markup() -> None:
    refused = explain(_slack_error("not_in_channel"), "C1> <!channel")

    assert "#C1&gt; &lt;!channel" in refused.message and "<!channel" not in refused.message
    assert "<#C0REVIEWS>" in explain(_slack_error("not_in_channel"), "C0REVIEWS").message


def test_cut_text_never_ends_in_half_an_entity() -> None:
    assert as_mrkdwn("<" * 10, 12) == "&lt;&lt;…"
