"""The clock process: the scheduler (digests, pulls) and the Slack poster for each
workspace. `outcome clock` runs it alone; `outcome run` runs it beside the Slack app."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import TICK_SECONDS
from bot.db import session_factory
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.settings import Settings
from bot.slack_app import NOT_INSTALLED, SlackConfig, make_client
from bot.slack_posting import SlackDeliveryError, SlackPoster

log = logging.getLogger(__name__)


def posters_for(config: SlackConfig, engine: Engine) -> Callable[[str], SlackPoster]:
    """workspace (team id) -> a poster with that workspace's bot token.

    With a single bot token every workspace maps to it; with OAuth the token comes from the
    installation store, and a workspace that uninstalled the app gets a clear error (the
    digest is retried later, not lost).
    """
    if not config.uses_oauth:
        poster = SlackPoster(make_client(config.api_url, config.bot_token))
        return lambda workspace: poster
    store = SQLAlchemyInstallationStore(client_id=config.client_id, engine=engine)
    posters: dict[str, SlackPoster] = {}
    lock = threading.Lock()

    def poster_for(workspace: str) -> SlackPoster:
        bot = store.find_bot(enterprise_id=None, team_id=workspace)
        if bot is None or not bot.bot_token:
            raise SlackDeliveryError(NOT_INSTALLED, error="not_installed", permanent=False)
        with lock:
            poster = posters.get(workspace)
            if poster is None or poster.client.token != bot.bot_token:
                poster = SlackPoster(make_client(config.api_url, bot.bot_token))
                posters[workspace] = poster
            return poster

    return poster_for


def start_clock(settings: Settings, engine: Engine, sessions: sessionmaker[Session]
                ) -> BackgroundScheduler:
    """Start the scheduler (digests and pulls) in this process; returns it running."""
    from bot.clock import build_scheduler
    from metrics.pulling import Puller, default_resources

    config = SlackConfig.from_settings(settings)
    if not config.bot_token and not config.uses_oauth:
        raise ConfigError("The clock posts digests to Slack: set SLACK_BOT_TOKEN, or "
                          "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (see docs/slack.md).")
    scheduler = build_scheduler(sessions, posters_for(config, engine),
                                Puller(sessions, default_resources()))
    scheduler.start()
    log.info("clock started: digests every %d s, pulls when due", TICK_SECONDS)
    return scheduler


def run_clock(settings: Settings) -> int:
    """`outcome clock`: the scheduler alone, until SIGTERM/SIGINT."""
    from bot.cli import _engine

    configure_logging(settings.log_level)
    engine = _engine(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler = start_clock(settings, engine, session_factory(engine))
    stop.wait()
    log.info("clock stopping")
    scheduler.shutdown(wait=True)
    engine.dispose()
    return 0
