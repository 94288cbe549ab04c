"""Writers of one SQLite file take turns inside the process (bot.storage.sqlite_writes).

SQLite's own busy timeout is 0 in these tests, so a writer that reached SQLite while
another connection writes would fail at once with "database is locked": every write that
succeeds here waited for its turn on the process's lock instead.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.db import make_engine
from bot.storage.sqlite_writes import serial_writes_factory

WAIT = 0.3  # how long a blocked writer is given to (wrongly) get through


@pytest.fixture
def connect(tmp_path: Path) -> Iterator[Callable[[], sqlite3.Connection]]:
    """Connections to one file sharing one turn lock, with no busy timeout of SQLite's."""
    factory = serial_writes_factory(timeout=10)
    opened: list[sqlite3.Connection] = []

    def new() -> sqlite3.Connection:
        connection = sqlite3.connect(tmp_path / "turns.db", timeout=0, factory=factory,
                                     check_same_thread=False)
        opened.append(connection)
        return connection

    first = new()
    first.execute("PRAGMA journal_mode=WAL")
    first.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    yield new
    for connection in opened:
        connection.close()


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def count(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT count(*) FROM t").fetchone()[0])


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_second_writer_waits_for_the_first_transaction_to_end_then_writes(
        connect: Callable[[], sqlite3.Connection], end: str) -> None:
    first, second = connect(), connect()
    first.execute("INSERT INTO t (v) VALUES ('first')")  # opens its write transaction
    thread, done = in_thread(lambda: (second.execute("INSERT INTO t (v) VALUES ('second')"),
                                      second.commit()))
    assert not done.wait(WAIT), "the second writer got in while the first one wrote"
    getattr(first, end)()
    assert done.wait(10), f"the second writer still waits after the first's {end}"
    thread.join()
    expected = {"commit": ["first", "second"]}.get(end, ["second"])
    assert [row[0] for row in connect().execute("SELECT v FROM t ORDER BY id")] == expected


def test_readers_do_not_wait_for_a_writer(connect: Callable[[], sqlite3.Connection]
                                          ) -> None:
    writer, reader = connect(), connect()
    writer.execute("INSERT INTO t (v) VALUES ('pending')")
    thread, done = in_thread(lambda: count(reader))
    assert done.wait(10), "a SELECT waited for the writer's turn"
    thread.join()
    writer.commit()


def test_a_statement_outside_a_transaction_gives_the_turn_back_at_once(
        connect: Callable[[], sqlite3.Connection]) -> None:
    first, second = connect(), connect()
    first.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")  # DDL: no transaction stays
    first.execute("INSERT INTO t (v) VALUES ('x')")
    first.commit()
    thread, done = in_thread(lambda: (second.execute("INSERT INTO u DEFAULT VALUES"),
                                      second.commit()))
    assert done.wait(10), "the turn was kept after the statements' transactions ended"
    thread.join()


def test_a_failed_write_keeps_the_turn_until_its_transaction_is_rolled_back(
        connect: Callable[[], sqlite3.Connection]) -> None:
    first, second = connect(), connect()
    first.execute("INSERT INTO t (id, v) VALUES (1, 'a')")
    with pytest.raises(sqlite3.IntegrityError):
        first.execute("INSERT INTO t (id, v) VALUES (1, 'again')")
    thread, done = in_thread(lambda: (second.execute("INSERT INTO t (v) VALUES ('b')"),
                                      second.commit()))
    assert not done.wait(WAIT), "the turn was given back while the transaction stayed open"
    first.rollback()
    assert done.wait(10)
    thread.join()
    assert count(connect()) == 1


def test_many_threads_writing_through_the_engine_never_see_a_locked_database(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'engine.db'}", connect_args={"timeout": 0})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(40):
                with engine.begin() as connection:
                    connection.execute(text("SELECT count(*) FROM t"))
                    connection.execute(text("INSERT INTO t (v) VALUES ('x')"))
                    time.sleep(0.0005)  # hold the transaction open a little
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 8 * 40
    engine.dispose()
