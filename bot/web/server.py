"""`outcome serve`: the Slack HTTP endpoints, and `outcome run` (Socket Mode when an app
token is set).

A small threaded HTTP server from the standard library: one thread per connection, so a
slow request never holds up another and every ack leaves within Slack's 3 seconds. It is
stateless (everything lives in the database), so any number of replicas can run behind a
load balancer.

- ``POST /slack/events``: commands, interactions and events. The signature, its timestamp
  and replays are checked (:mod:`bot.web.guard`) before the body is parsed, then again by
  bolt; a signed body that cannot be parsed gets 400.
- ``GET /slack/install`` and ``GET /slack/oauth_redirect``: the OAuth install flow.
- ``GET /healthz``: 200 when the database answers, 503 otherwise.
- ``POST /api/v1/push``: metric values from pipelines, with ``Authorization: Bearer
  <push token>``; the token decides the workspace (:mod:`bot.app.push_tokens`), and a
  ``?workspace=T…`` naming another one is refused with 403.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request.internals import build_context
from sqlalchemy import Engine, text

from bot.web.guard import RequestGuard
from metrics.push import PUSH_PATH

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
FORM = "application/x-www-form-urlencoded"

# (workspace from the query, Authorization header, body) -> (HTTP status, JSON answer)
PushHandler = Callable[[str | None, str | None, bytes], tuple[int, dict[str, Any]]]
MAX_BODY_BYTES = 1 << 20  # Slack payloads are far smaller; refuse anything bigger


class SlackServer(ThreadingHTTPServer):
    """An HTTP server that hands Slack's requests to a bolt app."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App,
                 health: Callable[[], bool] = lambda: True,
                 push: PushHandler | None = None, *, guard: RequestGuard | None = None
                 ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.health = health
        self.push = push
        self.guard = guard

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: SlackServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stops sending loses its thread after this

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == HEALTH_PATH:
            healthy = _safely(self.server.health)
            self._send(200 if healthy else 503, {"Content-Type": ["text/plain"]},
                       "ok" if healthy else "database unavailable")
            return
        flow = self.server.app.oauth_flow
        if flow is not None and path in (flow.install_path, flow.redirect_uri_path):
            request = BoltRequest(body="", query=query, headers=self._headers())
            handle = flow.handle_installation if path == flow.install_path \
                else flow.handle_callback
            self._send_bolt(handle(request))
            return
        self._send(404, {}, "not found")

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path not in (EVENTS_PATH, PUSH_PATH) or (path == PUSH_PATH and not self.server.push):
            self._send(404, {}, "not found")
            return
        body = self._read_body()
        if body is None:
            return
        if path == PUSH_PATH:
            self._push(query, body)
            return
        self._slack_events(query, body)

    def _slack_events(self, query: str, body: bytes) -> None:
        guard, client = self.server.guard, self.address_string()
        signature = self.headers.get("X-Slack-Signature")
        refusal = guard.unsigned(body, self.headers.get("X-Slack-Request-Timestamp"),
                                 signature, client) if guard else None
        if refusal is not None:
            self._send(refusal.status, {"Content-Type": ["text/plain"]}, refusal.body)
            return
        try:
            text = body.decode("utf-8") if guard else body.decode("utf-8", errors="replace")
            request = slack_request(text, query, self._headers())
        except Exception as exc:  # signed, yet neither a form, nor JSON, nor UTF-8
            log.warning("a signed Slack request from %s could not be parsed: %s", client,
                        type(exc).__name__)
            self._send(400, {"Content-Type": ["text/plain"]}, "malformed body")
            return
        refusal = guard.replayed(signature or "", client) if guard else None
        if refusal is not None:
            self._send(refusal.status, {}, refusal.body)
            return
        try:
            response = self.server.app.dispatch(request)
        except Exception:  # bolt handles listener errors; this is the last line of defence
            log.exception("dispatching a Slack request failed")
            response = BoltResponse(status=500, body="")
        self._send_bolt(response)

    def _push(self, query: str, body: bytes) -> None:
        assert self.server.push is not None
        workspace = next(iter(parse_qs(query).get("workspace", [])), None)
        try:
            status, answer = self.server.push(workspace, self.headers.get("Authorization"),
                                              body)
        except Exception:
            log.exception("a push request failed")
            status, answer = 500, {"ok": False, "error": "The push could not be stored; "
                                   "nothing was written. Try again."}
        self._send(status, {"Content-Type": ["application/json"]}, json.dumps(answer))

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a missing or oversized one."""
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if length < 0:
            self._send(411, {}, "Content-Length required")
            return None
        if length > MAX_BODY_BYTES:
            self._send(413, {}, "request too large")
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _headers(self) -> dict[str, str | Sequence[str]]:
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        return dict(headers)

    def _send_bolt(self, response: BoltResponse) -> None:
        self._send(response.status, response.headers, response.body)

    def _send(self, status: int, headers: Mapping[str, Sequence[str]], body: str | bytes
              ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() == "content-length":
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def slack_request(body: str, query: str, headers: dict[str, str | Sequence[str]]
                  ) -> BoltRequest:
    """The bolt request for an HTTP request from Slack.

    bolt reads any form body that contains the word "payload" anywhere as an interaction
    (``payload=<json>``), so a slash command such as ``/outcome record payload-size 5``
    would reach no listener; such a body is parsed here as the plain form it is.
    """
    request = BoltRequest(body=body, query=query, headers=headers)
    if "payload" in body and request.content_type == FORM and not body.startswith("{"):
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in fields:
            request.body = fields
            request.context = build_context(BoltContext(), fields)
    return request


def _safely(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:
        log.warning("health check failed", exc_info=True)
        return False


def database_health(engine: Engine) -> Callable[[], bool]:
    def check() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    return check


def make_server(app: App, host: str = "0.0.0.0", port: int = 3000,
                health: Callable[[], bool] = lambda: True,
                push: PushHandler | None = None, *, guard: RequestGuard | None = None
                ) -> SlackServer:
    """A server bound to (host, port); port 0 picks a free one (tests). ``guard`` checks
    Slack's signatures and replays before bolt parses a body (bolt alone parses first)."""
    return SlackServer((host, port), app, health, push, guard=guard)


def start_in_thread(server: SlackServer, poll_interval: float = 0.5) -> threading.Thread:
    """Serve in a daemon thread; ``shutdown()`` takes up to ``poll_interval`` seconds."""
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,),
                              name="slack-http", daemon=True)
    thread.start()
    return thread


def serve_until_stopped(server: SlackServer) -> None:
    """Serve until SIGTERM/SIGINT, then finish the requests in flight and close."""

    def shut_down(signum: int, _frame: Any) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    log.info("serving Slack on %s (events at %s)", server.url, EVENTS_PATH)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def run_socket_mode(app: App, app_token: str) -> None:
    """Slack over Socket Mode (no public URL needed), until the process is stopped."""
    log.info("connecting to Slack in Socket Mode")
    SocketModeHandler(app, app_token).start()
