"""What was last asked in each Slack thread, so a follow-up ("and last quarter?", "why?")
is answered about the same initiative. Threads not asked in for a month are forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.storage.db import dialect_insert
from bot.storage.models import Base, UTCDateTime

KEPT_FOR = timedelta(days=30)


class AskThread(Base):
    """The last question understood in one thread of one workspace."""

    __tablename__ = "ask_threads"
    __table_args__ = (UniqueConstraint("workspace", "channel", "thread_ts"),
                      Index("ix_ask_threads_asked_at", "asked_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    question: Mapped[dict[str, Any]] = mapped_column(JSON)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)


def recall(session: Session, workspace: str, channel: str, thread_ts: str
           ) -> dict[str, Any] | None:
    """The thread's last question as stored, or None."""
    return session.scalar(select(AskThread.question).where(
        AskThread.workspace == workspace, AskThread.channel == channel,
        AskThread.thread_ts == thread_ts))


def remember(session: Session, workspace: str, channel: str, thread_ts: str,
             question: dict[str, Any], now: datetime) -> None:
    """Keep ``question`` as the thread's last, and forget threads quiet for a month."""
    # One statement, so two answers in the same thread at once cannot both insert.
    session.execute(
        dialect_insert(session)(AskThread)
        .values(workspace=workspace, channel=channel, thread_ts=thread_ts,
                question=question, asked_at=now)
        .on_conflict_do_update(index_elements=["workspace", "channel", "thread_ts"],
                               set_={"question": question, "asked_at": now}))
    session.execute(delete(AskThread).where(AskThread.asked_at < now - KEPT_FOR))

