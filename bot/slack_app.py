"""Building the Slack (bolt) app: credentials, Web API client, installation stores, listeners.

Two ways to be installed: a single workspace with a bot token (``SLACK_BOT_TOKEN``), or any
number of workspaces through Slack's OAuth flow (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)
with installations and OAuth states kept in the project's own database, in tables that
Alembic creates (migration 0005), never ``create_tables()``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

from bot.commands import Context
from bot.errors import ConfigError
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
# bolt runs ack functions and lazy listeners on one pool (5 threads by default): when slow
# work (charts, uploads) fills it, acks queue behind it and miss Slack's 3 seconds.
LISTENER_THREADS = 64
WORKER_THREADS = 2  # charts draw one at a time anyway (matplotlib is not thread-safe)
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
    seen_events: set[str] = field(default_factory=set)
    # Slow work (building reviews, charts, uploads) runs here, off bolt's listener pool,
    # so a queue of reviews can never hold up the next ack.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=WORKER_THREADS, thread_name_prefix="outcome-worker"))

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

    def submit(self, work: Callable[..., None], *args: object) -> None:
        """Run ``work(*args)`` on the worker; it must report its own errors to the user."""

        def logged() -> None:
            try:
                work(*args)
            except Exception:
                log.exception("background work %s failed", getattr(work, "__name__", work))

        self.worker.submit(logged)

    def first_delivery(self, event_id: str | None) -> bool:
        """False for an event this process already handled (Slack retries after 3 s)."""
        if not event_id:
            return True
        if event_id in self.seen_events:
            return False
        if len(self.seen_events) > 10_000:
            self.seen_events.clear()
        self.seen_events.add(event_id)
        return True


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
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS,
                                  thread_name_prefix="slack-listener")
    if config.uses_oauth:
        app = App(signing_secret=config.signing_secret or None, client=client,
                  oauth_settings=oauth_settings(config, engine), listener_executor=executor,
                  user_facing_authorize_error_message=NOT_INSTALLED)
    else:
        client.token = config.bot_token  # bolt takes the token from its client
        app = App(signing_secret=config.signing_secret or None, client=client,
                  listener_executor=executor)
    register_all(app, runtime)
    return app


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def is_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.match(channel))


def drain(app: App, runtime: Runtime) -> None:
    """Wait for work still running after its ack (posting, uploading), then stop."""
    executor = app.listener_runner.listener_executor
    if isinstance(executor, ThreadPoolExecutor):
        executor.shutdown(wait=True)
    runtime.worker.shutdown(wait=True)
