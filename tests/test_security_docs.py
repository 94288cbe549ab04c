"""docs/security.md quotes the permission table the application enforces."""

from __future__ import annotations

from pathlib import Path

from bot.app.permissions import permission_table_markdown
from bot.core.settings import SETTINGS

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"


def test_the_security_page_shows_the_permission_table_the_code_enforces() -> None:
    assert permission_table_markdown().strip() in DOC.read_text(encoding="utf-8")


def test_the_security_page_explains_every_trust_setting() -> None:
    text = DOC.read_text(encoding="utf-8")
    trust = ("OUTCOME_CONNECTIONS_FILE", "OUTCOME_ADMINS", "OUTCOME_ENCRYPTION_KEYS")
    assert {name for name in trust if f"`{name}`" in text} == set(trust)
    assert set(trust) <= {setting.name for setting in SETTINGS}
