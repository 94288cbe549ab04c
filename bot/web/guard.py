"""What ``POST /slack/events`` checks before bolt reads a byte of the body.

Slack signs every request: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the app's
signing secret. The signature and its timestamp are checked on the raw bytes first, so junk
from anyone without the secret is answered 401 without being parsed (bolt checks again
after us). A signed request is then taken once across the replicas: the same signature
again, within the minutes it stays valid, is a replay and is not acted on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import signature
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.clock import Clock
from bot.core.errors import ConfigError
from bot.slack.ack_priority import AckPriority
from bot.storage.signed_requests import SignedRequests

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's window, either side of the timestamp


@dataclass(frozen=True)
class Refusal:
    """An answer given instead of handing the request to bolt."""

    status: int
    body: str


UNSIGNED = Refusal(401, "This endpoint answers requests signed by Slack only.")
REPLAYED = Refusal(200, "")  # Slack stops retrying; nothing is done twice


class _Seconds(signature.Clock):
    """The SDK's clock (seconds since the epoch) read from ours."""

    def __init__(self, now: Clock) -> None:
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


class _BytesVerifier(signature.SignatureVerifier):
    """Slack's scheme over the body's bytes: a body that is not UTF-8 is checked too
    (the SDK decodes it first, and fails), so it is refused 401 unsigned, 400 signed."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        digest = hmac.new(self.signing_secret.encode("utf-8"),
                          b"v0:" + timestamp.encode("ascii") + b":" + data, hashlib.sha256)
        return f"v0={digest.hexdigest()}"


class RequestGuard:
    """Signature, timestamp and replay checks for Slack's requests."""

    def __init__(self, signing_secret: str, sessions: sessionmaker[Session], now: Clock,
                 priority: AckPriority | None = None) -> None:
        if not signing_secret.strip():
            raise ConfigError("SLACK_SIGNING_SECRET is not set: the HTTP endpoint needs it "
                              "to tell Slack's requests from anyone else's (copy it from "
                              "your Slack app's Basic Information page).")
        self._clock = _Seconds(now)
        self._verifier = _BytesVerifier(signing_secret, self._clock)
        self._now = now
        self._seen = SignedRequests(sessions)
        # The replay check writes to the database before bolt is called: it counts as an
        # ack in progress, so the work behind earlier acks waits for it as for bolt's.
        self._counted: Callable[[Callable[[], bool]], bool] = \
            priority.middleware if priority else (lambda work: work())

    def unsigned(self, body: bytes, stamp: str | None, sig: str | None, client: str
                 ) -> Refusal | None:
        """UNSIGNED (and one log line saying why) unless ``sig`` is Slack's signature of
        ``body`` at ``stamp`` (the X-Slack-Signature and -Request-Timestamp headers), made
        within five minutes of now."""
        if not stamp or not sig:
            log.info("refused an unsigned request to the Slack endpoint from %s", client)
            return UNSIGNED
        why = ""
        if not stamp.isascii() or not stamp.isdigit():
            why = "its timestamp is not a number"
        elif abs(self._clock.now() - int(stamp)) > MAX_AGE_SECONDS:
            why = "its timestamp is more than five minutes off (a replay, or a clock is wrong)"
        elif not sig.isascii() or not self._verifier.is_valid(body, stamp, sig):
            why = "its signature does not match (another app's request, or a wrong " \
                  "SLACK_SIGNING_SECRET)"
        if why:
            log.warning("refused a request to the Slack endpoint from %s: %s", client, why)
            return UNSIGNED
        return None

    def replayed(self, sig: str, client: str) -> Refusal | None:
        """REPLAYED when this signature was accepted before (here or by another replica);
        call once the request is known to be signed and well-formed. Without a database
        to ask, the request is let through: whatever it asks for needs the database too."""
        try:
            if self._counted(lambda: self._seen.first_use(sig, self._now())):
                return None
        except SQLAlchemyError as exc:
            log.warning("could not check a signed request from %s for a replay: %s", client,
                        type(exc).__name__)
            return None
        log.info("a signed request from %s was sent again; not acted on twice", client)
        return REPLAYED
