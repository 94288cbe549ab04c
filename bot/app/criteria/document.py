"""YAML text to plain data, remembering the line of every field so problems can name it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from bot.app.criteria.problems import CriteriaInvalid, FieldPath, Problem, path_text

_PLAIN_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}
_CONSTRUCTED_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                     "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}


class _Reader:
    """Builds plain data from a YAML node tree and remembers the line of every path.

    Values mean what they look like (YAML 1.2 rather than PyYAML's 1.1): dates stay text
    for the schema to check, ``15:00`` is not a base-60 integer and ``off`` is not false.
    """

    def __init__(self) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def read(self, node: yaml.Node, path: FieldPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.read(item, (*path, index)))
            return items
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(line, path_text(path), "a field name must be text"))
                continue
            key = key_node.value
            if key in result:
                self.problems.append(Problem(line, path_text((*path, key)),
                                             "is given twice; keep one"))
                continue
            self.lines[(*path, key)] = line  # errors about a field point at its name
            result[key] = self.read(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        tag = node.tag
        if tag in _PLAIN_TAGS or (tag == "tag:yaml.org,2002:int" and ":" in node.value):
            return node.value
        if tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
            return node.value  # YAML 1.2: `retro: off` means the text off, not false
        if tag in _CONSTRUCTED_TAGS:
            return self._scalars.construct_object(node, deep=True)
        self.problems.append(Problem(node.start_mark.line + 1, path_text(path),
                                     f"the YAML tag {tag} is not supported here"))
        return None


@dataclass(frozen=True)
class ParsedYaml:
    data: Any
    lines: dict[FieldPath, int]

    def line_of(self, path: FieldPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def parse_yaml(text: str, filename: str) -> ParsedYaml:
    """YAML text to plain data plus the line of every field; syntax errors name the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "unreadable"
        raise CriteriaInvalid(filename, [
            Problem(mark.line + 1 if mark else 1, "", f"this is not valid YAML: {reason}")
        ]) from None
    except yaml.YAMLError as exc:
        raise CriteriaInvalid(filename, [Problem(1, "", f"this is not valid YAML: {exc}")]
                              ) from None
    if node is None:
        raise CriteriaInvalid(filename, [
            Problem(1, "", "the file is empty; it needs an `initiatives:` list")
        ])
    reader = _Reader()
    data = reader.read(node, ())
    if reader.problems:
        raise CriteriaInvalid(filename, reader.problems)
    return ParsedYaml(data, reader.lines)
