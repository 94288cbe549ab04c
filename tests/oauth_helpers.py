"""Installing the bot through Slack's OAuth flow, as a browser does, against the fake Slack."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fake_slack import FakeSlack
from slack_helpers import SIGNING_SECRET, Bot, http_request

from bot.slack.config import SlackConfig

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-4f1e9d"
# Two fixed Fernet keys (32 bytes in URL-safe base64), so failures are reproducible.
KEY_A = "n0yWXbYb0Lm9Hqjc0yW2tq8O6YzEjVb0m3cF0rWkHcM="
KEY_B = "3Jw0Ub5m1uG5bN8sC4d0X9qf8r2YkV7eZtA6pL1oQsI="


def oauth_config(slack: FakeSlack, keys: str = KEY_A) -> SlackConfig:
    """OAuth installs into many workspaces, tokens encrypted under ``keys``."""
    return SlackConfig(signing_secret=SIGNING_SECRET, client_id=CLIENT_ID,
                       client_secret=CLIENT_SECRET, api_url=slack.api_url,
                       encryption_keys=keys)


def install(bot: Bot, slack: FakeSlack, team: str, token: str) -> None:
    """Open /slack/install, follow Slack's redirect back with a code that installs the app
    in ``team`` with ``token``."""
    page = http_request(f"{bot.server.url}/slack/install")
    assert page.status == 200
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.body)
    assert link is not None, page.body
    state = parse_qs(urlsplit(link[1].replace("&amp;", "&")).query)["state"][0]
    cookie = page.headers["set-cookie"].split(";")[0]
    slack.add_install_code(f"code-{team}", team, token)

    done = http_request(f"{bot.server.url}/slack/oauth_redirect?code=code-{team}"
                        f"&state={state}", headers={"Cookie": cookie})

    assert done.status == 200, done.body
