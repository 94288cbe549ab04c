"""metric guard rails

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:10:00.000000

A nullable column: the previous release neither reads nor writes it, so it keeps serving
while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metrics", sa.Column("guard_rail", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not batch mode: batch mode would
    # copy and drop `metrics`, and with foreign keys on, dropping it cascades to `samples`.
    op.drop_column("metrics", "guard_rail")
