"""A fake Slack Web API served over real HTTP on a loopback port, for ``WebClient(base_url=...)``.

It records every call, answers the methods the bot uses the way Slack does, and rejects
what Slack rejects: missing arguments, unknown tokens, malformed or oversized Block Kit,
modals without a title, uploads that were never sent. Tests can make it answer 429 with
``Retry-After`` or a 5xx for the next N calls, and mark channels the bot is not in.

It also serves the ``response_url`` of slash commands and interactions (``/response/<id>``)
and the upload URLs that ``files.getUploadURLExternal`` hands out (``/upload/<file id>``).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_TOKEN = "xoxb-fake-T1"
TEAM = "T1"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
KNOWN_BLOCKS = {"header", "section", "context", "divider", "image", "actions", "rich_text",
                "input", "file", "video", "markdown"}
TEXT_TYPES = {"plain_text", "mrkdwn"}

# Required arguments per method: Slack answers a missing one with an error, never a guess.
REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "conversations.info": ("channel",),
    "conversations.join": ("channel",),
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "users.info": ("user",),
    "oauth.v2.access": ("code",),
    "assistant.threads.setStatus": ("channel_id", "thread_ts", "status"),
    "assistant.threads.setTitle": ("channel_id", "thread_ts", "title"),
    "assistant.threads.setSuggestedPrompts": ("channel_id", "thread_ts", "prompts"),
}
MAX_SUGGESTED_PROMPTS = 4
NO_TOKEN_METHODS = {"oauth.v2.access"}


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Call:
    """One request the fake received."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    ephemeral_to: str | None = None


@dataclass
class Workspace:
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str


