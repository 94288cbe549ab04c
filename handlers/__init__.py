"""Slack listeners. Each module exposes ``register(app, runtime)``.

Listeners are thin: they acknowledge first, parse with :mod:`bot.grammar` or
:mod:`bot.questions`, call :mod:`bot.commands` / :mod:`bot.services`, render with
:mod:`bot.render`, and send with :mod:`bot.slack_posting`. The runtime (database sessions,
defaults) is passed in rather than kept in a global, so tests can build several apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.slack_app import Runtime


def register_all(app: App, runtime: Runtime) -> None:
    from handlers import commands, discussed, home, modals, questions, signoff

    for module in (commands, modals, signoff, discussed, questions, home):
        module.register(app, runtime)
