"""pull attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:00:00.000000

A new table only: the previous release never reads it, so it keeps serving while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("samples_stored", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metrics.id"],
            name=op.f("fk_pull_attempts_metric_id_metrics"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_attempts")),
    )
    op.create_index("ix_pull_attempts_metric_started", "pull_attempts",
                    ["metric_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_pull_attempts_metric_started", table_name="pull_attempts")
    op.drop_table("pull_attempts")
