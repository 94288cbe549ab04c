"""The JSON Schema of criteria files, and its failures as problems a person can act on."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from bot.app.criteria.document import ParsedYaml
from bot.app.criteria.problems import FieldPath, Problem, path_text

_SCHEMA_FILE = "criteria.schema.json"

_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "object": "a mapping of fields", "array": "a list", "null": "null",
               "boolean": "true or false"}


def schema_text() -> str:
    """The JSON Schema as shipped (``bot/app/criteria/criteria.schema.json``)."""
    return (resources.files("bot.app.criteria").joinpath(_SCHEMA_FILE)
            .read_text(encoding="utf-8"))


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of criteria files, parsed."""
    parsed: dict[str, Any] = json.loads(schema_text())
    return parsed


def _got(value: Any) -> str:
    shown = repr(value)
    return f" (got {shown[:60]}{'…' if len(shown) > 60 else ''})"


def _schema_problems(error: ValidationError, parsed: ParsedYaml) -> list[Problem]:
    path: FieldPath = tuple(error.absolute_path)
    node: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    described = node.get("description")
    # jsonschema types these as possibly unset because an error can be built by hand;
    # the errors iter_errors yields always carry the keyword's value and the instance.
    validator = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance

    def at(where: FieldPath, message: str) -> Problem:
        return Problem(parsed.line_of(where), path_text(where), message)

    if validator == "required":
        return [at(path, f"missing the required field `{name}`")
                for name in expected if name not in instance]
    if validator == "additionalProperties":
        known = list(node.get("properties", {}))
        problems = []
        for name in instance:
            if name in known:
                continue
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}"
            problems.append(at((*path, name), f"unknown field; {hint}"))
        return problems
    if validator == "type" and not path:
        return [at(path, "the file must be a mapping with an `initiatives:` list")]
    if validator == "type":
        if described and ("pattern" in node or "enum" in node):
            return [at(path, f"must be {described}{_got(instance)}")]
        words = [expected] if isinstance(expected, str) else list(expected)
        return [at(path, "must be " + " or ".join(_TYPE_WORDS.get(w, w) for w in words)
                   + _got(instance))]
    if validator in {"pattern", "enum", "minimum", "maximum"} and described:
        return [at(path, f"must be {described}{_got(instance)}")]
    if validator == "enum":
        choices = ", ".join(str(c) for c in expected)
        return [at(path, f"must be one of: {choices}{_got(instance)}")]
    if validator == "const":
        return [at(path, f"must be {expected}{_got(instance)}")]
    if validator in {"minimum", "maximum"}:
        bound = "at least" if validator == "minimum" else "at most"
        return [at(path, f"must be {bound} {expected}{_got(instance)}")]
    if validator == "minLength":
        return [at(path, "must not be empty")]
    if validator == "maxLength":
        return [at(path, f"is {len(instance)} characters; the limit is {expected}")]
    return [at(path, error.message)]


def schema_problems(parsed: ParsedYaml) -> list[Problem]:
    """Every way the data breaks the schema, each at its line."""
    validator = Draft202012Validator(schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(parsed.data):
        problems.extend(_schema_problems(error, parsed))
    return problems
