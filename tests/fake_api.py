"""A local HTTP server for source tests: canned answers per path, with delays, error
statuses, bad bodies, and sequences (a 500, then a 200) to exercise retries.

    with FakeApi() as api:
        api.route("/count", json={"total_count": 42})
        api.route("/flaky", Answer(500), Answer(json={"n": 1}))
        url = api.url("/count")
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    content_type: str = "application/json"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body.encode() if isinstance(self.body, str) else self.body
        return json.dumps(self.json).encode()


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.hits: list[Hit] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                api.hits.append(Hit(self.command, self.path, dict(self.headers), body))
                answers = api.routes.get(path)
                if not answers:
                    answer = Answer(404, body="not found", content_type="text/plain")
                else:
                    # The last answer repeats once a sequence is used up.
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.payload()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)

    def route(self, path: str, *answers: Answer, **one: Any) -> str:
        """Answer ``path`` with ``answers`` in turn (or one Answer(**one)); returns its URL."""
        self.routes[path] = list(answers) if answers else [Answer(**one)]
        return self.url(path)

    def url(self, path: str = "") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def hits_of(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.split("?", 1)[0] == path]

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
