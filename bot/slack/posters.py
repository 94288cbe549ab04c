"""The Slack poster for each workspace: what the digest runner sends through."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from bot.slack.config import NOT_INSTALLED, SlackConfig, installation_store, make_client
from bot.slack.posting import SlackDeliveryError, SlackPoster

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
    store = installation_store(config, engine)
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
