"""The bolt app: Slack's request verification and OAuth flow, with every listener registered."""

from __future__ import annotations

from slack_bolt import App
from sqlalchemy import Engine

from bot.slack.config import NOT_INSTALLED, SlackConfig, make_client, oauth_settings
from bot.slack.posters import clients_for
from bot.slack.runtime import Runtime
from bot.slack.work import WorkFunction
from handlers import commands, discussed, home, modals, questions, signoff, tenancy

LISTENERS = (commands, modals, signoff, discussed, questions, home)


def work_functions() -> dict[str, WorkFunction]:
    """Every listener's work after the ack, by the name its tasks carry."""
    functions: dict[str, WorkFunction] = {}
    for listeners in LISTENERS:
        functions.update(listeners.WORK_FUNCTIONS)
    return functions


def serve_work(config: SlackConfig, runtime: Runtime, engine: Engine) -> None:
    """Make ``runtime`` able to run the listeners' work (and, in the embedded mode, run
    it in this process): what a worker process does without the bolt app."""
    runtime.serve(clients_for(config, engine), work_functions())


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
    serve_work(config, runtime, engine)
    return app
