"""The `outcome` command line: the shared grammar plus local-only verbs (demo, db, ask).

With no Slack credentials this is the embedded default: a SQLite file, local rendering and
demo data.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shlex
import sys
from pathlib import Path
from types import ModuleType

from bot import wiring
from bot.app import criteria, fitness
from bot.app.ask.service import ask
from bot.app.commands import run
from bot.app.context import Actor, Context, Defaults, Reply
from bot.cli import connections, sources
from bot.cli.moments import parse_now
from bot.core.clock import system_clock
from bot.core.errors import OutcomeError, UsageError
from bot.core.logs import scrub_handlers
from bot.core.settings import SETTINGS, Settings, load_settings
from bot.grammar.commands import help_text
from bot.render.json_review import review_json
from bot.render.text import review_terminal
from bot.storage import db

LOCAL_VERBS = {"demo", "db", "ask", "settings", "connections", "apply", "check", "export",
               "push", "backfill"}


OPERATOR_NOTE = (
    "\nThe CLI acts as the operator: as OUTCOME_USER in OUTCOME_WORKSPACE, with every right "
    "an admin has\n(change any initiative, pulled sources, channel-wide digests, export all), "
    "so keep it to the people\nwho run the bot. Signing off still takes the owner: OUTCOME_USER "
    "signs only the roles it owns.")


def _print_reply(reply: Reply, *, color: bool) -> int:
    if reply.review is not None and reply.review_is_answer:
        print(review_terminal(reply.review, color=color))
    else:
        print(reply.text, file=sys.stderr if reply.error else sys.stdout)
    return 1 if reply.error else 0


def _print_json(reply: Reply) -> int:
    """The reply as one JSON document (docs/json.md): its review (``outcomes.review/1``),
    else its document (``list`` and ``show``: ``outcomes.initiatives/1``)."""
    if reply.error:
        print(reply.text, file=sys.stderr)
        return 1
    if reply.review is not None:
        print(review_json(reply.review))
    elif reply.document is not None:
        print(json.dumps(reply.document, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        raise UsageError(*JSON_USAGE)
    return 0


JSON_VERBS = ("review", "moved", "list", "show", "ask")
JSON_USAGE = ("--json prints a review or the initiatives: it goes with `review`, `moved`, "
              "`list` and `show`.",
              "outcome review fleet --json | outcome moved last sprint --json | "
              "outcome list --json | outcome show fleet --json")


def _context(settings: Settings) -> Context:
    return wiring.command_context(settings, db.session_factory(wiring.open_database(settings)))


def _db(args: list[str], settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    if args == ["upgrade"]:
        db.upgrade(engine)
        print(f"Schema at {', '.join(db.current_revisions(engine))}.")
        return 0
    if args == ["current"]:
        state = "up to date" if db.schema_is_current(engine) else "needs `outcome db upgrade`"
        revisions = ", ".join(db.current_revisions(engine)) or "none"
        print(f"Schema revision {revisions} ({state}).")
        return 0
    raise UsageError("Unknown db command.", "outcome db upgrade | outcome db current")


def _ask(args: list[str], settings: Settings) -> int:
    """``outcome ask "…"``: the answer Slack gives to the same question."""
    words = [arg for arg in args if arg != "--json"]
    answer = ask(" ".join(words) or "help", _context(settings))
    if "--json" in args:
        return _print_json(answer.reply)
    return _print_reply(answer.reply, color=sys.stdout.isatty())


def _settings_help() -> int:
    for setting in SETTINGS:
        print(f"{setting.name} (default: {setting.default or '—'})\n    {setting.help}")
    return 0


def _apply(args: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(
        prog="outcome apply",
        description="Create or update initiatives, metrics and schedules from a criteria "
                    "YAML file. Changes to agreed criteria reopen them, as in Slack.")
    parser.add_argument("file", nargs="?", help="the criteria file, or - for stdin")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would change and write nothing")
    parser.add_argument("--print-schema", action="store_true",
                        help="print the file's JSON Schema (for editors) and exit")
    options = parser.parse_args(args)
    if options.print_schema:
        print(criteria.schema_text(), end="")
        return 0
    if not options.file:
        raise UsageError("Name the criteria file.", "outcome apply <file.yaml> [--dry-run]")
    try:
        text = (sys.stdin.read() if options.file == "-"
                else Path(options.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise UsageError(f"Cannot read {options.file}: {reason}.") from None
    document = criteria.load(text, "<stdin>" if options.file == "-" else options.file)
    engine = wiring.open_database(settings)
    result = criteria.apply(
        db.session_factory(engine),
        Actor(settings.outcome_workspace, settings.cli_user, operator=True), document,
        now=system_clock(), dry_run=options.dry_run, defaults=Defaults.from_settings(settings))
    print(result.text())
    return 0


def _check(args: list[str], settings: Settings) -> int:
    """Exit 0 when every agreed threshold holds, 1 when one does not or data is missing,
    2 when the check itself could not run."""
    parser = argparse.ArgumentParser(
        prog="outcome check",
        description="Fitness functions: judge each metric's latest value against its "
                    "agreed target or guard rail.")
    parser.add_argument("--initiative", "-i", action="append", metavar="KEY",
                        help="check only this initiative (repeatable)")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--drafts", action="store_true",
                        help="also enforce initiatives whose criteria are not agreed yet")
    parser.add_argument("--now", help="pretend the current time is this ISO date-time")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON (outcomes.check/1, docs/json.md)")
    options = parser.parse_args(args)
    try:
        now = parse_now(options.now)
        engine = wiring.open_database(settings)
        with db.transaction(db.session_factory(engine)) as session:
            report = fitness.check(session, settings.outcome_workspace, now,
                                   initiatives=options.initiative,
                                   include_drafts=options.drafts)
        if options.junit:
            junit = Path(options.junit)
            junit.parent.mkdir(parents=True, exist_ok=True)
            junit.write_bytes(fitness.junit_xml(report))
    except OSError as exc:
        print(f"Cannot write {options.junit}: {exc.strerror}", file=sys.stderr)
        return 2
    except OutcomeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(fitness.report_json(report) if options.json else fitness.report_text(report))
    return report.exit_code


def _export(args: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(
        prog="outcome export",
        description="Export an initiative (or all) as arc42 Markdown, CSV samples or "
                    "criteria YAML.")
    parser.add_argument("words", nargs="+", metavar="INITIATIVE",
                        help="the initiative key, or all (grammar options such as "
                             "format=csv work too)")
    parser.add_argument("--format", "-f", choices=("arc42", "csv", "yaml"), default=None,
                        help="default: arc42")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write here instead of stdout")
    options = parser.parse_args(args)
    text = f"export {_join(options.words)}"
    if options.format:
        text += f" format={options.format}"
    reply = run(text, _context(settings))
    if reply.error or reply.attachment is None:
        return _print_reply(reply, color=False)
    if options.output in (None, "-"):
        sys.stdout.buffer.write(reply.attachment.content)
        sys.stdout.flush()
        return 0
    try:
        Path(options.output).write_bytes(reply.attachment.content)
    except OSError as exc:
        raise UsageError(f"Cannot write {options.output}: {exc.strerror}.") from None
    print(f"Wrote {options.output} ({len(reply.attachment.content):,} bytes).")
    return 0


def _heavy(module: str) -> ModuleType:
    """The module of a verb that loads matplotlib, Slack or the scheduler, imported when
    that verb runs, so every other `outcome` command starts without them. (The layer
    contract still holds: this is the top layer.)"""
    return importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `outcome` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scrub_handlers()  # token shapes; the long-running verbs add the secret settings' values
    if argv in ([], ["-h"], ["--help"]):
        print(help_text(prefix="outcome"))
        print("\nLocal commands:\n  outcome demo [--out DIR] [--period 'last sprint']\n"
              "  outcome ask \"what moved this sprint?\"\n  outcome db upgrade | current\n"
              "  outcome settings\n"
              "  outcome connections [check] (the registered source connections)\n"
              "  outcome keys new | rotate (Slack token encryption keys; see docs/security.md)\n"
              "  outcome serve (Slack over HTTP on $PORT) | outcome worker (runs the tasks: "
              "work after\n  Slack's acks, due pulls, digests) | outcome run (both in one "
              "process; Socket Mode\n  if SLACK_APP_TOKEN is set)\n"
              "  outcome jobs [failed|waiting|running|all] | outcome jobs retry <id>|failed\n"
              "  outcome apply <criteria.yaml> [--dry-run] | --print-schema\n"
              "  outcome check [--initiative KEY] [--junit FILE] [--drafts] [--json]\n"
              "  outcome review|moved|list|show … --json (one JSON document; docs/json.md)\n"
              "  outcome export <initiative>|all [--format arc42|csv|yaml] [-o FILE]")
        print(sources.HELP)
        print(OPERATOR_NOTE)
        return 0
    try:
        settings = load_settings()
        verb = argv[0]
        if verb == "demo":
            return _heavy("bot.cli.demo").main(argv[1:], settings)
        if verb == "db":
            return _db(argv[1:], settings)
        if verb == "ask":
            return _ask(argv[1:], settings)
        if verb == "settings":
            return _settings_help()
        if verb == "connections":
            return connections.main(argv[1:], settings)
        if verb == "jobs":  # loads the task engine: only for this verb
            return _heavy("bot.cli.jobs").main(argv[1:], settings, system_clock)
        if verb == "keys":  # loads the Slack installation tables: only for this verb
            return _heavy("bot.cli.keys").main(argv[1:], settings)
        if verb in ("worker", "clock"):  # tasks: Slack work, due pulls and digests
            if verb == "clock":
                print("`outcome clock` is now `outcome worker` (it runs every task, the "
                      "scheduled ones included); starting a worker.", file=sys.stderr)
            return _heavy("bot.processes").run_worker(settings)
        if verb in ("serve", "run"):  # the Slack app: HTTP endpoints, or Socket Mode
            processes = _heavy("bot.processes")
            return processes.serve(settings) if verb == "serve" else processes.run(settings)
        if verb in ("apply", "check", "export"):
            return {"apply": _apply, "check": _check, "export": _export}[verb](argv[1:],
                                                                          settings)
        if verb in ("push", "backfill"):
            return sources.VERBS[verb](argv[1:], settings)
        as_json = "--json" in argv
        if as_json and verb not in JSON_VERBS:  # refused before anything is changed
            raise UsageError(JSON_USAGE[0], JSON_USAGE[1])
        words = [arg for arg in argv if arg != "--json"]
        reply = run(_join(words), _context(settings))
        if as_json:
            return _print_json(reply)
        return _print_reply(reply, color=sys.stdout.isatty())
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OutcomeError as exc:
        print(exc.message, file=sys.stderr)
        return 1


def _join(argv: list[str]) -> str:
    """Re-quote shell arguments so the grammar sees the same words as the shell did."""
    return " ".join(shlex.quote(arg) for arg in argv)