class FakeSlack:
    """Start with ``with FakeSlack() as slack:``; point clients at ``slack.api_url``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.messages: list[Message] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.channel_errors: dict[str, str] = {}
        self.joined: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.install_codes: dict[str, Workspace] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        # Per assistant thread (channel, thread_ts): its statuses, title and prompts.
        self.assistant_threads: dict[tuple[str, str], dict[str, Any]] = {}
        self._failures: list[tuple[int, dict[str, str], str | None]] = []
        # Random faults (chaos mode) and chat.postMessage pacing, both off by default.
        self.fault_rates: dict[str, float] = {}
        self.stall_seconds = 0.0
        self._random = random.Random(0)
        self.channel_rate: float | None = None
        self._last_post: dict[str, float] = {}
        self.pacing_429s = 0
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.add_workspace(TEAM, BOT_TOKEN)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-slack")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "") -> str:
        return f"{self.base_url}/response/{name or next(self._ids)}"

    # ------------------------------------------------------------------ set-up

    def add_workspace(self, team_id: str, bot_token: str, team_name: str = "") -> Workspace:
        workspace = Workspace(team_id, team_name or f"Team {team_id}", bot_token,
                              bot_user_id=f"UBOT{team_id}", bot_id=f"B{team_id}")
        self.workspaces[bot_token] = workspace
        return workspace

    def add_install_code(self, code: str, team_id: str, bot_token: str) -> None:
        """``oauth.v2.access`` with ``code`` installs the app in ``team_id``."""
        self.install_codes[code] = Workspace(team_id, f"Team {team_id}", bot_token,
                                             f"UBOT{team_id}", f"B{team_id}")

    def add_user(self, user_id: str, name: str, tz: str = "Europe/Berlin") -> None:
        self.users[user_id] = {"id": user_id, "name": name, "real_name": name.title(),
                               "tz": tz, "profile": {"display_name": name}}

    def set_channel_error(self, channel: str, error: str) -> None:
        """Answer every call about ``channel`` with ``error`` (not_in_channel, ...)."""
        self.channel_errors[channel] = error

    def fail_next(self, count: int, status: int = 500, *, retry_after: int | None = None,
                  method: str | None = None) -> None:
        """The next ``count`` API calls (to ``method``, if given) answer ``status``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures += [(status, headers, method)] * count

    def chaos(self, *, server_errors: float = 0.0, rate_limits: float = 0.0,
              stalls: float = 0.0, stall_seconds: float = 2.0, seed: int = 0) -> None:
        """Fail calls at random: 5xx, 429 with Retry-After 1, or a response held back for
        ``stall_seconds`` (a client timeout) after the call took effect, as a slow Slack
        does. Uploads of file bytes are not affected."""
        self.fault_rates = {"5xx": server_errors, "429": rate_limits, "stall": stalls}
        self.stall_seconds = stall_seconds
        self._random = random.Random(seed)

    def limit_posts_per_channel(self, per_second: float = 1.0) -> None:
        """Answer 429 to chat.postMessage sent to a channel sooner than 1/per_second after
        the previous one, as Slack's per-channel limit does (counted in ``pacing_429s``)."""
        self.channel_rate = per_second

    # ------------------------------------------------------------------ queries

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def ok_calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls_to(method) if c.response.get("ok")]

    def channel_messages(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel and not m.ephemeral_to]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.channel_messages(channel) if m.thread_ts == ts]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (the bot works after its ack) and return it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting; calls: "
                                         f"{[c.method for c in self.calls]}")
                self._lock.wait(min(remaining, 0.05))

    def wait_for_response(self, count: int = 1, timeout: float = 10.0
                          ) -> list[tuple[str, dict[str, Any]]]:
        return self.wait_for(
            lambda: self.responses if len(self.responses) >= count else None, timeout)

    # ------------------------------------------------------------------ HTTP plumbing

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = urlsplit(self.path).path
                status, headers, payload = fake._route(path, dict(self.headers.items()), body)
                data = json.dumps(payload).encode() if not isinstance(payload, bytes) \
                    else payload
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        return Handler

    def _route(self, path: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], Any]:
        if path.startswith("/response/"):
            return self._response_url(path, body)
        if path.startswith("/upload/"):
            return self._upload(path.removeprefix("/upload/"), body)
        if not path.startswith("/api/"):
            return 404, {}, {"ok": False, "error": "unknown_path"}
        method = path.removeprefix("/api/")
        args = _parse_body(headers, body)
        token = _token(headers, args)
        call = Call(method, args, token, time.monotonic())
        with self._lock:
            self.calls.append(call)
            failure = self._take_failure(method) or self._random_failure(method, args)
        if failure == "stall":
            response = self._answer(call, method, args, token)
            time.sleep(self.stall_seconds)  # the client has given up by now
            return 200, {}, response
        if failure is not None:
            status, extra_headers = failure
            call.status = status
            error = "ratelimited" if status == 429 else "internal_error"
            call.response = {"ok": False, "error": error}
            self._notify()
            return status, extra_headers, call.response
        return 200, {}, self._answer(call, method, args, token)

    def _answer(self, call: Call, method: str, args: dict[str, Any], token: str | None
                ) -> dict[str, Any]:
        try:
            result = self._dispatch(method, args, token)
            response = {"ok": True, **result}
        except SlackError as exc:
            response = {"ok": False, "error": exc.error, **exc.extra}
        call.response = response
        self._notify()
        return response

    def _random_failure(self, method: str, args: dict[str, Any]
                        ) -> tuple[int, dict[str, str]] | str | None:
        """Called with the lock held."""
        if method == "chat.postMessage" and self.channel_rate and args.get("channel"):
            channel, now = str(args["channel"]), time.monotonic()
            last = self._last_post.get(channel)
            if last is not None and now - last < 1 / self.channel_rate:
                self.pacing_429s += 1
                return 429, {"Retry-After": "1"}
            self._last_post[channel] = now
        if not self.fault_rates or method in NO_TOKEN_METHODS:
            return None
        roll = self._random.random()
        for kind in ("5xx", "429", "stall"):
            rate = self.fault_rates.get(kind, 0.0)
            if roll < rate:
                return {"5xx": (503, {}), "429": (429, {"Retry-After": "1"}),
                        "stall": "stall"}[kind]
            roll -= rate
        return None

    def _take_failure(self, method: str) -> tuple[int, dict[str, str]] | str | None:
        for index, (status, headers, only) in enumerate(self._failures):
            if only is None or only == method:
                del self._failures[index]
                return status, headers
        return None

    def _notify(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _response_url(self, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, b"invalid_payload"
        problems = _block_problems(payload.get("blocks") or [], MAX_MESSAGE_BLOCKS)
        if problems:
            return 400, {}, b"invalid_blocks"
        if not payload.get("text") and not payload.get("blocks") \
                and not payload.get("delete_original"):
            return 400, {}, b"no_text"
        with self._lock:
            self.responses.append((path.removeprefix("/response/"), payload))
        self._notify()
        return 200, {}, b"ok"

    def _upload(self, file_id: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            upload = self.uploads.get(file_id)
            if upload is None:
                return 404, {}, b"unknown upload"
            upload["content"] = body
        self._notify()
        return 200, {}, b"OK - %d" % len(body)

    # ------------------------------------------------------------------ methods

    def _workspace(self, token: str | None) -> Workspace:
        if not token:
            raise SlackError("not_authed")
        workspace = self.workspaces.get(token)
        if workspace is None:
            raise SlackError("invalid_auth")
        return workspace

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        workspace = None if method in NO_TOKEN_METHODS else self._workspace(token)
        missing = [name for name in REQUIRED.get(method, ()) if args.get(name) in (None, "")]
        if missing:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] missing required field: {name}" for name in missing]})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            raise SlackError("unknown_method")
        return handler(args, workspace)

    def _check_channel(self, channel: str) -> None:
        error = self.channel_errors.get(channel)
        if error:
            raise SlackError(error)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _auth_test(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {"url": f"https://{ws.team_id.lower()}.slack.com/", "team": ws.team_name,
                "team_id": ws.team_id, "user": "outcomes", "user_id": ws.bot_user_id,
                "bot_id": ws.bot_id, "is_enterprise_install": False}

    def _message_content(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        blocks = _json_arg(args.get("blocks"), "invalid_blocks_format") or []
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        problems = _block_problems(blocks, MAX_MESSAGE_BLOCKS)
        if problems:
            raise SlackError("invalid_blocks", errors=problems)
        text = args.get("text") or ""
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        return text, blocks

    def _chat_postMessage(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args["channel"])
        self._check_channel(channel)
        text, blocks = self._message_content(args)
        metadata = _json_arg(args.get("metadata"), "invalid_metadata_format")
        message = Message(channel, self._next_ts(), text, blocks, ws.bot_user_id,
                          thread_ts=args.get("thread_ts") or None, metadata=metadata)
        with self._lock:
            self.messages.append(message)
        return {"channel": channel, "ts": message.ts,
                "message": {"text": text, "blocks": blocks, "ts": message.ts}}

    def _chat_postEphemeral(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args["channel"])
        self._check_channel(channel)
        text, blocks = self._message_content(args)
        message = Message(channel, self._next_ts(), text, blocks, ws.bot_user_id,
                          ephemeral_to=str(args["user"]))
        with self._lock:
            self.messages.append(message)
        return {"message_ts": message.ts}

    def _chat_update(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = str(args["channel"]), str(args["ts"])
        self._check_channel(channel)
        text, blocks = self._message_content(args)
        with self._lock:
            for message in self.messages:
                if message.channel == channel and message.ts == ts:
                    message.text, message.blocks = text, blocks
                    return {"channel": channel, "ts": ts, "text": text}
        raise SlackError("message_not_found")

    def _views_open(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = self._check_view(args["view"], "modal")
        view_id = f"V{next(self._ids):05d}"
        view = {**view, "id": view_id}
        with self._lock:
            self.views[view_id] = view
        return {"view": view}

    def _views_update(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view_id = args.get("view_id")
        if not view_id and not args.get("external_id"):
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] view_id or external_id is required"]})
        if view_id not in self.views:
            raise SlackError("not_found")
        view = {**self._check_view(args["view"], "modal"), "id": view_id}
        with self._lock:
            self.views[view_id] = view
        return {"view": view}

    def _views_publish(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = self._check_view(args["view"], "home")
        with self._lock:
            self.home_views[str(args["user_id"])] = view
        return {"view": {**view, "id": f"VH{args['user_id']}"}}

    def _check_view(self, raw: Any, kind: str) -> dict[str, Any]:
        view = _json_arg(raw, "invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != kind:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] view.type must be {kind}"]})
        problems = _block_problems(view.get("blocks") or [], MAX_VIEW_BLOCKS)
        if kind == "modal":
            problems += _text_problems(view.get("title"), "/view/title", MAX_VIEW_TITLE,
                                       plain_only=True)
            has_inputs = any(b.get("type") == "input" for b in view.get("blocks") or [])
            if has_inputs and not view.get("submit"):
                problems.append("/view/submit: required when the view has input blocks")
            if view.get("submit") is not None:
                problems += _text_problems(view["submit"], "/view/submit", MAX_VIEW_TITLE,
                                           plain_only=True)
        if len(view.get("private_metadata") or "") > MAX_PRIVATE_METADATA:
            problems.append("/view/private_metadata: too long")
        if problems:
            raise SlackError("invalid_arguments", response_metadata={"messages": problems})
        return view

    def _files_getUploadURLExternal(self, args: dict[str, Any], ws: Workspace
                                    ) -> dict[str, Any]:
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if length <= 0:
            raise SlackError("invalid_length")
        file_id = f"F{next(self._ids):06d}"
        with self._lock:
            self.uploads[file_id] = {"filename": args["filename"], "length": length,
                                     "content": None}
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any], ws: Workspace
                                      ) -> dict[str, Any]:
        files = _json_arg(args["files"], "invalid_arguments")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channel = args.get("channel_id")
        if args.get("thread_ts") and not channel:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] thread_ts requires channel_id"]})
        if channel:
            self._check_channel(str(channel))
        shared = []
        for item in files:
            upload = self.uploads.get(item.get("id", ""))
            if upload is None:
                raise SlackError("file_not_found")
            if upload["content"] is None or len(upload["content"]) != upload["length"]:
                raise SlackError("file_upload_size_mismatch" if upload["content"]
                                 else "file_not_uploaded")
            upload.update(title=item.get("title") or upload["filename"], channel=channel,
                          thread_ts=args.get("thread_ts"))
            shared.append({"id": item["id"], "title": upload["title"],
                           "name": upload["filename"]})
        if channel:
            message = Message(str(channel), self._next_ts(),
                              args.get("initial_comment") or "", [], ws.bot_user_id,
                              thread_ts=args.get("thread_ts") or None, files=shared)
            with self._lock:
                self.messages.append(message)
        return {"files": shared}

    def _conversations_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args["channel"])
        if self.channel_errors.get(channel) == "channel_not_found":
            raise SlackError("channel_not_found")
        info = self.channels.get(channel, {})
        return {"channel": {"id": channel, "name": info.get("name", channel.lower()),
                            "is_member": channel not in self.channel_errors,
                            "is_private": info.get("is_private", False)}}

    def _conversations_join(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args["channel"])
        error = self.channel_errors.get(channel)
        if error == "channel_not_found" or self.channels.get(channel, {}).get("is_private"):
            raise SlackError("channel_not_found" if error else "method_not_supported_for_"
                             "channel_type")
        self.channel_errors.pop(channel, None)
        self.joined.add(channel)
        return {"channel": {"id": channel}}

    def _conversations_history(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args["channel"])
        self._check_channel(channel)
        with_metadata = str(args.get("include_all_metadata")).lower() in {"1", "true"}
        messages = [m for m in self.channel_messages(channel) if m.thread_ts in (None, m.ts)]
        return {"messages": [_as_json(m, with_metadata) for m in reversed(messages)],
                "has_more": False}

    def _conversations_replies(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = str(args["channel"]), str(args["ts"])
        self._check_channel(channel)
        with_metadata = str(args.get("include_all_metadata")).lower() in {"1", "true"}
        messages = [m for m in self.channel_messages(channel) if m.ts == ts or m.thread_ts == ts]
        return {"messages": [_as_json(m, with_metadata) for m in messages], "has_more": False}

    def _conversations_open(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        users = str(args.get("users") or "")
        if not users or "," in users:
            raise SlackError("invalid_arguments" if not users else "not_supported")
        return {"channel": {"id": f"D{users}"}}

    def _assistant_thread(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args["channel_id"]), str(args["thread_ts"]))
        with self._lock:
            return self.assistant_threads.setdefault(key, {"statuses": [], "title": None,
                                                           "prompts": None})

    def _assistant_threads_setStatus(self, args: dict[str, Any], ws: Workspace
                                     ) -> dict[str, Any]:
        self._assistant_thread(args)["statuses"].append(str(args["status"]))
        return {}

    def _assistant_threads_setTitle(self, args: dict[str, Any], ws: Workspace
                                    ) -> dict[str, Any]:
        self._assistant_thread(args)["title"] = str(args["title"])
        return {}

    def _assistant_threads_setSuggestedPrompts(self, args: dict[str, Any], ws: Workspace
                                               ) -> dict[str, Any]:
        prompts = _json_arg(args["prompts"], "invalid_arguments")
        if (not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS
                or not all(isinstance(p, dict) and p.get("title") and p.get("message")
                           for p in prompts)):
            raise SlackError("invalid_arguments")
        self._assistant_thread(args)["prompts"] = prompts
        return {}

    def _users_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user = self.users.get(str(args["user"]))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _oauth_v2_access(self, args: dict[str, Any], ws: None) -> dict[str, Any]:
        installed = self.install_codes.pop(str(args["code"]), None)
        if installed is None:
            raise SlackError("invalid_code")
        self.workspaces[installed.bot_token] = installed
        return {
            "app_id": "A0FAKE",
            "authed_user": {"id": "UINSTALLER"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": installed.bot_token,
            "bot_user_id": installed.bot_user_id,
            "team": {"id": installed.team_id, "name": installed.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }


@contextmanager
def running() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


# ---------------------------------------------------------------------- parsing/validation

def _parse_body(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if not body:
        return {}
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"__invalid_json__": True}
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _token(headers: dict[str, str], args: dict[str, Any]) -> str | None:
    auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    return args.pop("token", None)


def _json_arg(value: Any, error: str) -> Any:
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _as_json(message: Message, with_metadata: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text,
                            "blocks": message.blocks, "user": message.user}
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
    if message.files:
        data["files"] = message.files
    if with_metadata and message.metadata:
        data["metadata"] = message.metadata
    return data


def _text_problems(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return [f"must be a text object [json-pointer:{where}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be a non-empty string [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _element_problems(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or "type" not in element:
        return [f"must be an element [json-pointer:{where}]"]
    problems = []
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), f"{where}/text", MAX_BUTTON_TEXT,
                                   plain_only=True)
        if len(str(element.get("value", ""))) > 2000:
            problems.append(f"value too long [json-pointer:{where}/value]")
    if len(str(element.get("action_id", ""))) > 255:
        problems.append(f"action_id too long [json-pointer:{where}/action_id]")
    return problems


def _block_problems(blocks: Any, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks must be an array [json-pointer:/blocks]"]
    problems = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            problems.append(f"unsupported type [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                problems.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "header":
            problems += _text_problems(block.get("text"), f"{where}/text", MAX_HEADER_TEXT,
                                       plain_only=True)
        elif kind == "section":
            if block.get("text") is None and not block.get("fields"):
                problems.append(f"must have text or fields [json-pointer:{where}]")
            if block.get("text") is not None:
                problems += _text_problems(block["text"], f"{where}/text", MAX_SECTION_TEXT)
            for number, item in enumerate(block.get("fields") or []):
                problems += _text_problems(item, f"{where}/fields/{number}", 2000)
            if "accessory" in block:
                problems += _element_problems(block["accessory"], f"{where}/accessory")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > 10:
                problems.append(f"needs 1-10 elements [json-pointer:{where}/elements]")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                problems.append(f"needs 1-25 elements [json-pointer:{where}/elements]")
            for number, element in enumerate(elements):
                problems += _element_problems(element, f"{where}/elements/{number}")
            action_ids = [e.get("action_id") for e in elements if isinstance(e, dict)]
            if len(set(action_ids)) < len(action_ids):
                problems.append(f"duplicate action_id [json-pointer:{where}/elements]")
        elif kind == "input":
            problems += _text_problems(block.get("label"), f"{where}/label", 2000,
                                       plain_only=True)
            problems += _element_problems(block.get("element"), f"{where}/element")
        elif kind == "image" and not (block.get("image_url") or block.get("slack_file")):
            problems.append(f"needs image_url or slack_file [json-pointer:{where}]")
    return problems
