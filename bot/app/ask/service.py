"""Answer a question in everyday words, the same way for Slack (mentions, DMs, assistant
threads) and for ``outcome ask``: understand it against the workspace's initiatives and
the thread's last question, answer it, and remember it for the next follow-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.app.ask import answers
from bot.app.commands import execute_safely
from bot.app.context import Context, Reply
from bot.core.errors import OutcomeError, UsageError
from bot.core.kinds import InitiativeStatus
from bot.core.periods import THIS_SPRINT
from bot.grammar import commands as g
from bot.grammar.ask import (
    Ambiguous,
    Catalogue,
    Intent,
    KnownInitiative,
    KnownMetric,
    NotUnderstood,
    Question,
    understand,
)
from bot.grammar.ask.memory import question_data, question_from
from bot.grammar.ask.suggestions import examples
from bot.storage import ask_threads
from bot.storage.db import in_transaction
from bot.storage.models import Initiative

HIDDEN = (InitiativeStatus.ARCHIVED, InitiativeStatus.CLOSED)


@dataclass(frozen=True)
class Thread:
    """Where a question was asked in Slack: its follow-ups share the context."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Choice:
    """A button under an answer: asks ``question`` (about ``initiative``, when picked)."""

    label: str
    question: str
    initiative: str | None = None


@dataclass(frozen=True)
class Answer:
    """The reply, the question as understood (None when it was not), the buttons."""

    reply: Reply
    question: Question | None = None
    choices: tuple[Choice, ...] = ()


def catalogue_of(session: Session, workspace: str) -> Catalogue:
    """The workspace's active initiatives and their metrics, for matching names."""
    rows = session.scalars(select(Initiative).where(
        Initiative.workspace == workspace, Initiative.status.not_in(HIDDEN))
        .options(selectinload(Initiative.metrics)).order_by(Initiative.key)).all()
    return Catalogue(tuple(
        KnownInitiative(row.key, row.name,
                        tuple(KnownMetric(m.key, m.name) for m in row.metrics))
        for row in rows))


def help_reply(catalogue: Catalogue) -> Reply:
    """A short list of what can be asked, with the workspace's own names in it."""
    names = [i.name for i in catalogue.initiatives]
    lines = ["Ask me in your own words, for example:"]
    lines += [f"• {q}" for q in examples(names)]
    lines.append("Periods: this/last sprint, this/last quarter, since Oct 1, last 30 days, "
                 "this month, Q3, year to date. In a thread, follow up with "
                 "\"and last quarter?\" or \"why?\".")
    return Reply("\n".join(lines))


def _commanded(question: Question) -> g.Command | None:
    """The command that answers ``question`` as it stands, if one does."""
    period = question.period
    if question.intent is Intent.MOVED and question.initiative is None:
        return g.Moved(period or THIS_SPRINT, only_regressed=question.movement == "regressed",
                       only_improved=question.movement == "improved")
    if question.intent in (Intent.MOVED, Intent.HOW):
        return g.ReviewCommand(question.initiative, period or THIS_SPRINT)
    if question.intent is Intent.STALE:
        return g.MissingData()
    return None


ANSWERS: dict[Intent, Callable[[Session, Context, Question], Reply]] = {
    Intent.STATUS: answers.status_answer,
    Intent.SHIPPED: answers.shipped_answer,
    Intent.WHEN: answers.when_answer,
    Intent.WHY: answers.why_answer,
    Intent.COMPARE: answers.compare_answer,
    Intent.WHO: answers.who_answer,
}


def _answered(question: Question, ctx: Context, catalogue: Catalogue) -> Reply:
    if question.intent is Intent.HELP:
        return help_reply(catalogue)
    command = _commanded(question)
    if command is not None:
        return execute_safely(command, ctx)
    answer = ANSWERS[question.intent]
    try:
        return in_transaction(ctx.sessions, lambda session: answer(session, ctx, question))
    except OutcomeError as exc:  # UsageError included: an unknown initiative, a bad period
        return Reply(exc.message, error=True)


def _not_understood(found: NotUnderstood, catalogue: Catalogue) -> Answer:
    text = "I'm not sure what you're asking. Try one of these:\n"
    text += "\n".join(f"• {q}" for q in found.suggestions)
    if not catalogue.initiatives:
        text += "\n(No initiatives yet: define one with /outcome define.)"
    return Answer(Reply(text), choices=tuple(Choice(q, q) for q in found.suggestions))


def _ask_back(found: Ambiguous, text: str, ctx: Context) -> Answer:
    names = "\n".join(f"• {i.name} ({i.key})" for i in found.candidates)
    head = (f"I don't know an initiative called '{found.unknown[:80]}'. "
            if found.unknown else "")
    if not found.candidates:
        return Answer(Reply(f"{head}There are no initiatives yet: define one with "
                            f"{ctx.prefix} define <key> \"<name>\"."), found.question)
    return Answer(Reply(f"{head}Which initiative do you mean?\n{names}"), found.question,
                  tuple(Choice(i.name, text, i.key) for i in found.candidates))


def ask(text: str, ctx: Context, thread: Thread | None = None,
        chosen: str | None = None) -> Answer:
    """Understand and answer ``text``; never raises for anything the asker did."""
    def read(session: Session) -> tuple[Catalogue, Question | None]:
        previous = None
        if thread is not None:
            stored = ask_threads.recall(session, ctx.actor.workspace, thread.channel,
                                        thread.ts)
            previous = question_from(stored) if stored else None
        return catalogue_of(session, ctx.actor.workspace), previous

    catalogue, previous = in_transaction(ctx.sessions, read)
    try:
        found = understand(text, catalogue, ctx.now().date(), previous, chosen)
    except UsageError as exc:  # a period said in a way that cannot be (Q5, 0 days)
        return Answer(Reply(exc.message, error=True))
    if isinstance(found, NotUnderstood):
        return _not_understood(found, catalogue)
    if isinstance(found, Ambiguous):
        return _ask_back(found, text, ctx)
    reply = _answered(found, ctx, catalogue)
    if thread is not None and not reply.error:
        in_transaction(ctx.sessions, lambda session: ask_threads.remember(
            session, ctx.actor.workspace, thread.channel, thread.ts, question_data(found),
            ctx.now()))
    return Answer(reply, found)
