"""deliverables with the metrics they move and when they shipped

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:00:00.000000

The impact map's "what" becomes first-class: each deliverable of an initiative names the
metrics it is meant to move and gets a shipped time, so a review can say what moved after
it and a chart can mark it. A new table only: the release still running during a rollout
never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliverables",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("moves", sa.JSON(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(), nullable=True),
        sa.Column("shipped_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"], ondelete="CASCADE",
                                name=op.f("fk_deliverables_initiative_id_initiatives")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverables")),
        sa.UniqueConstraint("initiative_id", "name",
                            name=op.f("uq_deliverables_initiative_id_name")),
    )
    op.create_index(op.f("ix_deliverables_initiative_id"), "deliverables", ["initiative_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deliverables_initiative_id"), table_name="deliverables")
    op.drop_table("deliverables")
