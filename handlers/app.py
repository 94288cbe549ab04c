"""The bolt app: Slack's request verification and OAuth flow, with every listener registered."""

from __future__ import annotations

from slack_bolt import App
from sqlalchemy import Engine

from bot.slack.config import NOT_INSTALLED, SlackConfig, make_client, oauth_settings
from bot.slack.runtime import Runtime
from handlers import commands, discussed, home, modals, questions, signoff, tenancy

LISTENERS = (commands, modals, signoff, discussed, questions, home)


def build_app(config: SlackConfig, runtime: Runtime, engine: Engine) -> App:
    """The bolt app with every listener registered."""
    config.check()
    client = make_client(config.api_url)
    # Listeners run on the request's thread and return once they have acked and handed
    # their work to the runtime: no hop to a pool and back before the ack is sent.
    signing_secret = config.signing_secret or None
    if config.uses_oauth:
        app = App(signing_secret=signing_secret, client=client, process_before_response=True,
                  oauth_settings=oauth_settings(config, engine),
                  user_facing_authorize_error_message=NOT_INSTALLED)
    else:
        client.token = config.bot_token  # bolt takes the token from its client
        app = App(signing_secret=signing_secret, client=client, process_before_response=True)
    app.use(runtime.priority.middleware)
    app.use(tenancy.refuse_other_workspace)  # before any listener: the authorised workspace
    for listeners in LISTENERS:
        listeners.register(app, runtime)
    return app
