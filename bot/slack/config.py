"""Slack credentials and the Web API client: which workspace tokens, scopes and endpoints.

Two ways to be installed: a single workspace with a bot token (``SLACK_BOT_TOKEN``), or any
number of workspaces through Slack's OAuth flow (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)
with installations and OAuth states kept in the project's own database, in tables that
Alembic creates (migration 0005), never ``create_tables()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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

from bot.core.errors import ConfigError
from bot.core.settings import Settings

log = logging.getLogger(__name__)

# What the bot asks for at install; docs/slack-manifest.yml lists the same scopes.
BOT_SCOPES = (
    "commands", "chat:write", "chat:write.public", "app_mentions:read", "im:history",
    "im:write", "files:write", "files:read", "channels:read", "channels:join",
    "groups:read", "users:read",
)
OAUTH_STATE_SECONDS = 600
API_TIMEOUT_SECONDS = 15
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
