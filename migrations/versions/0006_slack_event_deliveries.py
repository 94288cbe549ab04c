"""slack event deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 08:00:00.000000

The Events API events already taken, shared by every replica so that an event Slack
delivers twice is answered once. A new table only: the previous release never reads it,
so it keeps serving while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_event_deliveries",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_event_deliveries")),
    )
    op.create_index(op.f("ix_slack_event_deliveries_received_at"), "slack_event_deliveries",
                    ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_event_deliveries_received_at"),
                  table_name="slack_event_deliveries")
    op.drop_table("slack_event_deliveries")
