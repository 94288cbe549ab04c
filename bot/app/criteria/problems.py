"""What is wrong with a criteria file: problems at a line and a field path, and the error
that lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import UsageError

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, at a line (1-based) and a field path."""

    line: int
    path: str
    message: str

    def format(self, filename: str) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{filename}:{self.line}: {where}{self.message}"


class CriteriaInvalid(UsageError):
    """The criteria file cannot be applied; nothing was written."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = sorted(problems, key=lambda p: (p.line, p.path))
        lines = [p.format(filename) for p in self.problems]
        count = len(lines)
        lines.append(f"{count} problem{'s' if count != 1 else ''}; nothing was applied.")
        super().__init__("\n".join(lines))


def path_text(path: FieldPath) -> str:
    """('initiatives', 0, 'metrics', 1, 'target') -> 'initiatives[0].metrics[1].target'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
