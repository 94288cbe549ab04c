"""Slack mrkdwn: user text escaped, and the bot's own references built from valid ids only.

Slack reads ``<...>`` in mrkdwn and in a message's fallback ``text`` as markup: ``<!channel>``
notifies a whole channel, ``<@U123>`` mentions someone, ``<http://x|label>`` shows a link
under any label, ``<!date^…>`` renders what it likes. So every user string sent as mrkdwn
or ``text`` goes out with ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;``, ``&gt;``, the only
escaping Slack asks for (https://api.slack.com/reference/surfaces/formatting#escaping).
``*``, ``_`` and backticks stay: they only style. ``plain_text`` objects (headers, buttons,
modal titles and options) are not parsed and take text as typed: never escape those.
"""

from __future__ import annotations

import re

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def escape(text: str) -> str:
    """``text`` with the three characters Slack treats as markup turned into entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Cut mrkdwn to ``limit`` characters without splitting an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def as_mrkdwn(text: str, limit: int = 3000) -> str:
    """Plain text (e.g. an app reply shared with the CLI) as mrkdwn within ``limit``."""
    return fit(escape(text), limit)


def mention(user: str) -> str:
    """``<@U123>`` for a Slack user id; anything else (a name set from the CLI) as text."""
    if _USER_ID.fullmatch(user):
        return f"<@{user}>"
    return escape(f"@{user}") if user else "–"


def channel_link(channel: str) -> str:
    """``<#C123>`` for a Slack channel id; anything else (a channel name) as text."""
    if _CHANNEL_ID.fullmatch(channel):
        return f"<#{channel}>"
    return escape(f"#{channel}") if channel else "–"
