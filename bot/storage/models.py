"""SQLAlchemy models: initiatives (Impact Mapping), metrics (GQM), samples, sign-offs, audit.

The schema is built and changed by Alembic only (``outcome db upgrade``); these classes are
the single metadata that migrations are checked against.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.core.clock import system_clock
from bot.core.kinds import Direction, InitiativeStatus, Origin

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Initiative(Base):
    """An initiative's success criteria in Impact-Mapping form, scoped to a workspace."""

    __tablename__ = "initiatives"
    __table_args__ = (UniqueConstraint("workspace", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    why: Mapped[str] = mapped_column(Text, default="")
    who: Mapped[str] = mapped_column(Text, default="")
    how: Mapped[str] = mapped_column(Text, default="")
    what: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(64), default="")
    product_owner: Mapped[str] = mapped_column(String(64), default="")
    engineering_owner: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=InitiativeStatus.DRAFT.value)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    sprint_days: Mapped[int] = mapped_column(Integer, default=14)
    sprint_anchor: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock,
                                                 onupdate=system_clock)
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    metrics: Mapped[list[Metric]] = relationship(
        back_populates="initiative", order_by="Metric.id", cascade="all, delete-orphan"
    )
    signoffs: Mapped[list[Signoff]] = relationship(
        back_populates="initiative", order_by="Signoff.id", cascade="all, delete-orphan"
    )
    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="initiative", order_by="Deliverable.id", cascade="all, delete-orphan"
    )


class Metric(Base):
    """One metric in Goal-Question-Metric form with its baseline, target and source."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("initiative_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(32), default="")
    direction: Mapped[str] = mapped_column(String(8), default=Direction.UP.value)
    baseline_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    target_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    noise: Mapped[float] = mapped_column(Float, default=0.0)
    stale_after_seconds: Mapped[int] = mapped_column(Integer, default=7 * 86400)
    source_kind: Mapped[str] = mapped_column(String(32), default="manual")
    source_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)
    # A limit the latest value must never cross (e.g. error rate at most 2 %), on the bad
    # side of ``direction``; `outcome check` fails when it is crossed. None: no guard rail.
    guard_rail: Mapped[float | None] = mapped_column(Float, nullable=True)

    initiative: Mapped[Initiative] = relationship(back_populates="metrics")


class Sample(Base):
    """One observed value of a metric; ``segment`` is '' for the total, else 'label=value'."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("metric_id", "segment", "observed_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"))
    segment: Mapped[str] = mapped_column(String(128), default="")
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(16), default=Origin.MANUAL.value)
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)


class MetricSegment(Base):
    """Each (metric, segment) that has samples: lets a review find every series of many
    metrics without scanning their samples."""

    __tablename__ = "metric_segments"

    metric_id: Mapped[int] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(128), primary_key=True)


class SampleDay(Base):
    """Each series' samples of one UTC day (days since 1970-01-01), counted and summed:
    what a review judges a series' variation by, read without scanning its samples. Kept
    by a trigger on every insert into ``samples`` (migration 0014), whichever release
    inserts; samples are only ever inserted, or deleted with their metric."""

    __tablename__ = "sample_days"

    metric_id: Mapped[int] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[str] = mapped_column(String(128), primary_key=True)
    epoch_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)


class Signoff(Base):
    """One owner's agreement to one revision of an initiative's criteria."""

    __tablename__ = "signoffs"
    __table_args__ = (UniqueConstraint("initiative_id", "revision", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)

    initiative: Mapped[Initiative] = relationship(back_populates="signoffs")


class Deliverable(Base):
    """A deliverable of an initiative (the impact map's What): the metrics it is meant to
    move (their keys) and when it shipped (None: not yet)."""

    __tablename__ = "deliverables"
    __table_args__ = (UniqueConstraint("initiative_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    moves: Mapped[list[str]] = mapped_column(JSON, default=list)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    initiative: Mapped[Initiative] = relationship(back_populates="deliverables")


class AuditEvent(Base):
    """Who changed what, when, with the state before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_workspace_at", "workspace", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    workspace: Mapped[str] = mapped_column(String(64))
    initiative_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiatives.id", ondelete="SET NULL"), nullable=True, index=True
    )
    metric_id: Mapped[int | None] = mapped_column(
        ForeignKey("metrics.id", ondelete="SET NULL"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)


class DigestSchedule(Base):
    """When a channel gets its review digest: sprint retros or quarterly reviews.

    ``scope`` is ``channel`` (every initiative reviewed in the channel) or
    ``initiative:<key>``. Times are wall-clock in ``timezone``.
    """

    __tablename__ = "digest_schedules"
    __table_args__ = (UniqueConstraint("workspace", "channel", "scope", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(80), default="channel")
    kind: Mapped[str] = mapped_column(String(16))  # sprint | quarter
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    local_time: Mapped[str] = mapped_column(String(5), default="09:00")
    retro_weekday: Mapped[int] = mapped_column(Integer, default=4)  # Monday = 0
    lead_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    days_before: Mapped[int] = mapped_column(Integer, default=3)
    sprint_days: Mapped[int] = mapped_column(Integer, default=14)
    sprint_anchor: Mapped[date] = mapped_column(Date)
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock)


class RunClaim(Base):
    """A claim on one scheduled action (a digest for a period, a nudge): the database,
    not the scheduler, decides who does it, so it happens once however many processes run.
    """

    __tablename__ = "run_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # digest | nudge
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest_schedules.id", ondelete="CASCADE"), nullable=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(64), default="")
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))  # claimed | paused | done | failed | missed
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    message_ts: Mapped[str] = mapped_column(String(32), default="")
    progress: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=system_clock,
                                                 onupdate=system_clock)


class PullAttempt(Base):
    """One pull of a metric's source: when, how long, and what came of it.

    ``permanent`` tells a bad query, a 404 or refused credentials (which need a person)
    from an outage that the next pull may get past; ``tries`` counts retries within it.
    """

    __tablename__ = "pull_attempts"
    __table_args__ = (Index("ix_pull_attempts_metric_started", "metric_id", "started_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    metric_id: Mapped[int] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    samples_stored: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule|now|backfill


class SlackEventDelivery(Base):
    """An Events API event some replica has taken. Slack delivers an event again when
    its ack was slow or lost, maybe to another replica; the first to insert answers."""

    __tablename__ = "slack_event_deliveries"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PushToken(Base):
    """A bearer token a pipeline sends to the push endpoint. Only its SHA-256 is kept:
    the token is shown once, when an admin creates it, and names its workspace."""

    __tablename__ = "push_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the token's first characters, to tell it apart
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignedRequest(Base):
    """A signed Slack request already accepted, by its signature: the same request sent
    again within Slack's five-minute window is refused instead of acted on twice."""

    __tablename__ = "signed_requests"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LocalTask(Base):
    """A task of the embedded mode (SQLite): written before Slack's ack, run by the
    process's own workers, kept when it failed for good. PostgreSQL deployments queue on
    procrastinate's tables instead, and leave this one empty."""

    __tablename__ = "local_tasks"
    __table_args__ = (
        Index("ix_local_tasks_state_queue", "state", "queue", "priority", "id"),
        Index("ix_local_tasks_lock", "lock"),
        Index("uq_local_tasks_queueing_lock", "queueing_lock", unique=True,
              sqlite_where=text("state = 'todo'"), postgresql_where=text("state = 'todo'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    lock: Mapped[str | None] = mapped_column(String(200), nullable=True)
    queueing_lock: Mapped[str | None] = mapped_column(String(200), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # todo | doing | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # failed
    error: Mapped[str] = mapped_column(Text, default="")
