"""What every use case is given and gives back, whichever transport called it.

A transport (the CLI, a Slack listener, the HTTP push endpoint) builds a :class:`Context`
with who is acting, the database sessions and a clock; the use case answers with a
:class:`Reply` that each transport renders its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock
from bot.core.periods import week_start
from bot.core.review import Review
from bot.core.settings import Settings
from metrics.connections import Connections
from metrics.resources import Resources, open_resources


@dataclass(frozen=True)
class Actor:
    """Who acts, in which workspace (a Slack team id, or the CLI's workspace).

    ``admin``: an Outcomes admin of that workspace (a Slack admin or owner, or named in
    ``OUTCOME_ADMINS``); ``operator``: the person running the bot's own CLI, who may do
    everything an admin may.
    """

    workspace: str
    user: str
    admin: bool = False
    operator: bool = False


@dataclass(frozen=True)
class Defaults:
    """The review cadence a new initiative gets when its definition does not say."""

    timezone: str = "UTC"
    sprint_days: int = 14
    fiscal_year_start_month: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Defaults:
        return cls(settings.outcome_timezone, settings.outcome_sprint_days,
                   settings.outcome_fiscal_year_start)

    def first_sprint_start(self, now: datetime, timezone: str | None = None) -> date:
        """The Monday of the current week in ``timezone``: a sensible first sprint start."""
        return week_start(now.astimezone(ZoneInfo(timezone or self.timezone)).date())

    def for_new_initiative(self, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
        """``fields`` with the cadence filled in where they leave it out."""
        filled = dict(fields)
        filled.setdefault("timezone", self.timezone)
        filled.setdefault("sprint_days", self.sprint_days)
        filled.setdefault("fiscal_year_start_month", self.fiscal_year_start_month)
        filled.setdefault("sprint_anchor", self.first_sprint_start(now, filled["timezone"]))
        return filled


@dataclass(frozen=True)
class Context:
    """Everything a command needs besides its arguments."""

    actor: Actor
    sessions: sessionmaker[Session]
    now: Clock
    prefix: str = "/outcome"
    defaults: Defaults = field(default_factory=Defaults)
    # Clients for metric sources, opened per pull: the composition root's, from the settings.
    open_resources: Callable[[], Resources] = open_resources
    # The operator's source connections, to check a metric's source when it is defined
    # (None: not known here; every pull checks again).
    connections: Connections | None = None


@dataclass(frozen=True)
class Attachment:
    """A file a command produces (an export): Slack uploads it, the CLI writes it."""

    filename: str
    content: bytes
    title: str = ""


@dataclass(frozen=True)
class Reply:
    """What a command answers: text, an optional review, and whether the channel sees it.

    ``document``: the answer as a JSON-ready document for ``--json`` (``list`` and
    ``show``: ``outcomes.initiatives/1``), when the command has one.
    """

    text: str
    review: Review | None = None
    public: bool = False
    error: bool = False
    events: tuple[str, ...] = field(default=())
    review_is_answer: bool = False
    attachment: Attachment | None = None
    document: dict[str, Any] | None = None
