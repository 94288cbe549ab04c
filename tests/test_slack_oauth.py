"""Installing through Slack OAuth into a second workspace, with the installation and state
stores in our own database (tables made by Alembic), then a command from that workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_slack import FakeSlack
from oauth_helpers import install, oauth_config
from slack_helpers import Bot, http_request, migrated_engine, serving
from sqlalchemy import select

from bot.storage.models import Initiative

pytest_plugins = ("slack_fixtures",)  # the bot and fake Slack fixtures


@pytest.fixture
def oauth_bot(slack: FakeSlack, database_url: str) -> Iterator[Bot]:
    engine = migrated_engine(database_url)
    try:
        with serving(slack, engine, oauth_config(slack)) as running:
            yield running
    finally:
        engine.dispose()


def test_install_into_a_second_workspace_then_use_it(oauth_bot: Bot, slack: FakeSlack
                                                     ) -> None:
    install(oauth_bot, slack, "T2", "xoxb-fake-T2")

    oauth_bot.command('define onboarding "Smoother onboarding"', team="T2")

    reply = slack.wait_for_response(2)[0][1]
    assert reply["text"].startswith("Defined onboarding")
    with oauth_bot.runtime.sessions() as session:
        assert session.scalar(select(Initiative.workspace)) == "T2"
    assert [c.token for c in slack.calls_to("auth.test")][-1] == "xoxb-fake-T2"
    assert slack.calls_to("oauth.v2.access")[0].args["code"] == "code-T2"


def test_a_review_from_a_second_workspace_posts_with_its_own_token(oauth_bot: Bot,
                                                                   slack: FakeSlack) -> None:
    install(oauth_bot, slack, "T1", "xoxb-fake-T1")
    install(oauth_bot, slack, "T2", "xoxb-fake-T2")
    oauth_bot.command('define onboarding "Smoother onboarding"', team="T2")
    slack.wait_for_response(2)
    oauth_bot.command('metric add onboarding activation "Activation" target=60', team="T2")
    slack.wait_for_response(3)

    oauth_bot.command("review", team="T2")

    post = slack.wait_for(lambda: [c for c in slack.ok_calls_to("chat.postMessage")
                                   if c.args.get("text", "").startswith("Outcome review")])[0]
    assert post.token == "xoxb-fake-T2"


def test_a_state_that_was_not_issued_is_refused(oauth_bot: Bot, slack: FakeSlack) -> None:
    slack.add_install_code("code-T9", "T9", "xoxb-fake-T9")

    result = http_request(f"{oauth_bot.server.url}/slack/oauth_redirect?code=code-T9"
                          "&state=forged")

    assert result.status == 400
    assert not slack.calls_to("oauth.v2.access")


def test_a_workspace_that_never_installed_gets_told_to_install(oauth_bot: Bot,
                                                               slack: FakeSlack) -> None:
    result = oauth_bot.command("list", team="T404")

    assert result.status == 200
    reply = slack.wait_for_response(1)[0][1]
    assert reply["text"].startswith("Outcomes is not installed in this workspace")
