"""Storing pushed values: the use case behind ``POST /api/v1/push`` and ``outcome push``.

:func:`handle_push` is transport-neutral (HTTP status, JSON body): the HTTP server mounts it.
Only metrics whose source is ``push`` or ``manual`` take pushed values.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.app.services import find_initiative, find_metric
from bot.core.errors import Conflict, NotFound, OutcomeError, UsageError
from bot.core.kinds import Origin
from bot.core.points import Reading
from bot.storage.db import transaction
from bot.storage.samples import store_readings
from metrics.push import PUSHABLE_KINDS, PushedValue, parse_push


@dataclass(frozen=True)
class PushResult:
    stored: int
    duplicates: int


def store_pushed(session: Session, workspace: str, sender: str,
                 values: list[PushedValue]) -> PushResult:
    stored = 0
    for item in values:
        metric = find_metric(find_initiative(session, workspace, item.initiative), item.metric)
        if metric.source_kind not in PUSHABLE_KINDS:
            raise Conflict(f"{item.initiative}.{item.metric} is pulled from "
                           f"{metric.source_kind}; only push or manual metrics take pushed "
                           "values.")
        stored += store_readings(session, metric.id, [Reading(item.at, item.value,
                                                              item.segment)],
                                 origin=Origin.PUSH.value, recorded_by=sender)
    return PushResult(stored, len(values) - stored)


def handle_push(sessions: sessionmaker[Session], *, workspace: str, expected_token: str,
                authorization: str | None, body: bytes, now: datetime
                ) -> tuple[int, dict[str, Any]]:
    """Authenticate and store one push request; returns (HTTP status, JSON body)."""
    if not expected_token:
        return 503, {"ok": False, "error": "Pushing is not enabled on this server: set "
                     "OUTCOME_PUSH_TOKEN."}
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                            expected_token.encode()):
        return 401, {"ok": False, "error": "Send the push token as 'Authorization: Bearer "
                     "<token>'."}
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return 400, {"ok": False, "error": "The body must be JSON."}
    try:
        values = parse_push(payload, now)
        with transaction(sessions) as session:
            result = store_pushed(session, workspace, "push", values)
    except UsageError as exc:
        return 400, {"ok": False, "error": exc.message}
    except NotFound as exc:
        return 404, {"ok": False, "error": exc.message}
    except OutcomeError as exc:
        return 409, {"ok": False, "error": exc.message}
    return 200, {"ok": True, "stored": result.stored, "duplicates": result.duplicates}
