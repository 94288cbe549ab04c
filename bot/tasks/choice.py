"""Which task queue a database gets: procrastinate on PostgreSQL, the embedded queue in
the SQLite file. Imported by the processes and `outcome jobs` only: it loads procrastinate."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock
from bot.tasks.local import LocalQueue
from bot.tasks.postgres import PostgresQueue
from bot.tasks.spec import TaskQueue


def task_queue(database_url: str, sessions: sessionmaker[Session], clock: Clock
               ) -> TaskQueue:
    """The queue for ``database_url``'s dialect."""
    if sessions.kw["bind"].dialect.name == "postgresql":
        return PostgresQueue(database_url, sessions)
    return LocalQueue(sessions, clock)
