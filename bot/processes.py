"""The long-running processes, composed from the settings: ``outcome serve``, ``outcome
clock`` and ``outcome run``, with their Slack app, scheduler, posters and chart workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import clock as scheduling
from bot.app.context import Defaults
from bot.app.digests import DigestPoster
from bot.app.push import handle_push
from bot.app.push_tokens import LegacyToken
from bot.core.clock import system_clock
from bot.core.logs import configure_logging, secret_values
from bot.core.settings import Settings
from bot.render import pool
from bot.slack.admins import WorkspaceAdmins, parse_admins
from bot.slack.config import SlackConfig
from bot.slack.posters import posters_for
from bot.slack.runtime import Runtime
from bot.storage import db
from bot.web import server
from bot.web.guard import RequestGuard
from bot.wiring import open_database, source_connections, source_resources
from handlers.app import build_app
from metrics.pulling import Puller

log = logging.getLogger(__name__)


def configure_process(settings: Settings) -> None:
    """Process-wide settings: logging, and how many processes draw charts."""
    configure_logging(settings.log_level, secret_values(settings))
    pool.set_workers(settings.outcome_chart_workers)


def slack_runtime(settings: Settings, sessions: sessionmaker[Session]) -> Runtime:
    connections = source_connections(settings)  # read once, at start: a bad file stops it
    return Runtime(sessions, system_clock, Defaults.from_settings(settings),
                   lambda: source_resources(settings, connections),
                   admins=WorkspaceAdmins(parse_admins(settings.outcome_admins)),
                   connections=connections)


def digest_posters(settings: Settings, engine: Engine
                   ) -> Callable[[str], DigestPoster] | None:
    """Slack posters per workspace, or None when no Slack credentials are set."""
    config = SlackConfig.from_settings(settings)
    if not config.bot_token and not config.uses_oauth:
        return None
    return posters_for(config, engine)


def build_clock(settings: Settings, engine: Engine, sessions: sessionmaker[Session]
                ) -> BackgroundScheduler:
    """The scheduler: due pulls always, digests when Slack credentials are set."""
    puller = Puller(sessions, source_resources(settings), clock=system_clock)
    posters = digest_posters(settings, engine)
    if posters is None:
        log.warning("no Slack credentials (SLACK_BOT_TOKEN or SLACK_CLIENT_ID): the clock "
                    "pulls metrics but posts no digests")
    return scheduling.build_scheduler(sessions, posters, puller, system_clock)


def push_handler(settings: Settings, sessions: sessionmaker[Session]) -> server.PushHandler:
    """``POST /api/v1/push``, storing through :func:`bot.app.push.handle_push`; the
    workspace comes from the push token."""
    legacy = None
    if settings.outcome_push_token:
        legacy = LegacyToken(settings.outcome_push_token, settings.outcome_workspace)
        log.warning("OUTCOME_PUSH_TOKEN is deprecated: it pushes into OUTCOME_WORKSPACE (%s) "
                    "only. Create a token per workspace with `/outcome push-token create "
                    "<name>`, move each pipeline to it, then unset OUTCOME_PUSH_TOKEN.",
                    settings.outcome_workspace)

    def handle(workspace: str | None, authorization: str | None, body: bytes
               ) -> tuple[int, dict[str, Any]]:
        return handle_push(sessions, workspace=workspace, authorization=authorization,
                           body=body, now=system_clock(), legacy=legacy)

    return handle


def _slack_process(settings: Settings) -> tuple[App, Engine, Runtime]:
    configure_process(settings)
    engine = open_database(settings)
    runtime = slack_runtime(settings, db.session_factory(engine))
    return build_app(SlackConfig.from_settings(settings), runtime, engine), engine, runtime


def serve(settings: Settings, *, with_clock: bool = False) -> int:
    """`outcome serve`: the Slack HTTP endpoints (and with ``with_clock`` the scheduler)."""
    app, engine, runtime = _slack_process(settings)
    clock = build_clock(settings, engine, runtime.sessions) if with_clock else None
    http = server.make_server(app, "0.0.0.0", settings.port, server.database_health(engine),
                              push_handler(settings, runtime.sessions),
                              guard=RequestGuard(settings.slack_signing_secret,
                                                 runtime.sessions, system_clock,
                                                 runtime.priority))
    if clock is not None:
        clock.start()
    try:
        server.serve_until_stopped(http)
    finally:
        if clock is not None:
            clock.shutdown(wait=True)
        runtime.drain()  # finish what was acked: a review half-posted is worse than a late exit
        engine.dispose()
    return 0


def run(settings: Settings) -> int:
    """`outcome run`: everything in one process: the scheduler, and Slack over Socket Mode
    when SLACK_APP_TOKEN is set (no public URL needed), else over HTTP."""
    if not settings.slack_app_token:
        return serve(settings, with_clock=True)
    app, engine, runtime = _slack_process(settings)
    build_clock(settings, engine, runtime.sessions).start()
    server.run_socket_mode(app, settings.slack_app_token)
    return 0


def run_clock(settings: Settings) -> int:
    """`outcome clock`: the scheduler alone, until SIGTERM/SIGINT."""
    configure_process(settings)
    engine = open_database(settings)
    try:
        scheduling.run_until_stopped(build_clock(settings, engine, db.session_factory(engine)))
    finally:
        engine.dispose()
    return 0
