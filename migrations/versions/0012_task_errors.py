"""why a task failed, kept beside procrastinate's jobs (PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:00:00.000000

procrastinate records that a job failed, not why, so ``outcome jobs`` and the admins' App
Home could only say "failed". The workers now write the error of each failed try here
(our own message for our errors, only the exception's type for others: a foreign message
may quote a secret). A row goes with its job: deleting the job, as procrastinate does when
a retry succeeds, deletes it. A new table only: the release that is running never reads
it, and the foreign key is validated on an empty table, so its lock is momentary.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE IF NOT EXISTS outcome_task_errors ("
               "job_id bigint PRIMARY KEY "
               "REFERENCES procrastinate_jobs (id) ON DELETE CASCADE, "
               "error text NOT NULL, "
               "noted_at timestamptz NOT NULL DEFAULT now())")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS outcome_task_errors")
