"""Reading the pull-attempt log (light: reviews import this, not the pulling machinery)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.storage.models import PullAttempt
from metrics.secrets import REDACTED, walk_secrets


def latest_attempts(session: Session, metric_ids: Iterable[int]) -> dict[int, PullAttempt]:
    """Each metric's newest pull attempt, in one statement."""
    ids = list(metric_ids)
    if not ids:
        return {}
    newest = (select(PullAttempt.metric_id, func.max(PullAttempt.started_at).label("at"))
              .where(PullAttempt.metric_id.in_(ids))
              .group_by(PullAttempt.metric_id).subquery())
    rows = session.scalars(
        select(PullAttempt).join(newest, and_(PullAttempt.metric_id == newest.c.metric_id,
                                              PullAttempt.started_at == newest.c.at))
        .order_by(PullAttempt.id))
    return {row.metric_id: row for row in rows}


def failure_reason(attempt: PullAttempt | None) -> str | None:
    """'last pull failed (permanent: fix the source): HTTP 404 ...', or None when the
    newest attempt succeeded or there was none."""
    if attempt is None or attempt.ok:
        return None
    kind = "permanent: fix the source" if attempt.permanent else "will retry"
    return f"last pull failed ({kind}): {safe_error(attempt.error)}"


def safe_error(text: str, resolved: Callable[[str], str] | None = None) -> str:
    """``text`` fit to store and show: the secret values the pull resolved (``resolved``,
    its :class:`~metrics.secrets.Redactor`) and whatever has the shape of a credential (a
    known token, an Authorization value, a URL's password, a secret query parameter)
    replaced. Errors stored by an older release are scrubbed again when shown."""
    if resolved is not None:
        text = resolved(text)
    return str(walk_secrets(text, lambda _path, _value: REDACTED))
