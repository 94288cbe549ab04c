"""The shape of the code, checked like behaviour: layers, imports, time, module size.

The layer contract itself lives in pyproject.toml (``[tool.importlinter]``) and is read by
import-linter here and by ``lint-imports`` in the README's test command.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.application.use_cases import lint_imports, read_user_options
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "metrics")
OURS = (*PACKAGES, "migrations")
MAX_LINES = 400
# Reading the wall clock is the composition root's job (bot.wiring hands a clock down);
# the CLI and the storage layer's bookkeeping columns (when a row was written) use it too.
WALL_CLOCK_ALLOWED = {"bot/core/clock.py", "bot/wiring.py", "bot/processes.py",
                      "bot/cli/main.py", "bot/cli/moments.py", "bot/cli/sources.py",
                      "bot/storage/models.py", "bot/storage/samples.py"}
WALL_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
                    ("date", "today"), ("time", "time")}


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            yield relative, path, ast.parse(path.read_text(encoding="utf-8"), relative)


def is_ours(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in OURS


def test_the_import_contracts_in_pyproject_hold(capsys: pytest.CaptureFixture[str]) -> None:
    configure()
    config = str(ROOT / "pyproject.toml")
    names = [contract["name"] for contract in read_user_options(config).contracts_options]

    kept = lint_imports(config, cache_dir=None, no_logo=True)

    report = capsys.readouterr().out
    assert kept, report
    assert [line.removesuffix(" KEPT") for line in report.splitlines()
            if line.endswith(" KEPT")] == names


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    hidden = []
    for name, _, tree in modules():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.level or is_ours(node.module)):
                    hidden.append(f"{name}:{node.lineno} from {node.module}")
                elif isinstance(node, ast.Import):
                    hidden += [f"{name}:{node.lineno} import {alias.name}"
                               for alias in node.names if is_ours(alias.name)]
    assert hidden == []


def test_no_module_imports_another_modules_private_names() -> None:
    private = []
    for name, _, tree in modules():
        imported_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and is_ours(node.module):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{name}:{node.lineno} {node.module}.{alias.name}")
                    imported_modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported_modules |= {(a.asname or a.name).split(".")[0] for a in node.names
                                     if is_ours(a.name)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                private.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert private == []


def test_only_the_composition_root_and_bookkeeping_read_the_wall_clock() -> None:
    readers = []
    for name, _, tree in modules():
        if name in WALL_CLOCK_ALLOWED:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and (node.func.value.id, node.func.attr) in WALL_CLOCK_CALLS):
                readers.append(f"{name}:{node.lineno} {node.func.value.id}.{node.func.attr}()")
            if isinstance(node, ast.Name) and node.id == "system_clock":
                readers.append(f"{name}:{node.lineno} system_clock")
    assert readers == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_the_limit(package: str) -> None:
    long = {name: length for name, path, _ in modules()
            if name.startswith(f"{package}/")
            and (length := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_a_terminal_command_loads_neither_charts_nor_slack_nor_the_task_engine() -> None:
    # Only `outcome demo|serve|run|worker` need them; every other command starts lean.
    probe = ("import sys, bot.cli.main; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & "
             "{'matplotlib', 'slack_bolt', 'slack_sdk', 'procrastinate', 'handlers'}))")

    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()

    assert loaded == "[]"
