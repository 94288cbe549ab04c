"""The closed sets of values the domain speaks in: stored as their string values."""

from __future__ import annotations

import enum


class InitiativeStatus(enum.StrEnum):
    DRAFT = "draft"
    AGREED = "agreed"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Direction(enum.StrEnum):
    """Which way a metric improves."""

    UP = "up"
    DOWN = "down"


class Origin(enum.StrEnum):
    """How a sample reached the store."""

    PULL = "pull"
    MANUAL = "manual"
    PUSH = "push"
    BACKFILL = "backfill"


class SignoffRole(enum.StrEnum):
    PRODUCT = "product"
    ENGINEERING = "engineering"


class Queue(enum.StrEnum):
    """The task queues, by kind of work: each has workers of its own, so slow work never
    delays quick work."""

    INTERACTIVE = "interactive"  # a person waits: commands, clicks (seconds)
    PULLS = "pulls"  # reads from metric sources (waits on other systems)
    DIGESTS = "digests"  # scheduled digests and their thread replies
    CHARTS = "charts"  # reviews, exports and answers with charts (CPU)
    SCHEDULE = "schedule"  # the periodic ticks that find due work and defer it
