"""Slack listeners. Each module exposes ``register(app, runtime)``; :mod:`handlers.app`
builds the bolt app with all of them.

Listeners are thin: they acknowledge first, normalise Slack's markup, call
:mod:`bot.app.commands` / :mod:`bot.app.services`, render with :mod:`bot.render`, and send
with :mod:`bot.slack.posting`. The runtime (database sessions, clock, defaults) is passed in
rather than kept in a global, so tests can build several apps.
"""
