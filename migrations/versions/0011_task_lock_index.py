"""an index for procrastinate's lock check when it fetches a job (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 20:00:00.000000

Each fetch asks, for every waiting job with a lock, whether another job of that lock is
running or waiting ahead of it. procrastinate's own indexes start with the job's id, so
until PostgreSQL has statistics on a batch just deferred (autovacuum analyzes within about
a minute) that question scans the jobs: measured with 2,000 pulls waiting, 170 ms a fetch;
with 8,000, 2.2 s. An index on (lock, priority, id) of the waiting and running jobs answers
it by lookup: 10 ms and 35 ms (about 1 ms either way once the statistics are there).
It is built CONCURRENTLY, so the release that is running keeps deferring and fetching while
it is built. Measured by ``python bench/task_queue.py --part fetch``.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "outcome_procrastinate_jobs_lock_todo_doing"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
                   "ON procrastinate_jobs (lock, priority, id) "
                   "WHERE status IN ('todo', 'doing')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
