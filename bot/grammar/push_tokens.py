"""The ``push-token`` command of the grammar: ``create <name> | list | revoke <name>``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import UsageError
from bot.grammar.tokens import expect, parse_key


@dataclass(frozen=True)
class PushTokenCommand:
    """Create, list or revoke the workspace's push tokens (``name``: for create and revoke)."""

    action: str  # create | list | revoke
    name: str = ""


def parse_push_token(args: list[str], usage: str) -> PushTokenCommand:
    action = args[0].lower() if args else ""
    if action == "list":
        if args[1:]:
            raise UsageError("`push-token list` takes no arguments.", usage)
        return PushTokenCommand("list")
    if action not in {"create", "revoke"}:
        raise UsageError("Write `push-token create <name>`, `push-token list` or "
                         "`push-token revoke <name>`.", usage)
    expect(args[1:], 1, usage, "the token's name")
    return PushTokenCommand(action, parse_key(args[1], "push token", usage))
