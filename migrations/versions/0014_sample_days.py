"""each series' samples per UTC day, kept by a trigger, for reviews that judge variation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:00:00.000000

A review judges each series against its own normal variation, learnt from about six
weeks of daily values. Aggregating them from the samples scans every sample of the window
(1.8 s for 1,000 hourly series on SQLite); ``sample_days`` holds the count and sum of each
series' samples per UTC day, so a review reads 43 rows a series instead of 1,000.

A trigger keeps it, so samples inserted by the release that is still running while this
one rolls out are counted too (samples are only inserted, or deleted with their metric,
whose days go with it). On PostgreSQL the trigger runs once per statement over the rows
it inserted (a transition table: only the rows ON CONFLICT DO NOTHING let through); on
SQLite, once per row. The days of the samples already stored are filled in afterwards:
on PostgreSQL in a transaction of its own, bounded by the last sample id seen while the
trigger was being created (under its lock, so every later sample went through it), so
writers wait only for the trigger's creation, not for the filling.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION outcome_count_sample_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sample_days (metric_id, segment, epoch_day, samples, total)
    SELECT metric_id, segment, observed_at::date - DATE '1970-01-01', count(*), sum(value)
    FROM inserted_samples GROUP BY 1, 2, 3
    ON CONFLICT (metric_id, segment, epoch_day) DO UPDATE
    SET samples = sample_days.samples + excluded.samples,
        total = sample_days.total + excluded.total;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = ("CREATE TRIGGER outcome_count_sample_days AFTER INSERT ON samples "
              "REFERENCING NEW TABLE AS inserted_samples FOR EACH STATEMENT "
              "EXECUTE FUNCTION outcome_count_sample_days()")
SQLITE_TRIGGER = """
CREATE TRIGGER outcome_count_sample_days AFTER INSERT ON samples
BEGIN
    INSERT INTO sample_days (metric_id, segment, epoch_day, samples, total)
    VALUES (new.metric_id, new.segment, CAST(strftime('%s', new.observed_at) AS INTEGER) / 86400,
            1, new.value)
    ON CONFLICT (metric_id, segment, epoch_day) DO UPDATE
    SET samples = samples + 1, total = total + excluded.total;
END
"""
PG_DAY = "observed_at::date - DATE '1970-01-01'"  # a UTC day, counted from 1970
SQLITE_DAY = "CAST(strftime('%s', observed_at) AS INTEGER) / 86400"
FILL = ("INSERT INTO sample_days (metric_id, segment, epoch_day, samples, total) "
        "SELECT metric_id, segment, {day}, count(*), sum(value) FROM samples "
        "WHERE id <= :last GROUP BY 1, 2, 3 "
        "ON CONFLICT (metric_id, segment, epoch_day) DO UPDATE "  # a day the trigger began
        "SET samples = sample_days.samples + excluded.samples, "
        "total = sample_days.total + excluded.total")


def upgrade() -> None:
    op.create_table(
        "sample_days",
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("epoch_day", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"], ["metrics.id"],
            name=op.f("fk_sample_days_metric_id_metrics"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("metric_id", "segment", "epoch_day",
                                name=op.f("pk_sample_days")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        bind.execute(sa.text("LOCK TABLE samples IN SHARE ROW EXCLUSIVE MODE"))
        op.execute(PG_TRIGGER)
        last = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM samples")).scalar()
        with op.get_context().autocommit_block():  # the trigger is in force from here
            bind.execute(sa.text(FILL.format(day=PG_DAY)), {"last": last})
    else:
        op.execute(SQLITE_TRIGGER)
        bind.execute(sa.text(FILL.format(day=SQLITE_DAY)), {"last": 2**62})


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outcome_count_sample_days"
               + (" ON samples" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS outcome_count_sample_days()")
    op.drop_table("sample_days")
