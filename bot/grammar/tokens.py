"""Words of a command: splitting on whitespace and quotes, options, keys and references.

The text is plain: Slack's markup (``<@U123|ana>``) is turned into plain words
(``@U123``) by the Slack handlers before it gets here.
"""

from __future__ import annotations

import re
import shlex

from bot.core import values
from bot.core.errors import UsageError

# Phones and Slack turn straight quotes into typographic ones; shlex knows only straight.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_OPTION = re.compile(r"^([a-z][a-z-]*)=(.*)$", re.DOTALL)


def tokenize(text: str) -> list[str]:
    """Split on whitespace, honouring quotes (straight or typographic)."""
    try:
        return shlex.split(text.translate(_QUOTES))
    except ValueError as exc:
        raise UsageError(f"Could not read the command: {exc} (check your quotes).") from None


def split_options(tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Positional words, and ``name=value`` options as (name, raw value) in order."""
    positionals, options = [], []
    for token in tokens:
        match = _OPTION.match(token)
        if match:
            options.append((match[1], match[2]))
        else:
            positionals.append(token)
    return positionals, options


def expect(positionals: list[str], count: int, usage: str, what: str) -> None:
    """Exactly ``count`` positional words, or a message saying what is missing or extra."""
    if len(positionals) < count:
        raise UsageError(f"Missing {what}.", usage)
    if len(positionals) > count:
        extra = " ".join(positionals[count:])
        raise UsageError(f"Unexpected {extra!r}; quote values that contain spaces.", usage)


def parse_key(token: str, what: str, usage: str) -> str:
    """An initiative or metric key as typed; keys in commands are case-insensitive."""
    try:
        return values.parse_key(token.lower())
    except ValueError as exc:
        raise UsageError(f"{token!r} is not a valid {what} key: {exc}.", usage) from None


def parse_reference(token: str, usage: str) -> tuple[str, str]:
    """``<initiative>.<metric>`` as (initiative key, metric key)."""
    initiative, dot, metric = token.lower().partition(".")
    try:
        if dot:
            return values.parse_key(initiative), values.parse_key(metric)
    except ValueError:
        pass  # one message for every malformed reference, with an example
    raise UsageError(f"{token!r} does not name a metric; write <initiative>.<metric>, "
                     "e.g. fleet.deploy-time.", usage)
