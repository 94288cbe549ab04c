"""Sending reviews to Slack: a headline message, then one thread reply per initiative with
its chart, its numbers and a "Discussed" button.

Rendering is done by :mod:`bot.render` (pure); this module only sends, and turns Slack's
refusals into :class:`SlackDeliveryError` with a message that tells the person who asked
what to do. It implements :class:`bot.app.digests.DigestPoster`, so scheduled digests and
``/outcome review`` post the same way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from bot.core.errors import OutcomeError
from bot.core.review import InitiativeReview, Review
from bot.render.blocks import initiative_messages, review_messages
from bot.render.mrkdwn import as_mrkdwn, channel_link, escape
from bot.render.pool import render_chart_files, start_chart_files

log = logging.getLogger(__name__)

DISCUSSED_ACTION = "outcome_discussed"
DIGEST_EVENT = "outcome_digest"
DIGEST_PART_EVENT = "outcome_digest_part"
MAX_BLOCKS = 50
UPLOAD_ATTEMPTS = 3
MAX_TEXT = 40_000
# Every message the bot posts: a link in someone's text never pulls a preview into the
# channel. (chat.update keeps what the post chose; it takes `parse`, set to "none" below,
# because it defaults to "client" formatting, unlike chat.postMessage.)
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}


# Slack errors that retrying cannot fix, with what the person who asked should do.
_AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
                "account_inactive", "missing_scope", "no_permission"}


class SlackDeliveryError(OutcomeError):
    """Slack refused to take a message; ``message`` says what to do about it."""

    def __init__(self, message: str, *, error: str = "", permanent: bool = True) -> None:
        super().__init__(message, permanent=permanent)
        self.error = error


def explain(exc: Exception, channel: str = "") -> SlackDeliveryError:
    """A clear, user-facing explanation of a failed Slack call, as mrkdwn."""
    where = channel_link(channel) if channel else "that channel"
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error == "not_in_channel":
            return SlackDeliveryError(
                f"I'm not a member of {where}, so I can't post there. Invite me with "
                f"`/invite @Outcomes` in {where} and try again.", error=error)
        if error in {"channel_not_found", "is_archived"}:
            return SlackDeliveryError(
                f"I can't find {where} (it may be private, archived or deleted). Invite me to "
                "the channel, or choose another one with `/outcome define <key> "
                "channel=#channel`.", error=error)
        if error in _AUTH_ERRORS:
            return SlackDeliveryError(
                f"My Slack authorisation was refused ({error}). A workspace admin needs to "
                "reinstall the Outcomes app (see docs/slack.md); nothing was posted.",
                error=error)
        if error == "ratelimited":
            return SlackDeliveryError(
                "Slack is rate-limiting me right now; nothing was lost, please try again in "
                "a minute.", error=error, permanent=False)
        return SlackDeliveryError(
            f"Slack refused the message ({error or 'unknown error'}). It has been logged; "
            "please try again or tell your Outcomes admin.", error=error,
            permanent=False)
    return SlackDeliveryError(
        "I could not reach Slack to post this (a network problem). Nothing was lost; please "
        "try again in a minute.", error=type(exc).__name__, permanent=False)


def headline_blocks(review: Review, *, late: bool = False) -> list[dict[str, Any]]:
    """The review's summary blocks: what the renderer puts before the first initiative."""

    blocks = review_messages(review)[0]["blocks"]
    summary = []
    for block in blocks:
        if block.get("type") == "divider":
            break
        summary.append(block)
    summary.append({"type": "context", "elements": [{
        "type": "mrkdwn",
        "text": "One reply per initiative in the thread :thread: with its chart."}]})
    if late:
        summary.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": ":hourglass: Posted late: the bot was unavailable at "
            "the scheduled time."}]})
    return summary


def discussed_button(initiative: InitiativeReview) -> dict[str, Any]:
    value = json.dumps({"i": initiative.key, "p": initiative.period.label[:200]})
    return {"type": "actions", "block_id": f"discussed:{initiative.key}"[:255], "elements": [{
        "type": "button", "action_id": DISCUSSED_ACTION, "style": "primary",
        "text": {"type": "plain_text", "text": "Discussed", "emoji": True},
        "value": value,
    }]}


def initiative_payloads(initiative: InitiativeReview) -> list[dict[str, Any]]:
    """The thread reply (or replies) for one initiative; the last carries the button."""

    messages = [dict(m) for m in initiative_messages(initiative)]
    last = messages[-1]
    if len(last["blocks"]) < MAX_BLOCKS:
        last["blocks"] = [*last["blocks"], discussed_button(initiative)]
    else:
        messages.append({"text": f"{escape(initiative.name)}: discussed?",
                         "blocks": [discussed_button(initiative)]})
    return messages


PREPARED_LIMIT = 256  # charts started ahead and not yet posted, kept per process
_prepared: OrderedDict[tuple[str, str], Future[list[dict[str, Any]]]] = OrderedDict()
_prepared_lock = threading.Lock()


def prepare_charts(run_key: str, initiatives: list[InitiativeReview]) -> None:
    """Start drawing these thread replies' charts in the pool now, so each is ready when
    its turn comes (in this process; another process draws its own when it gets there)."""
    for initiative in initiatives:
        future = start_chart_files(initiative)
        if future is None:
            return
        with _prepared_lock:
            _prepared[(run_key, initiative.key)] = future
            while len(_prepared) > PREPARED_LIMIT:
                _prepared.popitem(last=False)[1].cancel()


