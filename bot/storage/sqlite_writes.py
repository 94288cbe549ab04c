"""One writer at a time per SQLite file in this process, woken as soon as it is its turn.

SQLite lets one connection write at a time; another that wants to write meanwhile is told
"busy" and its busy handler sleeps and tries again, 1, 2, 5 … then 100 ms at a time. Under
many threads the unlucky ones keep sleeping while others keep taking the lock, so a write
that needs a millisecond can wait a second. Here a connection takes the process's write
turn where SQLite would take its lock (the first statement that writes) and gives it back
when the transaction ends: the threads of one process queue on a lock that wakes the next
one at once, and SQLite's busy handler is left to waiting for other processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

READ_ONLY_VERBS = ("SELECT", "PRAGMA", "EXPLAIN")
TURN_TIMEOUT_SECONDS = 30.0  # as long as SQLite's own busy timeout here


def _writes(sql: str) -> bool:
    return not sql.lstrip().upper().startswith(READ_ONLY_VERBS)


def serial_writes_factory(timeout: float = TURN_TIMEOUT_SECONDS) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` class whose connections take turns to write; give it as
    ``factory`` to ``sqlite3.connect`` for all connections to one file (one turn lock)."""
    turn = threading.Lock()

    class TakingTurnsCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> Self:
            with self.connection._turn_for(sql):  # type: ignore[attr-defined]
                return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> Self:
            with self.connection._turn_for(sql):  # type: ignore[attr-defined]
                return super().executemany(sql, parameters)

    class TakingTurns(sqlite3.Connection):
        _holds = False

        @contextmanager
        def _turn_for(self, sql: str) -> Iterator[None]:
            if not self._holds and _writes(sql):
                # A thread already writing through another connection to this file would
                # wait on itself: after the timeout SQLite decides, as it would without us.
                self._holds = turn.acquire(timeout=timeout)
            try:
                yield
            finally:
                self._end_turn()

        def _end_turn(self, *, closing: bool = False) -> None:
            if self._holds and (closing or not self.in_transaction):
                self._holds = False
                turn.release()

        def cursor(self, factory: Any = TakingTurnsCursor) -> Any:
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            return self.cursor().executemany(sql, parameters)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._end_turn()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._end_turn()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._end_turn(closing=True)

    return TakingTurns
