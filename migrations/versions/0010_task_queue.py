"""the task queue: local_tasks (SQLite), procrastinate's schema (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000

Work that continues after Slack's ack, and scheduled work, is stored as a task before
anyone waits on it. The embedded mode keeps its tasks in ``local_tasks``; PostgreSQL
deployments use procrastinate, whose tables, types and functions are created here from the
schema the installed procrastinate ships. New objects only: the previous release never
reads them, so it keeps serving while this runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PROCRASTINATE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers",
                        "procrastinate_jobs", "procrastinate_workers")
PROCRASTINATE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
                       "procrastinate_job_status")


def upgrade() -> None:
    op.create_table(
        "local_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=128), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("lock", sa.String(length=200), nullable=True),
        sa.Column("queueing_lock", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_tasks")),
    )
    op.create_index("ix_local_tasks_state_queue", "local_tasks",
                    ["state", "queue", "priority", "id"])
    op.create_index("ix_local_tasks_lock", "local_tasks", ["lock"])
    op.create_index("uq_local_tasks_queueing_lock", "local_tasks", ["queueing_lock"],
                    unique=True, sqlite_where=sa.text("state = 'todo'"),
                    postgresql_where=sa.text("state = 'todo'"))
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Straight to psycopg, without parameters: the schema's own '%' stay literal.
        with op.get_bind().connection.driver_connection.cursor() as cursor:
            cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PROCRASTINATE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        op.execute("""
            DO $$
            DECLARE fn record;
            BEGIN
                FOR fn IN SELECT oid::regprocedure AS signature FROM pg_proc
                          WHERE proname LIKE 'procrastinate\\_%' LOOP
                    EXECUTE 'DROP ROUTINE ' || fn.signature || ' CASCADE';
                END LOOP;
            END $$;
        """)
        for type_name in PROCRASTINATE_TYPES:
            op.execute(f"DROP TYPE IF EXISTS {type_name} CASCADE")
    op.drop_index("uq_local_tasks_queueing_lock", table_name="local_tasks")
    op.drop_index("ix_local_tasks_lock", table_name="local_tasks")
    op.drop_index("ix_local_tasks_state_queue", table_name="local_tasks")
    op.drop_table("local_tasks")
