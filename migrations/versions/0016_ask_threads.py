"""ask_threads: the last question asked in each Slack thread, for follow-ups

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:40:00.000000

A follow-up in a thread ("and last quarter?", "why?") is answered about what the thread
asked before. A new table only: the release still running during a rollout never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ask_threads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("question", sa.JSON(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ask_threads")),
        sa.UniqueConstraint("workspace", "channel", "thread_ts",
                            name=op.f("uq_ask_threads_workspace_channel_thread_ts")),
    )
    op.create_index("ix_ask_threads_asked_at", "ask_threads", ["asked_at"])


def downgrade() -> None:
    op.drop_index("ix_ask_threads_asked_at", table_name="ask_threads")
    op.drop_table("ask_threads")
