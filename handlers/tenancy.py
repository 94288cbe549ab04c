"""One workspace per request: the one bolt authorised, never one the body names.

bolt authorises a request before any listener runs: with a single bot token the workspace
is the token's (``auth.test``), with OAuth it is the installation found in the store, and
``context.authorize_result`` holds it. Listeners take the workspace from there
(:func:`handlers.common.workspace_of`). This global middleware refuses a request whose body
names another installation than the authorised one, before any listener runs.

Which fields name the installation, and which do not (Slack Connect):

- slash commands: ``team_id``;
- interactions: ``team.id``, and ``view.app_installed_team_id`` when a view carries it; a
  modal opened through a Slack Connect channel has the other organisation's workspace as
  ``team.id`` and ours as ``app_installed_team_id``, so ``team.id`` is then not compared;
- events: ``authorizations[0].team_id`` (the installation the event is delivered to); the
  envelope's ``team_id`` is where the event happened, which in a shared channel can be the
  other organisation's workspace, so it is compared only when ``authorizations`` is absent.

The user's home team (``user.team_id``, ``event.team``, ``event.user_team``) is never
compared: in a shared channel it is legitimately another workspace. For an org-wide
(Enterprise Grid) installation, whose authorisation has no team, the enterprise ids are
compared instead and the enterprise id is the workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from handlers.common import workspace_of

log = logging.getLogger(__name__)

OTHER_WORKSPACE = ("This request names another workspace than the one Outcomes is installed "
                   "in; nothing was done.")


def _id(value: Any, key: str = "id") -> str | None:
    if isinstance(value, dict):
        value = value.get(key)
    return str(value) if isinstance(value, str) and value else None


def named_installation(body: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The team ids and enterprise ids a body names for the installation it is meant for."""
    teams: set[str | None] = set()
    enterprises: set[str | None] = {_id(body.get("enterprise_id")),
                                    _id(body.get("enterprise"))}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    installed = _id(view, "app_installed_team_id")
    teams.add(installed)
    if installed is None:
        teams.add(_id(body.get("team")))
    if isinstance(body.get("team"), dict):
        enterprises.add(_id(body["team"], "enterprise_id"))
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        teams.add(_id(authorizations[0], "team_id"))
        enterprises.add(_id(authorizations[0], "enterprise_id"))
    else:
        teams.add(_id(body.get("team_id")))
    return {t for t in teams if t}, {e for e in enterprises if e}


def names_another_workspace(body: dict[str, Any], context: BoltContext) -> bool:
    """True when the body names an installation other than the one bolt authorised."""
    result = context.authorize_result
    if result is None or not (result.team_id or result.enterprise_id):
        return False  # url_verification, app_uninstalled: no listener of ours runs
    teams, enterprises = named_installation(body)
    named = teams if result.team_id else enterprises
    return any(name != workspace_of(context) for name in named)


def refuse_other_workspace(body: dict[str, Any], context: BoltContext,
                           next_: Callable[[], None]) -> BoltResponse | None:
    """A bolt global middleware: a request naming another workspace runs no listener."""
    if not names_another_workspace(body, context):
        next_()
        return None
    teams, enterprises = named_installation(body)
    log.warning("refused a %s request naming workspace(s) %s while %s is authorised",
                body.get("type") or body.get("command") or "Slack",
                ", ".join(sorted(repr(name[:32]) for name in teams | enterprises)),
                workspace_of(context))
    if body.get("type") == "event_callback":
        return BoltResponse(status=200, body="")  # acked, so Slack does not send it again
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral",
                                              "text": OTHER_WORKSPACE})
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body={"response_action": "update", "view": {
            "type": "modal", "title": {"type": "plain_text", "text": "Outcomes"},
            "blocks": [{"type": "section",
                        "text": {"type": "plain_text", "text": OTHER_WORKSPACE}}]}})
    if context.response_url and context.respond is not None:
        try:
            context.respond(text=OTHER_WORKSPACE, response_type="ephemeral",
                            replace_original=False)
        except Exception:
            log.warning("could not tell the user their request was refused", exc_info=True)
    return BoltResponse(status=200, body="")
