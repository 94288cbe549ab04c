"""What a submitted define or metric modal holds, read with the grammar's own value
parsers: the fields to save, and an error per field for the modal to show while it stays
open with everything typed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.app.services import validate_key
from bot.core.criteria_rules import criteria_problem
from bot.core.errors import OutcomeError, UsageError
from bot.grammar import commands as g
from handlers.common import plain
from handlers.forms import MAX_ERROR, Form
from metrics.kinds import check_config
from metrics.member_configs import refuse_member_config


def _key(form: Form, what: str) -> str:
    key = str(form.get("key")).lower()
    try:
        return validate_key(key, what)
    except UsageError as exc:
        form.errors["key"] = plain(exc.message, MAX_ERROR)
        return key


def define_fields(values: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The define modal's key, the initiative's fields, and the errors by field."""
    form = Form(values)
    key = _key(form, "an initiative")
    fields: dict[str, Any] = {"name": form.parse("name", g.parse_short_text, "name")}
    form.require("name", "Give the initiative a name.")
    for name in ("why", "who", "how", "what"):
        fields[name] = form.parse(name, g.parse_text, name) or ""
    for block_id, field in (("channel", "channel"), ("po", "product_owner"),
                            ("eng", "engineering_owner")):
        if form.get(block_id):
            fields[field] = form.get(block_id)
    if fields.get("product_owner") and fields.get("product_owner") == fields.get(
            "engineering_owner"):
        form.errors["eng"] = ("Choose someone else: the product and engineering owner must "
                              "be two different people, so that two people agree.")
    sprint = form.parse("sprint", g.parse_sprint_days, "sprint")
    if sprint is not None:
        fields["sprint_days"] = sprint
    zone = form.parse("tz", g.parse_timezone, "tz")
    if zone is not None:
        fields["timezone"] = zone
    return key, {k: v for k, v in fields.items() if v is not None}, form.errors


def metric_fields(values: dict[str, Any], initiative: str
                  ) -> tuple[str, str, dict[str, Any], dict[str, str]]:
    """The metric modal's initiative and key, the metric's fields, and the errors by
    field (a contradiction among direction, baseline and target goes on the target)."""
    form = Form(values)
    if not initiative:
        initiative = str(form.get("initiative"))
        form.require("initiative", "Choose the initiative.")
    key = _key(form, "a metric")
    fields: dict[str, Any] = {
        "name": form.parse("name", g.parse_short_text, "name"),
        "question": form.parse("question", g.parse_text, "question") or "",
        "unit": form.parse("unit", g.parse_unit, "unit") or "",
        "direction": form.parse("direction", g.parse_direction, "direction") or "up",
        "baseline_value": form.parse("baseline", g.parse_number, "baseline"),
        "target_value": form.parse("target", g.parse_number, "target"),
        "target_date": form.parse("by", g.parse_day, "target date"),
    }
    form.require("name", "Give the metric a name.")
    form.require("target", "A metric needs a target, e.g. 12.")
    kind = str(form.get("source") or "manual")
    fields["source_kind"] = kind
    fields["source_config"] = _source_config(form, kind)
    target_date = fields["target_date"]
    if isinstance(target_date, date) and "by" not in form.errors and target_date.year < 2000:
        form.errors["by"] = "Pick a target date in the future."
    if fields["baseline_value"] is None:
        del fields["baseline_value"]
    if fields["target_date"] is None:
        del fields["target_date"]
    problem = None if form.errors else criteria_problem(fields)
    if problem:  # on the field to change, so the modal stays open with what was typed
        form.errors["target"] = plain(problem[0].upper() + problem[1:], MAX_ERROR)
    return initiative, key, fields, form.errors


def _source_config(form: Form, kind: str) -> dict[str, Any]:
    raw = str(form.get("config") or "")
    if not raw:
        if kind not in {"manual", "demo"}:
            form.errors["config"] = (f"The {kind} source needs its config as JSON naming a "
                                     'connection, e.g. {"connection": "prom", "query": '
                                     '"sum(up)"}; see docs/slack.md for each kind\'s fields.')
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        form.errors["config"] = f"Not valid JSON: {exc.msg} (line {exc.lineno})."
        return {}
    if not isinstance(config, dict):
        form.errors["config"] = 'Write a JSON object, e.g. {"query": "..."}.'
        return {}
    try:
        refuse_member_config(config)
        check_config(kind, config)
    except OutcomeError as exc:
        form.errors["config"] = plain(exc.message, MAX_ERROR)
    return config
