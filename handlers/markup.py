"""Slack's message markup, both ways: unwrapped on the way in, escaped on the way out.

In: Slack wraps references in angle brackets
(https://api.slack.com/reference/surfaces/formatting): ``<@U123|ana>`` for a mention,
``<#C123|team>`` for a channel, ``<!here>`` for a special mention,
``<https://example.com|example.com>`` for a link, and writes a typed ``&``, ``<``, ``>`` as
``&amp;``, ``&lt;``, ``&gt;``. The grammar knows none of this: it reads ``@U123``,
``#C123``, ``@here``, the link as it was typed, and every character as typed, so names are
stored (and shown by the CLI) as the user wrote them.

Out: an app reply is plain text, shared with the CLI. :func:`send_reply` escapes it, so a
typed ``<!channel>`` is shown, never obeyed; the renderers escape the user strings they
place in Block Kit mrkdwn themselves (:mod:`bot.render.mrkdwn`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.render.mrkdwn import escape

if TYPE_CHECKING:
    from slack_bolt import Respond

_TOKEN = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}
_SPECIAL = {"here", "channel", "everyone"}


def _typed(text: str) -> str:
    return _ENTITY.sub(lambda match: _CHARACTERS[match[1]], text)


def _plain(reference: str) -> str:
    target, _, label = reference.partition("|")
    if target.startswith(("@", "#")):
        return target  # the id, not the display name: names change and are not unique
    if target.startswith("!"):
        word = target[1:]
        return f"@{word}" if word in _SPECIAL else _typed(label or word)  # <!subteam^S1|@t>
    return _typed(label or target)  # a link: as typed, else its address


def _word(match: re.Match[str]) -> str:
    return _plain(match[1]) if match[1] is not None else _CHARACTERS[match[2]]


def plain_text(slack_text: str) -> str:
    """``slack_text`` as typed: every ``<...>`` reference a plain word, entities decoded.

    One pass, so ``&amp;lt;`` (a typed ``&lt;``) stays ``&lt;``.
    """
    return _TOKEN.sub(_word, slack_text)


def send_reply(respond: Respond, text: str, **options: Any) -> None:
    """Answer through the response URL with an app reply (plain text): escaped for Slack,
    without link previews. ``options``: ``response_type``, ``replace_original``, ...
    """
    respond(text=escape(text), unfurl_links=False, unfurl_media=False, **options)
