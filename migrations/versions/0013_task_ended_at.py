"""when an embedded-mode task failed for good, so old failures can be pruned

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:30:00.000000

A task that failed for good stays in ``local_tasks`` for an admin to retry; without the
time it failed, nothing could tell a failure of last night from one of last year, and the
table would only grow. A nullable column: the release that is running neither reads nor
writes it, and rows it fails meanwhile are pruned by their creation time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("local_tasks", sa.Column("ended_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("local_tasks") as table:
        table.drop_column("ended_at")
