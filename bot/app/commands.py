"""Run parsed commands against the domain services; every transport calls :func:`run`.

A command yields a :class:`Reply`: text for the person who asked, and, for reviews, the
review model that each transport renders its own way (Block Kit, terminal, Markdown).
"""

from __future__ import annotations

import logging
from functools import singledispatch
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.app import deliverable_commands, digest_schedules, push_tokens
from bot.app.context import Attachment, Context, Reply
from bot.app.export import FORMAT_TITLES, export_initiatives
from bot.app.json_initiatives import list_document, load_signoffs, show_document
from bot.app.metric_changes import define_metric, remove_metric
from bot.app.permissions import Action, require
from bot.app.replies import (
    changed_text,
    criterion,
    diff_text,
    movement_line,
    still_counts,
    unit_suffix,
    values_text,
)
from bot.app.review_builder import build_review
from bot.app.services import (
    agree,
    archive,
    audit_log,
    define_initiative,
    find_initiative,
    find_metric,
    get_initiative,
    list_initiatives,
    record_value,
    unarchive,
)
from bot.app.showing import list_text, show_text
from bot.core.errors import OutcomeError, UsageError
from bot.core.periods import THIS_SPRINT, local_instant
from bot.core.review import Movement, Status, format_number
from bot.grammar import commands as g
from bot.storage.db import in_transaction
from bot.storage.samples import recent_samples
from metrics.jobs import PullJob, pulled_metrics
from metrics.kinds import is_pulled
from metrics.pulling import Puller, PullPolicy

log = logging.getLogger(__name__)


# A pull someone waits for: each metric's read, retry included, ends within 25 s (the
# scheduled pulls allow 90 s), so the answer comes before Slack says "still pulling".
PULL_NOW = PullPolicy(retries=1, deadline=25.0)

GENERIC_ERROR = ("Something went wrong on our side and it has been logged. Nothing you typed "
                 "was lost; please try again in a minute.")


def usage_text(exc: UsageError, prefix: str, *, code: bool = False) -> str:
    """The error and, when it has one, the command's usage (``code``: as inline code)."""
    if not exc.usage:
        return exc.message
    usage = f"{prefix} {exc.usage}"
    return f"{exc.message}\nUsage: " + (f"`{usage}`" if code else usage)


def run(text: str, ctx: Context, *, code: bool = False) -> Reply:
    """Parse and execute ``text``; never raises: errors become a specific reply."""
    try:
        command = g.parse(text)
    except UsageError as exc:
        return Reply(usage_text(exc, ctx.prefix, code=code), error=True)
    return execute_safely(command, ctx, code=code)


def execute_safely(command: g.Command, ctx: Context, *, code: bool = False) -> Reply:
    """:func:`execute`, with every error turned into a specific reply (never a traceback)."""
    try:
        return execute(command, ctx)
    except UsageError as exc:
        return Reply(usage_text(exc, ctx.prefix, code=code), error=True)
    except OutcomeError as exc:
        return Reply(exc.message, error=True)
    except Exception:
        log.exception("command failed: %s", type(command).__name__)
        return Reply(GENERIC_ERROR, error=True)


def execute(command: g.Command, ctx: Context) -> Reply:
    """Execute one parsed command in a single transaction (retried if the connection drops)."""
    return in_transaction(ctx.sessions, lambda session: _execute(command, session, ctx))


@singledispatch
def _execute(command: object, session: Session, ctx: Context) -> Reply:
    raise NotImplementedError(type(command).__name__)


@_execute.register
def _help(command: g.Help, session: Session, ctx: Context) -> Reply:
    return Reply(g.help_text(command.topic, ctx.prefix))


@_execute.register
def _define(command: g.Define, session: Session, ctx: Context) -> Reply:
    fields = dict(command.fields)
    if get_initiative(session, ctx.actor.workspace, command.key) is None:
        fields = ctx.defaults.for_new_initiative(fields, ctx.now())
    initiative, created = define_initiative(session, ctx.actor, command.key, fields,
                                              now=ctx.now())
    digest_schedules.sync_cadence(session, initiative)
    if created:
        return Reply(f"Defined {initiative.key}: {initiative.name} (draft). Next: "
                     f"{ctx.prefix} metric add {initiative.key} <key> \"<name>\" baseline=<n> "
                     f"target=<n> by=<date>", public=True)
    return Reply(changed_text(initiative, "Updated"), public=True)


