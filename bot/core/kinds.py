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
