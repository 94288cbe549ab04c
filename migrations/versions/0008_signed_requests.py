"""signed requests already accepted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:10:00.000000

The signatures of the Slack requests already acted on, shared by every replica, so a
signed request replayed within Slack's five-minute window is refused. A new table only:
the previous release never reads it, so it keeps serving while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signed_requests",
        sa.Column("signature", sa.String(length=80), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_signed_requests")),
    )
    op.create_index(op.f("ix_signed_requests_received_at"), "signed_requests",
                    ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_signed_requests_received_at"), table_name="signed_requests")
    op.drop_table("signed_requests")
