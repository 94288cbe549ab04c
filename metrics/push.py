"""Pushed values: pipelines send numbers to an authenticated endpoint or `outcome push`.

The request body (JSON)::

    {"values": [{"metric": "fleet.deploy", "value": 12.5,
                 "at": "2026-11-20T14:30:00Z", "segment": "region=EU"}]}

or one such object on its own. A deploy pipeline also says what shipped, beside values or
alone::

    {"shipped": [{"deliverable": "fleet/Automatic rollback", "at": "2026-11-20T14:30:00Z",
                  "moves": ["deploy-time", "touchpoints"]}]}

(``at`` defaults to the receive time; ``moves`` links a new deliverable to its metrics.)
Storing is idempotent per (metric, segment, time): a
retried push is reported as a duplicate and changes nothing, so senders should set ``at``
(``outcome push`` always does). Without ``at`` the server's receive time, to the second,
is used. Only metrics whose source is ``push`` or ``manual`` take pushed values.

Storing them is :mod:`bot.app.push`; this module is the source kind, the body's format and
the client that sends it.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.core.errors import OutcomeError, UsageError
from bot.core.points import MAX_SEGMENT_LENGTH, Reading
from metrics.registry import register

PUSH_PATH = "/api/v1/push"
MAX_VALUES = 1000
PUSHABLE_KINDS = ("push", "manual")


@register("push")
class PushSource:
    """Values arrive by push; there is nothing to pull."""

    kind = "push"
    pulled = False  # values are recorded or pushed, never pulled

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def read(self, at: datetime) -> list[Reading]:
        return []


@dataclass(frozen=True)
class PushedValue:
    initiative: str
    metric: str
    value: float
    at: datetime
    segment: str = ""

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"metric": f"{self.initiative}.{self.metric}",
                                "value": self.value, "at": self.at.isoformat()}
        if self.segment:
            item["segment"] = self.segment
        return item


def _parse_item(item: Any, index: int, now: datetime) -> PushedValue:
    where = f"values[{index}]"
    if not isinstance(item, dict):
        raise UsageError(f"{where} must be an object with metric and value.")
    reference = item.get("metric")
    if not isinstance(reference, str) or reference.count(".") != 1:
        raise UsageError(f"{where}.metric must be <initiative>.<metric>, e.g. fleet.deploy.")
    initiative, metric = reference.lower().split(".")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value):
        raise UsageError(f"{where}.value must be a finite number.")
    at = _instant(item, where, now)
    segment = str(item.get("segment") or "")
    if len(segment) > MAX_SEGMENT_LENGTH or (segment and "=" not in segment):
        raise UsageError(f"{where}.segment must look like label=value (at most "
                         f"{MAX_SEGMENT_LENGTH} characters).")
    return PushedValue(initiative, metric, float(value), at, segment)


@dataclass(frozen=True)
class PushedShip:
    initiative: str
    deliverable: str
    at: datetime
    moves: tuple[str, ...] | None = None


def _instant(item: dict[str, Any], where: str, now: datetime) -> datetime:
    """The item's ``at`` (an ISO instant with a zone, not in the future), else ``now``."""
    if item.get("at") is None:
        return now.replace(microsecond=0)
    try:
        at = datetime.fromisoformat(str(item["at"]).replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{where}.at must be an ISO date-time such as "
                         "2026-11-20T14:30:00Z.") from None
    if at.tzinfo is None:
        raise UsageError(f"{where}.at needs a time zone, e.g. 2026-11-20T14:30:00Z.")
    if at > now:
        raise UsageError(f"{where}.at is in the future.")
    return at


def _parse_ship(item: Any, index: int, now: datetime) -> PushedShip:
    where = f"shipped[{index}]"
    reference = item.get("deliverable") if isinstance(item, dict) else None
    if not isinstance(reference, str) or "/" not in reference:
        raise UsageError(f"{where}.deliverable must be <initiative>/<deliverable name>, e.g. "
                         "fleet/Automatic rollback.")
    initiative, _, name = reference.partition("/")
    if not name.strip() or len(name) > 200:
        raise UsageError(f"{where}.deliverable needs a name of 1 to 200 characters after "
                         "the initiative.")
    moves = item.get("moves")
    if moves is not None and (not isinstance(moves, list)
                              or not all(isinstance(key, str) for key in moves)):
        raise UsageError(f"{where}.moves must be a list of metric keys.")
    return PushedShip(initiative.strip().lower(), name.strip(), _instant(item, where, now),
                      None if moves is None else tuple(key.lower() for key in moves))


def parse_shipped(payload: Any, now: datetime) -> list[PushedShip]:
    """The deliverables a push body says shipped (none without ``shipped``)."""
    items = payload.get("shipped", []) if isinstance(payload, dict) else []
    if not isinstance(items, list) or len(items) > MAX_VALUES:
        raise UsageError(f"shipped must be a list of at most {MAX_VALUES} deliverables.")
    return [_parse_ship(item, index, now) for index, item in enumerate(items)]


def parse_push(payload: Any, now: datetime) -> list[PushedValue]:
    """The values in a push body; :class:`UsageError` says what is malformed."""
    if isinstance(payload, dict) and "shipped" in payload and "values" not in payload:
        return []
    items = payload.get("values") if isinstance(payload, dict) and "values" in payload \
        else [payload]
    if not isinstance(items, list) or not items:
        raise UsageError("Send {\"values\": [{\"metric\": \"<initiative>.<metric>\", "
                         "\"value\": <n>, \"at\": \"<ISO time>\"}]}.")
    if len(items) > MAX_VALUES:
        raise UsageError(f"At most {MAX_VALUES} values per push.")
    return [_parse_item(item, index, now) for index, item in enumerate(items)]


def send_push(client: httpx.Client, base_url: str, token: str, values: list[PushedValue], *,
              attempts: int = 4, backoff: float = 0.5,
              sleep: Any = time.sleep) -> dict[str, Any]:
    """POST values to a server's push endpoint, retrying outages with backoff.

    Retrying is safe: every value carries its time, so a repeat is a duplicate.
    """
    url = base_url.rstrip("/") + PUSH_PATH
    body = {"values": [value.as_json() for value in values]}
    headers = {"Authorization": f"Bearer {token}"}
    last = ""
    for attempt in range(attempts):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1) * (1 + random.random() / 2))
        try:
            response = client.post(url, json=body, headers=headers, timeout=15)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__} reaching {httpx.URL(url).host}"
            continue
        if response.status_code >= 500 or response.status_code == 429:
            last = f"HTTP {response.status_code}"
            continue
        try:
            answer = response.json()
        except ValueError:
            answer = {"ok": False, "error": f"HTTP {response.status_code}, not JSON"}
        if response.status_code >= 400 or not answer.get("ok"):
            raise UsageError(f"The server refused the push: {answer.get('error', '')}")
        return answer
    raise OutcomeError(f"The push failed after {attempts} attempts ({last}); it is safe to "
                       "run it again.", permanent=False)
