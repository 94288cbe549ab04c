"""The Web API client and the Slack poster for each workspace: what task workers and the
digest runner send through."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.slack.config import NOT_INSTALLED, SlackConfig, installation_store, make_client
from bot.slack.posting import SlackDeliveryError, SlackPoster

log = logging.getLogger(__name__)


def clients_for(config: SlackConfig, engine: Engine) -> Callable[[str], WebClient]:
    """workspace (team id) -> a Web API client with that workspace's bot token.

    With a single bot token every workspace maps to it; with OAuth the token comes from the
    installation store, and a workspace that uninstalled the app gets a clear error (the
    work is retried later, not lost).
    """
    if not config.uses_oauth:
        client = make_client(config.api_url, config.bot_token)
        return lambda workspace: client
    store = installation_store(config, engine)
    clients: dict[str, WebClient] = {}
    lock = threading.Lock()

    def client_for(workspace: str) -> WebClient:
        bot = store.find_bot(enterprise_id=None, team_id=workspace)
        if bot is None or not bot.bot_token:
            raise SlackDeliveryError(NOT_INSTALLED, error="not_installed", permanent=False)
        with lock:
            client = clients.get(workspace)
            if client is None or client.token != bot.bot_token:
                client = make_client(config.api_url, bot.bot_token)
                clients[workspace] = client
            return client

    return client_for


def posters_for(config: SlackConfig, engine: Engine) -> Callable[[str], SlackPoster]:
    """workspace (team id) -> a poster speaking through :func:`clients_for`'s client."""
    clients = clients_for(config, engine)
    posters: dict[int, SlackPoster] = {}
    lock = threading.Lock()

    def poster_for(workspace: str) -> SlackPoster:
        client = clients(workspace)
        with lock:
            poster = posters.get(id(client))
            if poster is None or poster.client is not client:
                poster = SlackPoster(client)
                posters[id(client)] = poster
            return poster

    return poster_for
