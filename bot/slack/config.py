"""Slack credentials and the Web API client: which workspace tokens, scopes and endpoints.

Two ways to be installed: a single workspace with a bot token (``SLACK_BOT_TOKEN``), or any
number of workspaces through Slack's OAuth flow (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)
with installations and OAuth states kept in the project's own database, in tables that
Alembic creates (migrations 0005 and 0009), never ``create_tables()``. The installations'
tokens are stored encrypted under ``OUTCOME_ENCRYPTION_KEYS`` (bot.slack.installations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.core.errors import ConfigError
from bot.core.settings import Settings
from bot.slack.installations import EncryptedInstallationStore, check_keys
from bot.storage.crypto import HOW_TO_MAKE_A_KEY, Keyring

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
    encryption_keys: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        return cls(
            signing_secret=settings.slack_signing_secret,
            bot_token=settings.slack_bot_token,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            app_token=settings.slack_app_token,
            api_url=settings.slack_api_url,
            encryption_keys=settings.outcome_encryption_keys,
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
        if self.uses_oauth and not self.encryption_keys.strip(" ,"):
            raise ConfigError("SLACK_CLIENT_ID is set but OUTCOME_ENCRYPTION_KEYS is not: the "
                              "installed workspaces' tokens are stored encrypted. "
                              f"{HOW_TO_MAKE_A_KEY}")
        if self.uses_oauth:
            self.keyring()  # a malformed key stops the start too, saying how to make one
        if not self.uses_oauth and not self.bot_token:
            raise ConfigError("Set SLACK_BOT_TOKEN (xoxb-..., one workspace) or "
                              "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install).")
        if self.bot_token and not self.bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
        if self.app_token and not self.app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-.")

    def keyring(self) -> Keyring:
        """The keys that encrypt the installations' tokens (a ConfigError when unusable)."""
        return Keyring.from_setting(self.encryption_keys)


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


def installation_store(config: SlackConfig, engine: Engine) -> EncryptedInstallationStore:
    """The OAuth installations, tokens encrypted. Refuses to start (ConfigError) when the
    keys are missing or cannot decrypt a stored token, instead of failing in Slack later."""
    keyring = config.keyring()
    check_keys(engine, keyring)
    return EncryptedInstallationStore(client_id=config.client_id, engine=engine,
                                      keyring=keyring, logger=log)


def oauth_settings(config: SlackConfig, engine: Engine) -> OAuthSettings:
    return OAuthSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(config.scopes),
        installation_store=installation_store(config, engine),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=OAUTH_STATE_SECONDS,
                                              engine=engine, logger=log),
        installation_store_bot_only=True,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        state_expiration_seconds=OAUTH_STATE_SECONDS,
    )
