"""Questions in everyday words: "how's the fleet update going?", "what got worse since
last sprint?", "why?" in a thread. :func:`understand` turns one into a :class:`Question`."""

from bot.grammar.ask.intents import Intent, Question
from bot.grammar.ask.names import Catalogue, KnownInitiative, KnownMetric
from bot.grammar.ask.understand import Ambiguous, NotUnderstood, Understanding, understand

__all__ = ["Ambiguous", "Catalogue", "Intent", "KnownInitiative", "KnownMetric",
           "NotUnderstood", "Question", "Understanding", "understand"]
