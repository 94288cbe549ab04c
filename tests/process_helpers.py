"""The real bot as child processes: ``python3 -m bot serve|worker|run`` with the
environment a test gives it, talked to like Slack over HTTP, killed with SIGKILL or stopped
with SIGTERM. Each process writes its output to a log file; a wait that times out, or a
process that dies when it should not, fails with the tail of every log.

    launcher = Launcher(tmp_path)
    web = launcher.start("serve", bot_environment(url, slack, port=free_port()))
    web.wait_healthy()
    web.command("record checkout.deploy-time 12", slack.response_url("r1"))
    web.kill()
    launcher.stop_all()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fake_slack import BOT_TOKEN, TEAM, FakeSlack
from slack_helpers import CHANNEL, PO, SIGNING_SECRET, HTTPResult, http_request, signature_headers

ROOT = Path(__file__).resolve().parents[1]
# The bot's own settings are never inherited from the environment the tests run in.
_SETTING_PREFIXES = ("SLACK_", "OUTCOME_")
_SETTING_NAMES = {"DATABASE_URL", "PORT", "LOG_LEVEL"}
T = TypeVar("T")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_environment(database_url: str, slack: FakeSlack, *, port: int | None = None,
                    **settings: str | float) -> dict[str, str]:
    """The settings of a bot process installed in the fake Slack's workspace with a bot
    token: ``DATABASE_URL``, the Slack token, signing secret and API URL, ``PORT``, and
    ``settings`` (e.g. ``OUTCOME_WORKER_STALLED_AFTER=3``)."""
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
           "LOG_LEVEL": "INFO"}
    if port is not None:
        env["PORT"] = str(port)
    env.update({name: str(value) for name, value in settings.items()})
    return env


@dataclass
class BotProcess:
    """One running ``python3 -m bot <verb>``."""

    verb: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        assert self.port is not None, f"`{self.verb}` has no PORT"
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self, lines: int = 60) -> str:
        """The last ``lines`` lines of what the process wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def describe(self) -> str:
        state = "running" if self.alive() else f"exited {self.process.returncode}"
        return f"--- {self.verb} (pid {self.pid}, {state}), {self.log_path}:\n{self.log()}"

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Wait until ``GET /healthz`` answers 200 (the database answers, requests are
        served)."""

        def healthy() -> bool:
            try:
                return http_request(f"{self.url}/healthz").status == 200
            except OSError:
                return False

        wait_until(healthy, f"`{self.verb}` to answer /healthz", [self], timeout=timeout)

    def command(self, text: str, response_url: str, *, user: str = PO,
                channel: str = CHANNEL, team: str = TEAM) -> HTTPResult:
        """``/outcome <text>`` as Slack sends it, signed, answered at ``response_url``."""
        form = {
            "token": "legacy", "team_id": team, "team_domain": "acme",
            "channel_id": channel, "channel_name": "reviews", "user_id": user,
            "user_name": user.lower(), "command": "/outcome", "text": text,
            "api_app_id": "A0FAKE", "response_url": response_url,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        body = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   **signature_headers(body)}
        return http_request(f"{self.url}/slack/events", "POST", body, headers)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or finished."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, and wait for the process to finish what it runs; SIGKILL after
        ``timeout``. Its exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@dataclass
class Launcher:
    """Starts bot processes with their logs under ``folder``; :meth:`stop_all` ends the
    ones still running (a test's teardown)."""

    folder: Path
    processes: list[BotProcess] = field(default_factory=list)

    def start(self, verb: str, env: Mapping[str, str], name: str = "") -> BotProcess:
        """``python3 -m bot <verb>`` in the repository, with ``env`` as its settings on
        top of this environment's (minus any bot setting it happens to hold)."""
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(_SETTING_PREFIXES) and key not in _SETTING_NAMES}
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        full = {**inherited, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", **env}
        self.folder.mkdir(parents=True, exist_ok=True)
        log_path = self.folder / f"{name or verb}-{len(self.processes) + 1}.log"
        with log_path.open("wb") as log:  # the child holds its own copy of the descriptor
            process = subprocess.Popen([sys.executable, "-m", "bot", verb], cwd=ROOT,
                                       env=full, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
        port = int(env["PORT"]) if env.get("PORT") else None
        started = BotProcess(verb, process, log_path, port)
        self.processes.append(started)
        return started

    def logs(self) -> str:
        return "\n".join(process.describe() for process in self.processes)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.alive():
                process.kill()


def wait_until(predicate: Callable[[], T], what: str, watched: list[BotProcess], *,
               timeout: float = 60.0, interval: float = 0.05,
               must_live: list[BotProcess] | None = None) -> T:
    """Poll ``predicate`` until it is truthy and return its value. Fails after
    ``timeout`` seconds, or as soon as one of ``must_live`` (default: ``watched``) has
    exited, with the logs of ``watched``."""
    living = watched if must_live is None else must_live
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        dead = [process for process in living if not process.alive()]
        if dead or time.monotonic() > deadline:
            reason = (f"`{dead[0].verb}` exited while waiting for {what}" if dead
                      else f"timed out after {timeout:g} s waiting for {what}")
            raise AssertionError(reason + "\n" + "\n".join(p.describe() for p in watched))
        time.sleep(interval)


def response_texts(slack: FakeSlack) -> dict[str, list[str]]:
    """What each response URL (by its name) was answered, in order."""
    answered: dict[str, list[str]] = {}
    responses: list[tuple[str, dict[str, Any]]] = list(slack.responses)  # a snapshot
    for name, payload in responses:
        answered.setdefault(name, []).append(str(payload.get("text", "")))
    return answered
