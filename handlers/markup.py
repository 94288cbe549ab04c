"""Slack's message markup turned into the plain words the command grammar reads.

Slack wraps references in angle brackets (https://api.slack.com/reference/surfaces/formatting):
``<@U123|ana>`` for a mention, ``<#C123|team>`` for a channel, ``<!here>`` for a special
mention, ``<https://example.com|example.com>`` for a link. The grammar knows none of this:
it reads ``@U123``, ``#C123``, ``@here`` and the link as it was typed.

The ``&lt;``, ``&gt;`` and ``&amp;`` that Slack writes for what the user typed are left as
they are: replies quote the user's text back (``Unknown command '...'``) without escaping
it, and an unescaped ``<!channel>`` there would notify a whole channel. Only ``&amp;`` in
a link is unescaped (``&`` starts no markup), so ``?a=1&b=2`` reaches a source as typed.
"""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"<([^<>]*)>")
_SPECIAL = {"here", "channel", "everyone"}


def _plain(reference: str) -> str:
    target, _, label = reference.partition("|")
    if target.startswith(("@", "#")):
        return target  # the id, not the display name: names change and are not unique
    if target.startswith("!"):
        word = target[1:]
        return f"@{word}" if word in _SPECIAL else label or word  # <!subteam^S1|@team>
    return (label or target).replace("&amp;", "&")  # a link: as typed, else its address


def plain_text(slack_text: str) -> str:
    """``slack_text`` with every ``<...>`` reference unwrapped into a plain word."""
    return _REFERENCE.sub(lambda match: _plain(match[1]), slack_text)
