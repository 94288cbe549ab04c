"""A real Prometheus for the tests: Debian's ``prometheus`` on a free loopback port, with a
data dir filled with weeks of history by ``promtool tsdb create-blocks-from openmetrics``.

The blocks are built once per run (:func:`build_blocks`); every server gets its own copy,
because Prometheus writes into its data dir. Without the binaries the tests that need them
skip, except in CI (``CI`` set) or with ``OUTCOME_REQUIRE_PROMETHEUS=1``, where they fail.
Debian's package does not start a service (and .ci/run forbids it), so nothing else listens.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

# History: hourly samples for four weeks, ending four hours before the hour the run starts
# in (Prometheus will not take backfilled blocks that overlap its newest three hours).
HISTORY = timedelta(days=28)
STEP = timedelta(hours=1)
REGIONS = {"eu": 40.0, "us": 30.0, "apac": 50.0}


def required() -> bool:
    flags = (os.environ.get("CI", ""), os.environ.get("OUTCOME_REQUIRE_PROMETHEUS", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


def unavailable(reason: str) -> None:
    message = f"Prometheus tests need Debian's 'prometheus' package: {reason}"
    if required():
        pytest.fail(message + " (required in CI)", pytrace=False)
    pytest.skip(message)


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        unavailable("the prometheus and promtool binaries are not on PATH "
                    "(apt-get install --no-install-recommends prometheus)")
    assert prometheus and promtool
    return prometheus, promtool


@dataclass(frozen=True)
class History:
    """What the backfilled data holds, so tests can compute expected values."""

    start: datetime
    end: datetime

    def hours(self) -> int:
        return int((self.end - self.start) / STEP)

    def value(self, region: str, at: datetime) -> float:
        """deploy_duration_minutes{region} at an hour: falls 0.01 per hour from its base."""
        index = int((at - self.start) / STEP)
        return round(REGIONS[region] - 0.01 * index, 2)


def history_window(now: datetime | None = None) -> History:
    now = now or datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    return History(end - HISTORY, end)


def openmetrics(history: History) -> str:
    """The history as OpenMetrics text: timestamps in seconds, each series sorted by time."""
    lines = ["# HELP deploy_duration_minutes Time a fleet deploy takes.",
             "# TYPE deploy_duration_minutes gauge"]
    for region in REGIONS:
        at = history.start
        while at <= history.end:
            lines.append(f'deploy_duration_minutes{{region="{region}"}} '
                         f"{history.value(region, at)} {int(at.timestamp())}")
            at += STEP
    lines.append("# HELP signups Sign-ups so far.")
    lines.append("# TYPE signups counter")
    at, count = history.start, 0
    while at <= history.end:
        count += 10
        lines.append(f"signups_total {count} {int(at.timestamp())}")
        at += STEP
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def build_blocks(folder: Path, history: History) -> Path:
    """A TSDB data dir with the history in it; returns the folder."""
    _, promtool = binaries()
    source = folder / "history.om"
    source.write_text(openmetrics(history))
    data = folder / "data"
    data.mkdir()
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=744h",
         "-q", str(source), str(data)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """A running server on its own copy of the blocks; :meth:`stop` ends it."""

    def __init__(self, blocks: Path, history: History) -> None:
        self.history = history
        self.base = Path(tempfile.mkdtemp(prefix="outcome-prom-"))
        self.data = self.base / "data"
        shutil.copytree(blocks, self.data)
        config = self.base / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        prometheus, _ = binaries()
        self.log = (self.base / "server.log").open("w")
        self.process = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             "--storage.tsdb.retention.time=10y", f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited {self.process.returncode}:\n"
                                   + (self.base / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("prometheus did not become ready in 30 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        shutil.rmtree(self.base, ignore_errors=True)



def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Body of a ``prometheus`` fixture: blocks built, server started, stopped after."""
    history = history_window()
    blocks = build_blocks(tmp_path_factory.mktemp("prometheus"), history)
    server = PrometheusServer(blocks, history)
    try:
        yield server
    finally:
        server.stop()
