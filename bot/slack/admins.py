"""Who is an Outcomes admin of a Slack workspace.

Slack's own workspace admins and owners (``users.info``: ``is_admin``, ``is_owner``,
``is_primary_owner``), and the user ids the operator names in ``OUTCOME_ADMINS``. The
answer is cached per (workspace, user) for a few minutes: a command should not cost a
Web API call, and a demoted admin loses the role soon enough. A failed ``users.info``
(a missing ``users:read`` scope, a rate limit, an outage) means "not an admin": logged,
never an error shown to the person asking.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

CACHE_FOR = timedelta(minutes=10)
# After a failed lookup, try again sooner: a transient error should not lock an admin out.
RETRY_AFTER = timedelta(minutes=1)
SLACK_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


def parse_admins(text: str) -> frozenset[str]:
    """The user ids of ``OUTCOME_ADMINS`` (comma- or space-separated)."""
    return frozenset(word for word in text.replace(",", " ").split() if word)


class WorkspaceAdmins:
    """Answers "is this user an admin here?", with the operator's extra admins."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = frozenset(extra)
        self._known: dict[tuple[str, str], tuple[bool, datetime]] = {}
        self._lock = threading.Lock()

    def is_admin(self, client: WebClient | None, team: str, user: str, *,
                 now: datetime) -> bool:
        """Whether ``user`` administers ``team``; without a client only ``extra`` counts."""
        if user in self.extra:
            return True
        if client is None or not user:
            return False
        with self._lock:
            known = self._known.get((team, user))
        if known is not None and now < known[1]:
            return known[0]
        admin, ok = self._ask_slack(client, team, user)
        with self._lock:
            self._known[(team, user)] = (admin, now + (CACHE_FOR if ok else RETRY_AFTER))
        return admin

    @staticmethod
    def _ask_slack(client: WebClient, team: str, user: str) -> tuple[bool, bool]:
        """(admin, whether Slack answered)."""
        try:
            profile = client.users_info(user=user).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info for %s in %s failed (%s): treated as not an admin", user,
                        team, exc.response.get("error"))
            return False, False
        except (SlackClientError, OSError) as exc:
            log.warning("users.info for %s in %s failed (%s): treated as not an admin", user,
                        team, type(exc).__name__)
            return False, False
        if profile.get("deleted"):
            return False, True
        return any(profile.get(flag) is True for flag in SLACK_ADMIN_FLAGS), True