@_execute.register
def _metric_add(command: g.MetricAdd, session: Session, ctx: Context) -> Reply:
    metric, created = define_metric(session, ctx.actor, command.initiative, command.key,
                                    dict(command.fields), now=ctx.now(),
                                    connections=ctx.connections)
    initiative = metric.initiative
    verb = "Added" if created else "Updated"
    return Reply(f"{verb} metric {initiative.key}.{metric.key}: {metric.name} "
                 f"({criterion(metric).text}). {changed_text(initiative, 'Initiative')}",
                 public=True)


@_execute.register
def _metric_remove(command: g.MetricRemove, session: Session, ctx: Context) -> Reply:
    metric, values_count = remove_metric(session, ctx.actor, command.initiative, command.key,
                                         now=ctx.now(), confirmed=command.confirmed)
    reference = f"{command.initiative}.{metric.key}"
    counted = f"{values_count} recorded value{'' if values_count == 1 else 's'}"
    if not command.confirmed:
        return Reply(f"This removes metric {reference} ({metric.name}) and its {counted}, "
                     "and sends agreed criteria back for sign-off. To go ahead: "
                     f"{ctx.prefix} metric remove {command.initiative} {metric.key} confirm")
    initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
    return Reply(f"Removed metric {reference} ({metric.name}) and its {counted}. "
                 f"{changed_text(initiative, 'Initiative')}", public=True)


@_execute.register
def _agree(command: g.Agree, session: Session, ctx: Context) -> Reply:
    initiative, missing = agree(session, ctx.actor, command.initiative, command.role,
                                now=ctx.now())
    if not missing:
        return Reply(f"{initiative.key} is agreed (revision {initiative.revision}) by "
                     f"{initiative.product_owner} and {initiative.engineering_owner}.",
                     public=True, events=("agreed",))
    waiting = ", ".join(role.value for role in missing)
    return Reply(f"Signed {initiative.key} (revision {initiative.revision}); waiting for the "
                 f"{waiting} owner.", public=True, events=("signed",))


@_execute.register
def _list(command: g.ListInitiatives, session: Session, ctx: Context) -> Reply:
    initiatives = list_initiatives(session, ctx.actor.workspace,
                                   include_archived=command.include_archived)
    schedules = digest_schedules.schedules_of(session, ctx.actor.workspace)
    load_signoffs(session, initiatives)
    document = list_document(initiatives, schedules)
    if not initiatives:
        return Reply(f"No initiatives yet. Start with: {ctx.prefix} define <key> \"<name>\"",
                     document=document)
    return Reply(list_text(initiatives, schedules), document=document)


@_execute.register
def _show(command: g.Show, session: Session, ctx: Context) -> Reply:
    initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
    return Reply(show_text(initiative), document=show_document(initiative))


@_execute.register
def _record(command: g.Record, session: Session, ctx: Context) -> Reply:
    initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
    metric = find_metric(initiative, command.metric)
    now = ctx.now()
    at = local_instant(command.at, initiative.timezone, now)
    if at > now:
        raise UsageError(f"{at:%Y-%m-%d %H:%M} is in the future; values are recorded when "
                         "observed.")
    stored = record_value(session, ctx.actor, command.initiative, command.metric,
                          command.value, at, command.segment)
    unit = f" {metric.unit}" if metric.unit else ""
    segment = f" for {command.segment}" if command.segment else ""
    where = f"{initiative.key}.{metric.key}{segment}"
    local = at.astimezone(ZoneInfo(initiative.timezone))
    if not stored:
        return Reply(f"{where} already has a value at {local:%Y-%m-%d %H:%M}; nothing changed.")
    return Reply(f"Recorded {format_number(command.value)}{unit} for {where} at "
                 f"{local:%Y-%m-%d %H:%M %Z}.")


