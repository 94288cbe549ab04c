"""The long-running processes, composed from the settings: ``outcome serve`` (web),
``outcome worker`` (tasks), and ``outcome run`` (both in one process, the embedded mode).

Work after an ack and scheduled work are tasks (:mod:`bot.tasks`). On PostgreSQL they are
procrastinate's: web replicas only defer them, any number of ``outcome worker`` processes
run them. On the embedded SQLite default they live in the same file and the process that
defers them runs them on its own threads.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
from bot.tasks.choice import task_queue
from bot.tasks.local import LocalQueue
from bot.tasks.postgres import PostgresQueue, PostgresWorker
from bot.tasks.spec import TaskQueue
from bot.web import server
from bot.web.guard import RequestGuard
from bot.wiring import open_database, source_connections, source_resources
from handlers.app import build_app, serve_work
from metrics.pulling import Puller

log = logging.getLogger(__name__)

WORKER_NICENESS = 5  # added to `outcome worker`'s nice value; its chart workers add theirs


def configure_process(settings: Settings) -> None:
    """Process-wide settings: logging, and how many processes draw charts."""
    configure_logging(settings.log_level, secret_values(settings))
    pool.set_workers(settings.outcome_chart_workers)


def slack_runtime(settings: Settings, sessions: sessionmaker[Session], tasks: TaskQueue,
                  *, run_tasks: bool) -> Runtime:
    connections = source_connections(settings)  # read once, at start: a bad file stops it
    return Runtime(sessions, system_clock, Defaults.from_settings(settings),
                   lambda: source_resources(settings, connections),
                   admins=WorkspaceAdmins(parse_admins(settings.outcome_admins)),
                   connections=connections, tasks=tasks, run_tasks=run_tasks,
                   worker_name=scheduling.worker_id(),
                   worker_threads=settings.outcome_worker_threads,
                   lease=timedelta(seconds=settings.outcome_worker_stalled_after))


def digest_posters(settings: Settings, engine: Engine
                   ) -> Callable[[str], DigestPoster] | None:
    """Slack posters per workspace, or None when no Slack credentials are set."""
    config = SlackConfig.from_settings(settings)
    if not config.bot_token and not config.uses_oauth:
        return None
    return posters_for(config, engine)


def add_schedule(settings: Settings, engine: Engine, runtime: Runtime) -> None:
    """The periodic tasks: due pulls always, digests when Slack credentials are set."""
    puller = Puller(runtime.sessions, source_resources(settings, runtime.connections),
                    clock=system_clock)
    posters = digest_posters(settings, engine)
    if posters is None:
        log.warning("no Slack credentials (SLACK_BOT_TOKEN or SLACK_CLIENT_ID): the "
                    "workers pull metrics but post no digests")
    scheduling.add_scheduled_tasks(runtime.registry, runtime.queue, puller, posters,
                                   runtime.sessions)


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


def settle_startup_objects() -> None:
    """Take what the process built at start (modules, metadata, the app) out of the
    garbage collector's sight, so a full collection walks only what requests create
    ("what moved" over 1,000 metrics: about a tenth faster, bench/moved.py)."""
    gc.collect()
    gc.freeze()


def process_runtime(settings: Settings, *, with_schedule: bool) -> tuple[Engine, Runtime]:
    """The engine and a runtime whose registry holds every task this process may run."""
    configure_process(settings)
    engine = open_database(settings)
    sessions = db.session_factory(engine)
    tasks = task_queue(settings.database_url, sessions, system_clock)
    runtime = slack_runtime(settings, sessions, tasks,
                            run_tasks=isinstance(tasks, LocalQueue))
    if with_schedule:
        add_schedule(settings, engine, runtime)
    return engine, runtime


def _in_process_worker(settings: Settings, runtime: Runtime) -> PostgresWorker | None:
    """On PostgreSQL, procrastinate workers on a thread of this process (``outcome run``);
    the embedded queue's workers already run in the runtime."""
    if isinstance(runtime.tasks, LocalQueue):
        return None
    worker = postgres_worker(settings, runtime)
    worker.start_in_thread()
    return worker


def postgres_worker(settings: Settings, runtime: Runtime) -> PostgresWorker:
    """procrastinate workers for the runtime's tasks, as the settings size them."""
    stalled_after = settings.outcome_worker_stalled_after
    return PostgresWorker(settings.database_url, runtime.registry,
                          threads=settings.outcome_worker_threads, name=runtime.worker_name,
                          heartbeat=stalled_after / 3, stalled_after=stalled_after)


def serve(settings: Settings, *, with_schedule: bool = False) -> int:
    """`outcome serve`: the Slack HTTP endpoints (with ``with_schedule``, ``outcome run``:
    the periodic tasks and a worker too)."""
    engine, runtime = process_runtime(settings, with_schedule=with_schedule)
    app: App = build_app(SlackConfig.from_settings(settings), runtime, engine)
    worker = _in_process_worker(settings, runtime) if with_schedule else None
    http = server.make_server(app, "0.0.0.0", settings.port, server.database_health(engine),
                              push_handler(settings, runtime.sessions),
                              guard=RequestGuard(settings.slack_signing_secret,
                                                 runtime.sessions, system_clock,
                                                 runtime.priority))
    settle_startup_objects()
    try:
        server.serve_until_stopped(http)
    finally:
        if worker is not None:
            worker.stop(timeout=25)
        runtime.drain()  # what is left stays queued: the next process runs it
        engine.dispose()
    return 0


def run(settings: Settings) -> int:
    """`outcome run`: everything in one process: the web endpoints, the periodic tasks and
    the workers; Slack over Socket Mode when SLACK_APP_TOKEN is set (no public URL
    needed), else over HTTP."""
    if not settings.slack_app_token:
        return serve(settings, with_schedule=True)
    engine, runtime = process_runtime(settings, with_schedule=True)
    app = build_app(SlackConfig.from_settings(settings), runtime, engine)
    _in_process_worker(settings, runtime)
    settle_startup_objects()
    server.run_socket_mode(app, settings.slack_app_token)
    return 0


def run_worker(settings: Settings) -> int:
    """`outcome worker`: run tasks (the listeners' work, due pulls and digests) until
    SIGTERM/SIGINT, then finish the running ones."""
    _yield_to_web()
    engine, runtime = process_runtime(settings, with_schedule=True)
    config = SlackConfig.from_settings(settings)
    if config.bot_token or config.uses_oauth:
        serve_work(config, runtime, engine)  # on SQLite this starts the workers
    else:
        runtime.start_worker()  # the scheduled pulls only
    settle_startup_objects()
    log.info("worker started: %s", ", ".join(
        f"{queue} ×{count}" for queue, count in settings.outcome_worker_threads.items()))
    try:
        if isinstance(runtime.tasks, PostgresQueue):
            postgres_worker(settings, runtime).run()
        else:
            _until_signalled()
    finally:
        runtime.drain()
        engine.dispose()
    return 0


def _yield_to_web() -> None:
    """Run this worker below the normal priority: where `web` and `worker` processes share
    a machine, an ack (due within 3 s) gets the CPU before a pull or a digest does."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not permitted here: run at the normal priority
        log.debug("could not lower the worker's priority", exc_info=True)


def _until_signalled() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    log.info("worker stopping")
