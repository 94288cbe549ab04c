"""The questions the bot answers, and the few closest to one it did not understand."""

from __future__ import annotations

from rapidfuzz import fuzz, process

# ``{initiative}`` is filled with a real initiative's name when the workspace has one.
EXAMPLES = (
    "What moved this sprint?",
    "What regressed this quarter?",
    "What improved in the last 30 days?",
    "How is {initiative} doing?",
    "What is off track?",
    "What is at risk?",
    "Which metrics are stale?",
    "What shipped this sprint?",
    "When will {initiative} reach its target?",
    "Why did {initiative} move?",
    "This sprint vs last sprint",
    "Who owns {initiative}?",
    "Who signed off {initiative}?",
)
SHOWN = 3


def examples(initiative_names: list[str]) -> list[str]:
    """Every example, about the first initiative where one is named (or left out)."""
    name = initiative_names[0] if initiative_names else ""
    return [q.format(initiative=name) for q in EXAMPLES if name or "{" not in q]


def closest_questions(text: str, initiative_names: list[str]) -> tuple[str, ...]:
    """The ``SHOWN`` example questions nearest to ``text`` (the first ones when none is)."""
    candidates = examples(initiative_names)
    ranked = process.extract(text, candidates, scorer=fuzz.token_set_ratio, limit=SHOWN)
    chosen = [choice for choice, score, _index in ranked if score >= 40]
    for question in candidates:
        if len(chosen) >= SHOWN:
            break
        if question not in chosen:
            chosen.append(question)
    return tuple(chosen[:SHOWN])
