"""Push tokens: bearer tokens for ``POST /api/v1/push``, each naming one workspace.

An admin creates one (``push-token create ci-pipeline``) and sees it once; the database
keeps only its SHA-256, a short hint to tell tokens apart, who made it and when it was last
used. A push finds its workspace from the token, never from the request. The one global
``OUTCOME_PUSH_TOKEN`` of earlier releases still works, for ``OUTCOME_WORKSPACE`` only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app.context import Actor, Context, Reply
from bot.app.permissions import Action, require
from bot.app.services import record_audit
from bot.core.errors import Conflict, NotFound
from bot.grammar import commands as g
from bot.storage.models import PushToken
from metrics.push import PUSH_PATH

PREFIX = "otp_"  # recognisable in a leaked log or a secret scanner's rules
HINT_LENGTH = len(PREFIX) + 4


@dataclass(frozen=True)
class LegacyToken:
    """The deprecated global ``OUTCOME_PUSH_TOKEN``: valid for ``workspace`` only."""

    token: str
    workspace: str


@dataclass(frozen=True)
class TokenOwner:
    """Whom a presented token belongs to; ``revoked``: it no longer authenticates."""

    workspace: str
    name: str
    revoked: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _active(session: Session, workspace: str, name: str) -> PushToken | None:
    return session.scalar(select(PushToken).where(
        PushToken.workspace == workspace, PushToken.name == name,
        PushToken.revoked_at.is_(None)))


def create_token(session: Session, actor: Actor, name: str, *, now: datetime
                 ) -> tuple[PushToken, str]:
    """A new token for the actor's workspace: the row, and the token (never stored)."""
    require(actor, Action.PUSH_TOKENS)
    if _active(session, actor.workspace, name) is not None:
        raise Conflict(f"There is already a push token named {name}: revoke it first, or "
                       "choose another name.")
    token = PREFIX + secrets.token_urlsafe(32)
    row = PushToken(workspace=actor.workspace, name=name, token_hash=token_hash(token),
                    hint=token[:HINT_LENGTH], created_by=actor.user, created_at=now)
    session.add(row)
    session.flush()
    record_audit(session, actor, "push-token created", initiative=None, at=now,
                 after={"name": name, "hint": row.hint})
    return row, token


def active_tokens(session: Session, actor: Actor) -> list[PushToken]:
    require(actor, Action.PUSH_TOKENS)
    return list(session.scalars(select(PushToken).where(
        PushToken.workspace == actor.workspace, PushToken.revoked_at.is_(None))
        .order_by(PushToken.name)))


def revoke_token(session: Session, actor: Actor, name: str, *, now: datetime) -> PushToken:
    require(actor, Action.PUSH_TOKENS)
    row = _active(session, actor.workspace, name)
    if row is None:
        raise NotFound(f"There is no push token named {name} in this workspace; "
                       "`push-token list` shows them.")
    row.revoked_at = now
    record_audit(session, actor, "push-token revoked", initiative=None, at=now,
                 before={"name": name, "hint": row.hint})
    return row


def authenticate(session: Session, token: str, *, now: datetime,
                 legacy: LegacyToken | None = None) -> TokenOwner | None:
    """The owner of ``token``, or None for a token that was never issued.

    Only hashes are compared, in constant time, so neither the lookup nor the comparison
    says anything about a stored token. Using an active token records ``last_used_at``.
    """
    if legacy is not None and legacy.token and hmac.compare_digest(
            token.encode(), legacy.token.encode()):
        return TokenOwner(legacy.workspace, "OUTCOME_PUSH_TOKEN")
    digest = token_hash(token)
    row = session.scalar(select(PushToken).where(PushToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is None:
        row.last_used_at = now
    return TokenOwner(row.workspace, row.name, revoked=row.revoked_at is not None)


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if value else "never"


def run_command(command: g.PushTokenCommand, session: Session, ctx: Context) -> Reply:
    """``push-token create <name> | list | revoke <name>``; replies only to the asker."""
    if command.action == "create":
        row, token = create_token(session, ctx.actor, command.name, now=ctx.now())
        return Reply(
            f"Created push token {row.name} for this workspace. It is shown only this once: "
            f"store it in your pipeline's secrets now.\n`{token}`\n"
            f"Push a value (OUTCOME_URL: this Outcomes server's address):\n"
            f"```curl -X POST \"$OUTCOME_URL{PUSH_PATH}\" -H \"Authorization: Bearer {token}\" "
            f"-H \"Content-Type: application/json\" "
            f"-d '{{\"metric\": \"<initiative>.<metric>\", \"value\": 14.5}}'```\n"
            f"or `OUTCOME_PUSH_TOKEN={token} outcome push <initiative>.<metric> 14.5 --url "
            f"$OUTCOME_URL`. End it with `{ctx.prefix} push-token revoke {row.name}`.")
    if command.action == "revoke":
        row = revoke_token(session, ctx.actor, command.name, now=ctx.now())
        return Reply(f"Revoked push token {row.name} ({row.hint}…): pushes with it are "
                     "refused from now on.")
    rows = active_tokens(session, ctx.actor)
    if not rows:
        return Reply(f"No push tokens in this workspace. Create one with {ctx.prefix} "
                     "push-token create <name>.")
    return Reply("Push tokens (each shown only when it was created):\n" + "\n".join(
        f"• {row.name} ({row.hint}…): created by {row.created_by} on "
        f"{_when(row.created_at)}, last used {_when(row.last_used_at)}" for row in rows))
