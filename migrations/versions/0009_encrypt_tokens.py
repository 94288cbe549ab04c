"""encrypt slack tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:00:00.000000

Expand now, contract later: a nullable ``<token>_encrypted`` column beside each Slack token
column, filled with the stored tokens encrypted under OUTCOME_ENCRYPTION_KEYS (or its
_FILE). The plain columns stay as they are: the previous release reads them while this
runs and until every replica runs the new one, when `outcome keys rotate` clears them. With
no token stored no key is needed; with tokens and no key this stops, changing nothing, and
says what to set. Downgrading first writes back in plain text each token held only
encrypted.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from bot.core.errors import ConfigError
from bot.core.settings import load_settings
from bot.storage.crypto import HOW_TO_MAKE_A_KEY, SETTING, Keyring

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TOKENS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token",
                            "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
# Holds the Fernet token of a secret of up to 303 bytes; the plain columns hold 200.
CIPHERTEXT_LENGTH = 500
Found = list[tuple[str, int, str, str]]  # (table, row id, token, value)


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, sa.column("id"), *(sa.column(c, sa.String()) for c in columns))


def _values(held: str, unless: str | None = None) -> Found:
    """Each token value in a ``held`` column (a format of the token's name), skipping
    rows where its ``unless`` column holds one."""
    connection = op.get_bind()
    found: Found = []
    for name, tokens in TOKENS.items():
        for token in tokens:
            names = [held.format(token)] + ([unless.format(token)] if unless else [])
            table = _table(name, *names)
            query = sa.select(table.c.id, table.c[names[0]]).where(
                table.c[names[0]].is_not(None))
            if unless:
                query = query.where(table.c[names[1]].is_(None))
            found += [(name, row_id, token, value)
                      for row_id, value in connection.execute(query)]
    return found


def _keyring(task: str) -> Keyring:
    """The configured keys; asked for before any change, since SQLite runs ALTER TABLE
    outside the migration's transaction."""
    keys = load_settings().outcome_encryption_keys
    if not keys.strip(" ,"):
        raise ConfigError(f"The stored Slack tokens need {task}, and {SETTING} is not set. "
                          f"{HOW_TO_MAKE_A_KEY} Then run `outcome db upgrade` again; nothing "
                          "was changed.")
    return Keyring.from_setting(keys)


def _write(found: Found, column: str, convert: Callable[[str], str]) -> None:
    connection = op.get_bind()
    for name, row_id, token, value in found:
        table = _table(name, column.format(token))
        connection.execute(sa.update(table).where(table.c.id == row_id)
                           .values({column.format(token): convert(value)}))


def upgrade() -> None:
    plain = _values("{}")
    keyring = _keyring("encrypting") if plain else None
    for name, tokens in TOKENS.items():
        for token in tokens:
            op.add_column(name, sa.Column(f"{token}_encrypted",
                                          sa.String(length=CIPHERTEXT_LENGTH), nullable=True))
    if keyring is not None:
        _write(plain, "{}_encrypted", keyring.encrypt)


def downgrade() -> None:
    sealed = _values("{}_encrypted", unless="{}")
    if sealed:
        keyring = _keyring("decrypting for the previous schema")
        _write(sealed, "{}", lambda value: keyring.decrypt(value, "a stored Slack token"))
    for name, tokens in TOKENS.items():
        for token in reversed(tokens):
            # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), as in 0002.
            op.drop_column(name, f"{token}_encrypted")
