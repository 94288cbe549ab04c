"""Reading a submitted modal: each input's value, and an inline error per field.

Slack sends a view's state as ``{block_id: {action_id: element state}}``; every input here
uses the action id ``value``. A field that does not parse gets its own error (at most
:data:`MAX_ERROR` characters, Slack's comfortable length), so the modal stays open with
everything the user typed and every mistake shown at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.errors import UsageError
from handlers.common import plain

MAX_ERROR = 300


def field_value(values: dict[str, Any], block_id: str) -> Any:
    """The value of input ``block_id``, whatever kind of element it is."""
    element = (values.get(block_id) or {}).get("value") or {}
    kind = element.get("type")
    if kind == "plain_text_input":
        return (element.get("value") or "").strip()
    if kind in {"static_select", "radio_buttons"}:
        return (element.get("selected_option") or {}).get("value", "")
    if kind == "conversations_select":
        return element.get("selected_conversation") or ""
    if kind == "users_select":
        return element.get("selected_user") or ""
    if kind == "datepicker":
        return element.get("selected_date") or ""
    return element.get("value") or ""


class Form:
    """Reads fields, collecting an inline error per block instead of stopping at the first."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: dict[str, str] = {}

    def get(self, block_id: str) -> Any:
        return field_value(self.values, block_id)

    def parse(self, block_id: str, parse: Callable[[str, str], Any], name: str) -> Any:
        raw = self.get(block_id)
        if raw in ("", None):
            return None
        try:
            return parse(raw, name)
        except UsageError as exc:
            self.errors[block_id] = plain(exc.message, MAX_ERROR)
            return None

    def require(self, block_id: str, message: str) -> None:
        if not self.get(block_id):
            self.errors.setdefault(block_id, message)
