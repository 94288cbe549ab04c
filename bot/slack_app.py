"""Building the Slack (bolt) app: credentials, Web API client, installation stores, listeners.

Two ways to be installed: a single workspace with a bot token (``SLACK_BOT_TOKEN``), or any
number of workspaces through Slack's OAuth flow (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)
with installations and OAuth states kept in the project's own database, in tables that
Alembic creates (migration 0005), never ``create_tables()``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.ack_priority import AckPriority
from bot.commands import Context
from bot.errors import ConfigError
from bot.event_deliveries import first_delivery
from bot.models import utcnow
from bot.services import Actor
from bot.settings import Settings

log = logging.getLogger(__name__)

# What the bot asks for at install; docs/slack-manifest.yml lists the same scopes.
BOT_SCOPES = (
    "commands", "chat:write", "chat:write.public", "app_mentions:read", "im:history",
    "im:write", "files:write", "files:read", "channels:read", "channels:join",
    "groups:read", "users:read",
)
OAUTH_STATE_SECONDS = 600
API_TIMEOUT_SECONDS = 15
# Listeners ack on the request's own thread and hand the rest on: quick work (a database
# read or write, then respond) to one pool, slow work (reviews with charts, uploads, every
# series read) to a smaller one, so a queue of reviews never holds up a quick answer.
QUICK_THREADS = 8
WORKER_THREADS = 2  # the chart pool draws; these threads build reviews and upload
NOT_INSTALLED = ("Outcomes is not installed in this workspace (or its installation was "
                 "removed). A workspace admin can install it from the bot's /slack/install "
                 "page; see docs/slack.md.")


@dataclass(frozen=True)
class SlackConfig:
    """The Slack credentials and endpoints the app runs with."""

    signing_secret: str
    bot_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    app_token: str = ""
    api_url: str = "https://slack.com/api/"
    scopes: tuple[str, ...] = BOT_SCOPES

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        return cls(
            signing_secret=settings.slack_signing_secret,
            bot_token=settings.slack_bot_token,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            app_token=settings.slack_app_token,
            api_url=settings.slack_api_url,
        )

    @property
    def uses_oauth(self) -> bool:
        return bool(self.client_id)

    def check(self) -> None:
        """Refuse to start half-configured, with a message that says what to set."""
        if not self.signing_secret and not self.app_token:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: copy it from your Slack app's "
                              "Basic Information page (see docs/slack.md).")
        if self.uses_oauth and not self.client_secret:
            raise ConfigError("SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not: set both "
                              "for multi-workspace installs, or neither and SLACK_BOT_TOKEN.")
        if not self.uses_oauth and not self.bot_token:
            raise ConfigError("Set SLACK_BOT_TOKEN (xoxb-..., one workspace) or "
                              "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install).")
        if self.bot_token and not self.bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
        if self.app_token and not self.app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-.")


@dataclass
class Runtime:
    """What listeners need besides Slack: the database and the command defaults."""

    sessions: sessionmaker[Session]
    default_timezone: str = "UTC"
    default_sprint_days: int = 14
    default_fiscal_year_start: int = 1
    now: Callable[[], datetime] = utcnow
    priority: AckPriority = field(default_factory=AckPriority)
    quick: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=QUICK_THREADS, thread_name_prefix="outcome-quick"))
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=WORKER_THREADS, thread_name_prefix="outcome-worker"))
    _locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict, repr=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker[Session]) -> Runtime:
        return cls(sessions=sessions, default_timezone=settings.outcome_timezone,
                   default_sprint_days=settings.outcome_sprint_days,
                   default_fiscal_year_start=settings.outcome_fiscal_year_start)

    def context(self, team_id: str, user_id: str) -> Context:
        """A command context acting as ``user_id`` in the workspace ``team_id``."""
        return Context(
            actor=Actor(team_id, user_id),
            sessions=self.sessions,
            now=self.now,
            prefix="/outcome",
            default_timezone=self.default_timezone,
            default_sprint_days=self.default_sprint_days,
            default_fiscal_year_start=self.default_fiscal_year_start,
        )

    def after_ack(self, work: Callable[..., None], *args: object) -> None:
        """Run quick ``work(*args)`` once the acks in progress are sent; it must report its
        own errors to the user."""
        self.quick.submit(self._once_acked, work, args)

    def submit(self, work: Callable[..., None], *args: object) -> None:
        """Run slow ``work(*args)`` (a review, an upload) on the worker, after the acks in
        progress; it must report its own errors to the user."""
        self.worker.submit(self._once_acked, work, args)

    def _once_acked(self, work: Callable[..., None], args: tuple[object, ...]) -> None:
        self.priority.wait_for_acks()
        try:
            work(*args)
        except Exception:
            log.exception("work after an ack failed: %s", getattr(work, "__name__", work))

    @contextmanager
    def one_at_a_time(self, *key: str) -> Iterator[None]:
        """Serialise work on one thing (e.g. an initiative's sign-off message) in this
        process: a click that follows a post by milliseconds finds the post recorded."""
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def drain(self) -> None:
        """Finish the work already handed on (posting, uploading), then stop."""
        self.quick.shutdown(wait=True)
        self.worker.shutdown(wait=True)

    def first_delivery(self, event_id: str | None) -> bool:
        """False for an event this or another replica already took (Slack delivers an
        event again when its ack was slow or lost)."""
        return not event_id or first_delivery(self.sessions, event_id, self.now())


def make_client(api_url: str, token: str | None = None) -> WebClient:
    """A Web API client that honours Retry-After on 429 and retries 5xx and lost
    connections with backoff (the SDK alone retries only connection errors)."""
    return WebClient(
        token=token,
        base_url=api_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def oauth_settings(config: SlackConfig, engine: Engine) -> OAuthSettings:
    return OAuthSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(config.scopes),
        installation_store=SQLAlchemyInstallationStore(client_id=config.client_id,
                                                       engine=engine, logger=log),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=OAUTH_STATE_SECONDS,
                                              engine=engine, logger=log),
        installation_store_bot_only=True,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        state_expiration_seconds=OAUTH_STATE_SECONDS,
    )


def build_app(config: SlackConfig, runtime: Runtime, engine: Engine) -> App:
    """The bolt app with every listener registered."""
    from handlers import register_all

    config.check()
    client = make_client(config.api_url)
    # Listeners run on the request's thread and return once they have acked and handed
    # their work to the runtime: no hop to a pool and back before the ack is sent.
    common = {"signing_secret": config.signing_secret or None, "client": client,
              "process_before_response": True}
    if config.uses_oauth:
        app = App(**common, oauth_settings=oauth_settings(config, engine),
                  user_facing_authorize_error_message=NOT_INSTALLED)
    else:
        client.token = config.bot_token  # bolt takes the token from its client
        app = App(**common)
    app.use(runtime.priority.middleware)
    register_all(app, runtime)
    return app


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def is_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.match(channel))
