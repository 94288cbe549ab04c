"""`outcome demo`, the embedded default main job, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-11-29T09:00:00+00:00"


def outcome(*args: str, cwd: Path, env_extra: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{cwd / 'outcome.db'}",
           "OUTCOME_USER": "tester", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    first = outcome("demo", "--now", NOW, cwd=folder)
    return folder, first


def test_the_demo_writes_every_rendering(demo_run):
    folder, result = demo_run
    assert result.returncode == 0, result.stderr
    out = folder / "outcome-demo"
    names = {p.name for p in out.iterdir()}
    assert {"review.md", "review.html", "blocks.json", "fleet-update.png",
            "self-serve.png", "fleet-update-on-latest-segments.png"} <= names
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    messages = json.loads((out / "blocks.json").read_text())
    assert all(len(message["blocks"]) <= 50 for message in messages)
    assert "data:image/png;base64," in (out / "review.html").read_text()


def test_the_demo_summary_shows_movement_status_and_gaps(demo_run):
    _, result = demo_run
    text = result.stdout
    assert "Device fleet on the latest firmware" in text
    assert "Deployment time" in text and "min" in text
    assert "no data" in text  # the automatic-rollback metric has no source yet
    assert "stale" in text  # the satisfaction survey export stopped
    assert "Demo initiatives created: fleet-update, self-serve" in text


def test_the_demo_review_flags_the_region_that_regressed(demo_run):
    folder, _ = demo_run
    markdown = (folder / "outcome-demo" / "review.md").read_text()
    assert "APAC" in markdown


def test_running_the_demo_again_creates_nothing_twice(demo_run):
    folder, _ = demo_run
    again = outcome("demo", "--now", NOW, cwd=folder)
    assert again.returncode == 0, again.stderr
    assert "created: none (already there); samples added: 0" in again.stdout


def test_the_cli_speaks_the_grammar_against_the_demo_database(demo_run):
    folder, _ = demo_run
    shown = outcome("show", "fleet-update", cwd=folder)
    assert shown.returncode == 0 and "[agreed, revision 1]" in shown.stdout
    bad = outcome("record", "fleet-update.deploy-time", "fast", cwd=folder)
    assert bad.returncode == 1
    assert "value must be a number" in bad.stderr and "Traceback" not in bad.stderr
    asked = outcome("ask", "what regressed this sprint?", cwd=folder)
    assert asked.returncode == 0


def test_a_bad_setting_fails_at_start_naming_the_variable(tmp_path):
    result = outcome("list", cwd=tmp_path, env_extra={"OUTCOME_TIMEZONE": "Mars/Base"})
    assert result.returncode == 1
    assert "OUTCOME_TIMEZONE" in result.stderr and "Traceback" not in result.stderr