def render_charts(initiative: InitiativeReview, run_key: str = "") -> list[dict[str, Any]]:
    """PNG uploads for one initiative, drawn off this process (see :mod:`bot.render.pool`):
    the ones :func:`prepare_charts` started, or drawn now."""
    with _prepared_lock:
        future = _prepared.pop((run_key, initiative.key), None)
    if future is not None:
        try:
            return future.result()
        except Exception:  # a worker died or the draw failed: draw it again, now
            log.warning("a chart drawn ahead failed; drawing it again", exc_info=True)
    return render_chart_files(initiative)


POST_INTERVAL = 1.1  # Slack allows about one message a second per channel; keep a margin


class ChannelPacer:
    """Spaces chat.postMessage calls to one channel at least ``interval`` seconds apart,
    without holding up other channels."""

    def __init__(self, interval: float = POST_INTERVAL) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class SlackPoster:
    """Posts reviews and reminders with one workspace's client."""

    def __init__(self, client: WebClient, *, join_public_channels: bool = True,
                 pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self.join_public_channels = join_public_channels
        self.pacer = pacer or ChannelPacer()

    # ------------------------------------------------------------------ whole reviews

    def post_review(self, channel: str, review: Review, *, run_key: str = "",
                    late: bool = False) -> str:
        """Headline plus one thread reply per initiative; returns the headline's ts."""
        ts = self.post_headline(channel, review, run_key, late)
        for initiative in review.initiatives:
            self.post_initiative(channel, ts, initiative, run_key)
        return ts

    # ------------------------------------------------------------------ DigestPoster

    def post_headline(self, channel: str, review: Review, run_key: str, late: bool) -> str:
        response = self.call(
            "chat_postMessage", channel,
            channel=channel,
            text=as_mrkdwn(f"{review.title} — {review.period_label}", MAX_TEXT),
            blocks=headline_blocks(review, late=late),
            metadata={"event_type": DIGEST_EVENT, "event_payload": {"run_key": run_key}},
        )
        return str(response["ts"])

    def post_initiative(self, channel: str, thread_ts: str, initiative: InitiativeReview,
                        run_key: str) -> None:
        """Charts first, then the numbers; the last message carries the run key, so a
        digest resumed after a crash knows this initiative is complete once it sees it."""
        uploads = render_charts(initiative, run_key)
        if uploads:
            self.upload(channel, thread_ts, uploads)
        payloads = initiative_payloads(initiative)
        for index, payload in enumerate(payloads):
            marker = {}
            if index == len(payloads) - 1:
                marker = {"metadata": {"event_type": DIGEST_PART_EVENT, "event_payload": {
                    "run_key": run_key, "part": initiative.key}}}
            self.call("chat_postMessage", channel, channel=channel, thread_ts=thread_ts,
                      text=payload["text"], blocks=payload["blocks"], **marker)

    def prepare(self, run_key: str, initiatives: list[InitiativeReview]) -> None:
        prepare_charts(run_key, initiatives)

    def find_digest(self, channel: str, run_key: str, since: datetime) -> str | None:
        response = self.call("conversations_history", channel, channel=channel,
                              oldest=f"{since.timestamp():.6f}", include_all_metadata=True,
                              limit=200)
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == DIGEST_EVENT and \
                    metadata.get("event_payload", {}).get("run_key") == run_key:
                return str(message["ts"])
        return None

    def has_reply(self, channel: str, thread_ts: str, run_key: str, part: str) -> bool:
        response = self.call("conversations_replies", channel, channel=channel, ts=thread_ts,
                              include_all_metadata=True, limit=200)
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == DIGEST_PART_EVENT and \
                    payload.get("run_key") == run_key and payload.get("part") == part:
                return True
        return False

    def nudge(self, user: str, text: str) -> None:
        """DM ``text``, a reminder the app wrote (plain text: escaped here)."""
        self.call("chat_postMessage", user, channel=user, text=as_mrkdwn(text, MAX_TEXT))

    # ------------------------------------------------------------------ plumbing

    def upload(self, channel: str, thread_ts: str | None, uploads: list[dict[str, Any]],
               comment: str | None = None) -> None:
        """files.getUploadURLExternal → upload → files.completeUploadExternal, shared into
        the channel (and thread). The raw upload is not retried by the SDK, so it is here."""
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                self.call("files_upload_v2", channel, file_uploads=uploads, channel=channel,
                           thread_ts=thread_ts, initial_comment=comment)
                return
            except SlackDeliveryError as exc:
                if exc.permanent or attempt == UPLOAD_ATTEMPTS:
                    raise
            time.sleep(0.2 * attempt)

    def call(self, method: str, channel: str, /, **kwargs: Any) -> Any:
        """Call the Web API; join a public channel once when not a member; map errors.

        Messages are posted without link previews and updated without Slack's "client"
        formatting, whatever the caller passed.
        """
        call = getattr(self.client, method)
        if method == "chat_postMessage":
            kwargs |= NO_UNFURL
            if channel:
                self.pacer.wait(channel)
        elif method == "chat_update":
            kwargs["parse"] = "none"
        try:
            try:
                return call(**kwargs)
            except SlackApiError as exc:
                if not (self.join_public_channels and channel
                        and exc.response.get("error") == "not_in_channel"
                        and self._join(channel)):
                    raise
                return call(**kwargs)
        except SlackApiError as exc:
            log.warning("Slack %s to %s failed: %s", method, channel,
                        exc.response.get("error"))
            raise explain(exc, channel) from exc
        except (SlackRequestError, SlackClientError, OSError) as exc:
            log.warning("Slack %s to %s failed: %s", method, channel, exc)
            raise explain(exc, channel) from exc

    def _join(self, channel: str) -> bool:
        try:
            self.client.conversations_join(channel=channel)
        except SlackApiError as exc:
            log.info("could not join %s: %s", channel, exc.response.get("error"))
            return False
        return True