@_execute.register
def _review(command: g.ReviewCommand, session: Session, ctx: Context) -> Reply:
    chosen = None
    if command.initiative:
        chosen = [find_initiative(session, ctx.actor.workspace, command.initiative)]
    review = build_review(session, ctx.actor.workspace, command.period, ctx.now(),
                          initiatives=chosen)
    if not review.initiatives:
        return Reply("No initiatives to review yet.")
    summary = "; ".join(f"{i.name}: {i.what_moved}" for i in review.initiatives)
    return Reply(f"{review.title}, {review.period_label}. {summary}", review=review,
                 public=True, review_is_answer=True)


@_execute.register
def _moved(command: g.Moved, session: Session, ctx: Context) -> Reply:
    review = build_review(session, ctx.actor.workspace, command.period, ctx.now(),
                          with_history=False)
    movers = review.ranked_movers()
    hidden = []
    verb = "moved"
    if command.only_regressed:
        movers = [(i, m) for i, m in movers if m.change.movement is Movement.REGRESSED]
        hidden = [(i, m, s) for i in review.initiatives for m in i.metrics
                  for s in m.hidden_regressions]
        verb = "regressed"
    elif command.only_improved:
        movers = [(i, m) for i, m in movers if m.change.movement is Movement.IMPROVED]
        verb = "improved"
    title = f"What {verb}"
    still = still_counts(review)
    if not movers and not hidden:
        return Reply(f"Nothing {verb} {review.period_label} beyond normal variation"
                     + (f" ({still})." if still else "."), review=review)
    lines = [f"{title}, {review.period_label}:"]
    for initiative, metric in movers:
        lines.append(f"• {movement_line(initiative.name, metric)}")
    for initiative, metric, segment in hidden:
        lines.append(f"• {initiative.name} / {metric.definition.name} {segment.segment}: "
                     f"{values_text(segment.change, metric.definition.unit)} regressed while "
                     "the total improved")
    if still and verb == "moved":
        lines.append(f"Did not move: {still}.")
    return Reply("\n".join(lines), review=review)


@_execute.register
def _missing(command: g.MissingData, session: Session, ctx: Context) -> Reply:
    review = build_review(session, ctx.actor.workspace, THIS_SPRINT,
                          ctx.now(), with_history=False)
    lines = [
        f"• {i.name} / {m.definition.name}: {m.status.value}, {m.status_reason}"
        for i in review.initiatives for m in i.metrics
        if m.status in (Status.NO_DATA, Status.STALE)
    ]
    if not lines:
        return Reply("Every metric has fresh data.")
    return Reply("Metrics without fresh data (a feature that cannot be measured is not "
                 "complete):\n" + "\n".join(lines))


@_execute.register
def _schedule(command: g.Schedule, session: Session, ctx: Context) -> Reply:
    initiative = None
    if command.initiative:
        initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
        if command.fields:
            initiative, _ = define_initiative(session, ctx.actor, command.initiative,
                                              dict(command.fields), now=ctx.now())
            digest_schedules.sync_cadence(session, initiative)
    defaults = digest_schedules.default_cadence(
        ctx.defaults.timezone, ctx.defaults.sprint_days, ctx.defaults.fiscal_year_start_month,
        ctx.defaults.first_sprint_start(ctx.now()))
    changed = digest_schedules.configure(
        session, ctx.actor, now=ctx.now(), initiative=initiative, channel=command.channel,
        digest=dict(command.digest), cadence=dict(command.fields), defaults=defaults)
    lines = []
    if initiative is not None:
        lines.append(f"{initiative.key} reviews: {initiative.sprint_days}-day sprints from "
                     f"{initiative.sprint_anchor:%Y-%m-%d}, time zone {initiative.timezone}, "
                     f"fiscal year from month {initiative.fiscal_year_start_month}.")
    where = f"#{command.channel}" if command.channel else (
        f"#{initiative.channel}" if initiative and initiative.channel else "")
    lines += [f"{where}: {digest_schedules.describe(row)}" for row in changed]
    return Reply("\n".join(lines))


