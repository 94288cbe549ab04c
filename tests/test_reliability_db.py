"""The store survives a killed writer (SQLite) and a lost connection (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
import pytest

import bot.app.services
from bot.app.commands import run
from bot.app.context import Actor, Context
from bot.storage.db import make_engine, session_factory, upgrade

BATCH, BATCHES = 500, 400

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)

WRITER = f"""
import sys
from datetime import UTC, datetime, timedelta
from bot.storage.db import make_engine, session_factory, transaction
from bot.core.points import Reading
from bot.storage.samples import store_readings
sessions = session_factory(make_engine(sys.argv[1]))
start = datetime(2026, 1, 1, tzinfo=UTC)
for batch in range({BATCHES}):
    readings = [Reading(start + timedelta(minutes=batch * {BATCH} + n), float(n))
                for n in range({BATCH})]
    with transaction(sessions) as session:
        store_readings(session, 1, readings, origin="pull", recorded_by="writer")
    print(batch, flush=True)
"""


def test_a_sqlite_file_survives_a_writer_killed_mid_write_and_the_rerun_completes(tmp_path):
    url = f"sqlite:///{tmp_path / 'outcome.db'}"
    engine = make_engine(url)
    upgrade(engine)
    ctx = Context(Actor("T1", "eve"), session_factory(engine), now=lambda: NOW)
    assert not run('define fleet "Fleet"', ctx).error
    assert not run('metric add fleet deploy "Deploy" baseline=1 target=2', ctx).error
    engine.dispose()

    writer = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE,
                              text=True)
    assert writer.stdout is not None
    for _ in range(20):  # let it commit some batches, then kill it mid-flight
        writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)

    with sqlite3.connect(tmp_path / "outcome.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = db.execute("SELECT count(*) FROM samples").fetchone()
    assert count % BATCH == 0  # whole transactions only, nothing half-written
    assert BATCH * 20 <= count < BATCH * BATCHES

    rerun = subprocess.run([sys.executable, "-c", WRITER, url], capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(tmp_path / "outcome.db") as db:
        (count,) = db.execute("SELECT count(*) FROM samples").fetchone()
        (distinct,) = db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT metric_id, segment, observed_at "
            "FROM samples)").fetchone()
    assert count == distinct == BATCH * BATCHES


@pytest.mark.postgres
def test_a_command_whose_postgres_connection_drops_mid_transaction_is_retried(
        postgres_url, monkeypatch):
    engine = make_engine(postgres_url)
    upgrade(engine)
    ctx = Context(Actor("T1", "eve"), session_factory(engine), now=lambda: NOW)
    assert not run('define fleet "Fleet"', ctx).error
    added = run('metric add fleet deploy "Deploy" direction=down baseline=40 target=12', ctx)
    assert not added.error
    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    real_record = bot.app.services.record_value
    dropped = []

    def record_after_losing_the_connection(session, *args, **kwargs):
        if not dropped:  # the server ends our backend mid-transaction, once
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            dropped.append(pid)
            time.sleep(0.1)
        return real_record(session, *args, **kwargs)

    monkeypatch.setattr("bot.app.commands.record_value", record_after_losing_the_connection)
    reply = run("record fleet.deploy 31 at=2026-11-20", ctx)
    assert not reply.error, reply.text
    assert dropped
    history = run("history fleet.deploy", ctx).text
    assert history.count("31 ") == 1
    assert datetime(2026, 11, 20, tzinfo=UTC).strftime("%Y-%m-%d") in history
    engine.dispose()
