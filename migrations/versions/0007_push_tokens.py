"""push tokens per workspace

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00.000000

Hashed bearer tokens for the push endpoint, one or more per workspace. A new table only:
the previous release never reads it (it keeps using OUTCOME_PUSH_TOKEN), so it keeps
serving while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_push_tokens_token_hash")),
    )
    op.create_index(op.f("ix_push_tokens_workspace"), "push_tokens", ["workspace"])


def downgrade() -> None:
    op.drop_index(op.f("ix_push_tokens_workspace"), table_name="push_tokens")
    op.drop_table("push_tokens")
