"""Criteria as code: a YAML file of initiatives, metrics, deliverables and schedules,
applied to the store.

``load(text, filename)`` reads and validates a file against ``criteria.schema.json`` (which
ships with the package) and the rules the schema cannot express; every problem names its
line (``criteria.yaml:12: initiatives[0].metrics[0].target: must be a number``) and an
invalid file writes nothing. ``apply(...)`` then creates or updates through the domain
services, so a change to agreed criteria reopens the initiative and is audited exactly as
when it is made in Slack; with ``dry_run`` it reports the same plan and rolls back.
``document_of(...)`` is the inverse: the file that describes what the store holds.

Fields left out of the file are left as they are, and nothing missing from the file is
deleted: the file declares what it names, it does not own the workspace.

The modules, in the order a file goes through them: ``problems`` (what can be wrong, and
where), ``document`` (YAML with line numbers), ``validation`` (the JSON Schema), ``specs``
(the typed file and :func:`load`), ``plan`` (what applying does, as text), ``applying``
(:func:`apply`) and ``dumping`` (store to file), with ``formats`` and ``schedules`` for
how values and digest schedules are written in the file.
"""

from __future__ import annotations

from bot.app.criteria.applying import apply
from bot.app.criteria.document import ParsedYaml, parse_yaml
from bot.app.criteria.dumping import FORMAT_VERSION, document_of, dump, initiative_document
from bot.app.criteria.formats import format_duration
from bot.app.criteria.plan import (
    ApplyResult,
    FieldChange,
    InitiativePlan,
    ItemPlan,
    plan_text,
)
from bot.app.criteria.problems import CriteriaInvalid, FieldPath, Problem, path_text
from bot.app.criteria.specs import (
    INITIATIVE_FILE_FIELDS,
    METRIC_FILE_FIELDS,
    CriteriaFile,
    DeliverableSpec,
    DigestSpec,
    InitiativeSpec,
    MetricSpec,
    load,
)
from bot.app.criteria.validation import schema, schema_problems, schema_text

__all__ = [
    "FORMAT_VERSION",
    "INITIATIVE_FILE_FIELDS",
    "METRIC_FILE_FIELDS",
    "ApplyResult",
    "CriteriaFile",
    "CriteriaInvalid",
    "DeliverableSpec",
    "DigestSpec",
    "FieldChange",
    "FieldPath",
    "InitiativePlan",
    "InitiativeSpec",
    "ItemPlan",
    "MetricSpec",
    "ParsedYaml",
    "Problem",
    "apply",
    "document_of",
    "dump",
    "format_duration",
    "initiative_document",
    "load",
    "parse_yaml",
    "path_text",
    "plan_text",
    "schema",
    "schema_problems",
    "schema_text",
]
