"""How long pulling 1,000 HTTP metrics takes against a server that answers in 50 ms.

    python bench/pull.py                   # SQLite file in a temporary folder
    python bench/pull.py --url URL         # another database (an empty one)
    python bench/pull.py --concurrency 32  # other than the default

The server runs in its own process (asyncio, keep-alive), so it does not compete with the
puller for the GIL. Prints the wall time and its ratio to the latency bound
(1,000 × 50 ms ÷ concurrency). Goal: within 1.3× of the bound, with no sample lost.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bot.storage.db import make_engine, session_factory, transaction, upgrade
from bot.storage.models import Initiative, Metric, PullAttempt, Sample
from metrics.connections import Connection, Connections
from metrics.jobs import PullJob, pulled_metrics
from metrics.pulling import Puller, PullPolicy
from metrics.resources import open_resources

METRICS, PER_INITIATIVE, LATENCY = 1000, 20, 0.05


def serve(port: int, latency: float) -> None:
    """A keep-alive HTTP/1.1 server answering every GET after ``latency`` seconds."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                await asyncio.sleep(latency)
                body = b'{"n": %d}' % (len(path) * 7)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load(sessions, port: int) -> None:
    with transaction(sessions) as session:
        for i in range(METRICS // PER_INITIATIVE):
            initiative = Initiative(workspace="bench", key=f"init-{i:02d}", name=f"I{i}",
                                    sprint_anchor=date(2026, 11, 16))
            session.add(initiative)
            for j in range(PER_INITIATIVE):
                session.add(Metric(
                    initiative=initiative, key=f"m{j:02d}", name=f"M{j}", target_value=1.0,
                    source_kind="http",
                    source_config={"connection": "bench", "path": f"/i{i}/m{j}",
                                   "value": "n"}))


def bench_connection(port: int) -> Connections:
    """The operator's connection to the loopback server (private addresses allowed)."""
    return Connections({"bench": Connection("bench", "http", f"http://127.0.0.1:{port}",
                                            allow_private=("127.0.0.1/32",))})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--concurrency", type=int, default=PullPolicy().concurrency)
    options = parser.parse_args()
    port = free_port()
    server = multiprocessing.Process(target=serve, args=(port, LATENCY), daemon=True)
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(options.url or f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        sessions = session_factory(engine)
        load(sessions, port)
        with transaction(sessions) as session:
            jobs = [PullJob.of(m) for m in pulled_metrics(session, "bench")]
        for _ in range(50):  # the server process is up when it accepts
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        resources = open_resources(connections=bench_connection(port))
        policy = PullPolicy(concurrency=options.concurrency)
        puller = Puller(sessions, resources, policy, clock=lambda: datetime.now(UTC))
        started = time.perf_counter()
        report = puller.pull(jobs, at=datetime.now(UTC))
        wall = time.perf_counter() - started
        resources.close()
        with transaction(sessions) as session:
            samples = session.scalar(select(func.count()).select_from(Sample))
            ok = session.scalar(select(func.count()).where(PullAttempt.ok.is_(True)))
        engine.dispose()
    server.terminate()
    bound = METRICS * LATENCY / options.concurrency
    print(f"{len(jobs)} HTTP metrics, {LATENCY * 1000:.0f} ms each, concurrency "
          f"{options.concurrency} ({engine.dialect.name})")
    print(f"wall {wall:.2f} s; latency bound {bound:.2f} s; ratio {wall / bound:.2f} "
          f"(goal <= 1.3)")
    print(f"samples stored {samples}/{METRICS}, attempts ok {ok}, failed {len(report.failed)}")
    return 0 if samples == METRICS and wall / bound <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
