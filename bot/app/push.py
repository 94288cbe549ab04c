"""Storing pushed values: the use case behind ``POST /api/v1/push`` and ``outcome push``.

:func:`handle_push` is transport-neutral (HTTP status, JSON body): the HTTP server mounts it.
The push token (:mod:`bot.app.push_tokens`) decides the workspace. Only metrics whose
source is ``push`` or ``manual`` take pushed values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.app.context import Actor
from bot.app.deliverables import set_deliverable
from bot.app.push_tokens import LegacyToken, authenticate
from bot.app.services import find_initiative, find_metric
from bot.core.errors import Conflict, Forbidden, NotFound, OutcomeError, UsageError
from bot.core.kinds import Origin
from bot.core.points import Reading
from bot.storage.db import transaction
from bot.storage.samples import store_readings
from metrics.push import PUSHABLE_KINDS, PushedValue, parse_push, parse_shipped


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


def handle_push(sessions: sessionmaker[Session], *, workspace: str | None,
                authorization: str | None, body: bytes, now: datetime,
                legacy: LegacyToken | None = None) -> tuple[int, dict[str, Any]]:
    """Authenticate and store one push request; returns (HTTP status, JSON body).

    The token decides the workspace; ``workspace`` (the request's ``?workspace=``, if any)
    must name the same one.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return 401, {"ok": False, "error": "Send a push token as 'Authorization: Bearer "
                     "<token>'; a workspace admin creates one with `/outcome push-token "
                     "create <name>`."}
    with transaction(sessions) as session:
        owner = authenticate(session, token, now=now, legacy=legacy)
    if owner is None or owner.revoked:
        what = f"was revoked ({owner.name})" if owner else "is not a push token of this server"
        return 401, {"ok": False, "error": f"This token {what}; ask a workspace admin for a "
                     "new one (`/outcome push-token create <name>`)."}
    if workspace and workspace != owner.workspace:
        workspace = workspace[:64]
        return 403, {"ok": False, "error": f"This push token belongs to workspace "
                     f"{owner.workspace}, not {workspace}: leave out ?workspace= or use a "
                     f"token created in {workspace}. Nothing was stored."}
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return 400, {"ok": False, "error": "The body must be JSON."}
    sender = f"push:{owner.name}"[:64]
    try:
        values, ships = parse_push(payload, now), parse_shipped(payload, now)
        with transaction(sessions) as session:
            result = store_pushed(session, owner.workspace, sender, values)
            shipped = sum(set_deliverable(
                session, Actor(owner.workspace, sender), ship.initiative, ship.deliverable,
                now=now, moves=ship.moves, shipped_at=ship.at).changed for ship in ships)
    except UsageError as exc:
        return 400, {"ok": False, "error": exc.message}
    except Forbidden as exc:
        return 403, {"ok": False, "error": exc.message}
    except NotFound as exc:
        return 404, {"ok": False, "error": exc.message}
    except OutcomeError as exc:
        return 409, {"ok": False, "error": exc.message}
    return 200, {"ok": True, "stored": result.stored, "duplicates": result.duplicates,
                 "shipped": shipped}