@_execute.register
def _history(command: g.History, session: Session, ctx: Context) -> Reply:
    initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
    zone = ZoneInfo(initiative.timezone)
    if command.metric:
        metric = find_metric(initiative, command.metric)
        samples = recent_samples(session, metric.id)
        if not samples:
            return Reply(f"{initiative.key}.{metric.key} has no values yet.")
        lines = [f"Latest values of {initiative.key}.{metric.key}:"] + [
            f"• {s.observed_at.astimezone(zone):%Y-%m-%d %H:%M} "
            f"{format_number(s.value)}{unit_suffix(metric.unit)}"
            f"{' ' + s.segment if s.segment else ''} ({s.origin}, {s.recorded_by or '–'})"
            for s in samples
        ]
        return Reply("\n".join(lines))
    events = audit_log(session, initiative)
    lines = [f"Changes to {initiative.key}, newest first:"] + [
        f"• {e.at.astimezone(zone):%Y-%m-%d %H:%M} {e.actor} {e.action}"
        f"{diff_text(e.before, e.after)}"
        for e in events
    ]
    return Reply("\n".join(lines))


@_execute.register
def _archive(command: g.Archive, session: Session, ctx: Context) -> Reply:
    initiative = archive(session, ctx.actor, command.initiative, now=ctx.now())
    return Reply(f"Archived {initiative.key}; its criteria and history are kept.",
                 public=True)


@_execute.register
def _unarchive(command: g.Unarchive, session: Session, ctx: Context) -> Reply:
    initiative = unarchive(session, ctx.actor, command.initiative, now=ctx.now())
    return Reply(f"Unarchived {initiative.key}: a draft again at revision "
                 f"{initiative.revision}; both owners need to agree to its criteria again.",
                 public=True)


@_execute.register
def _export(command: g.Export, session: Session, ctx: Context) -> Reply:
    if command.initiative is None:
        require(ctx.actor, Action.EXPORT_ALL)
        initiatives = list_initiatives(session, ctx.actor.workspace)
        if not initiatives:
            return Reply(f"No initiatives to export yet. Start with: {ctx.prefix} define "
                         "<key> \"<name>\"")
    else:
        initiatives = [find_initiative(session, ctx.actor.workspace, command.initiative)]
        require(ctx.actor, Action.EXPORT, initiatives[0])
    exported = export_initiatives(session, initiatives, command.format, ctx.now(),
                                  label=command.initiative or "outcomes")
    what = command.initiative or f"{len(initiatives)} initiative(s)"
    return Reply(f"Exported {what} as {FORMAT_TITLES[command.format]}: {exported.filename}.",
                 attachment=Attachment(exported.filename, exported.content, exported.title))


@_execute.register
def _pull(command: g.Pull, session: Session, ctx: Context) -> Reply:
    require(ctx.actor, Action.PULL)
    if command.initiative is not None:
        initiative = find_initiative(session, ctx.actor.workspace, command.initiative)
        if command.metric is not None:
            metric = find_metric(initiative, command.metric)
            if not is_pulled(metric.source_kind):
                return Reply(f"{initiative.key}.{metric.key} is a {metric.source_kind} "
                             f"metric: nothing to pull. Record a value with {ctx.prefix} "
                             f"record {initiative.key}.{metric.key} <value>.")
    jobs = [PullJob.of(m) for m in pulled_metrics(session, ctx.actor.workspace,
                                                   initiative=command.initiative,
                                                   metric=command.metric)]
    resources = ctx.open_resources()
    try:
        report = Puller(ctx.sessions, resources, PULL_NOW, clock=ctx.now).pull(
            jobs, trigger="now")
    finally:
        resources.close()
    return Reply(report.text())


@_execute.register
def _push_token(command: g.PushTokenCommand, session: Session, ctx: Context) -> Reply:
    return push_tokens.run_command(command, session, ctx)


_execute.register(g.Shipped, deliverable_commands.shipped)
_execute.register(g.DeliverableCommand, deliverable_commands.deliverable)
