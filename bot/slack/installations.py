"""Slack installations with their tokens encrypted at rest.

slack_sdk's SQLAlchemy store keeps bot and user tokens in plain-text columns. This one keeps
each token in a ``<name>_encrypted`` column beside it (Fernet, under OUTCOME_ENCRYPTION_KEYS)
and leaves the plain column NULL.

Upgrading is expand/contract, so the previous release keeps serving throughout: migration
0009 added the columns and encrypted the existing tokens into them, keeping the plain copies
the previous release reads; a row that release writes later (plain only) is still read
here. :func:`rotate_tokens` (`outcome keys rotate`) re-encrypts every token with the newest
key and clears the plain copies: run it once every replica runs this release.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from sqlalchemy import Column, Engine, MetaData, String, Table, desc, or_, select

from bot.core.errors import ConfigError
from bot.storage.crypto import Keyring

log = logging.getLogger(__name__)

INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = ("bot_token", "bot_refresh_token")
# The Fernet token of an n-byte secret has 4·⌈(57 + 16·(⌊n/16⌋ + 1)) / 3⌉ characters, so
# 500 holds secrets of up to 303 bytes, past the 200 of slack_sdk's plain columns.
CIPHERTEXT_LENGTH = 500
_DATETIMES = ("installed_at", "bot_token_expires_at", "user_token_expires_at")


def encrypted(column: str) -> str:
    """The name of the column that holds ``column``'s ciphertext."""
    return f"{column}_encrypted"


def _with_ciphertext(table: Table, tokens: tuple[str, ...]) -> Table:
    for name in tokens:
        table.append_column(Column(encrypted(name), String(CIPHERTEXT_LENGTH)))
    return table


def _what(row: Mapping[Any, Any], name: str) -> str:
    return f"the {name} of workspace {row['team_id'] or row['enterprise_id']}"


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, writing and reading ciphertext only."""

    def __init__(self, client_id: str, engine: Engine, keyring: Keyring,
                 logger: logging.Logger = log) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=logger)
        self.keyring = keyring

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _with_ciphertext(super().build_installations_table(metadata, table_name),
                                INSTALLATION_TOKENS)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _with_ciphertext(super().build_bots_table(metadata, table_name), BOT_TOKENS)

    def save(self, installation: Installation) -> None:
        self._upsert(self.installations, self._sealed(installation.to_dict(),
                                                      INSTALLATION_TOKENS))
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        self._upsert(self.bots, self._sealed(bot.to_dict(), BOT_TOKENS))

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        """The newest installation of the workspace that has a bot token."""
        if is_enterprise_install:
            team_id = None
        c = self.bots.c
        query = (self.bots.select()
                 .where(c.client_id == self.client_id, c.enterprise_id == enterprise_id,
                        c.team_id == team_id,
                        or_(c[encrypted("bot_token")].is_not(None), c.bot_token.is_not(None)))
                 .order_by(desc(c.installed_at)).limit(1))
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else self.build_bot_entity(row)

    # The parent's find_installation and our find_bot build entities through these two, so
    # every token read goes through the ciphertext. (Instance methods where slack_sdk has
    # class methods: opening a row needs this store's keys.)
    def build_installation_entity(self, row: Mapping[Any, Any]  # type: ignore[override]
                                  ) -> Installation:
        return super().build_installation_entity(self._opened(row, INSTALLATION_TOKENS))

    def build_bot_entity(self, row: Mapping[Any, Any]) -> Bot:  # type: ignore[override]
        return super().build_bot_entity(self._opened(row, BOT_TOKENS))

    def _sealed(self, values: dict[str, Any], tokens: tuple[str, ...]) -> dict[str, Any]:
        """The row to write: tokens encrypted, their plain columns NULL."""
        row = {**values, "client_id": self.client_id}
        for name in _DATETIMES:
            if name in row:
                row[name] = normalize_datetime_for_db(row[name])
        for name in tokens:
            secret = row.get(name)
            row[name] = None
            row[encrypted(name)] = self.keyring.encrypt(secret) if secret else None
        return row

    def _opened(self, row: Mapping[Any, Any], tokens: tuple[str, ...]) -> dict[str, Any]:
        """The row with each token decrypted; a row the previous release wrote has only
        the plain column, which is taken as it is."""
        values = dict(row)
        for name in tokens:
            ciphertext = values.pop(encrypted(name))
            if ciphertext is not None:
                try:
                    values[name] = self.keyring.decrypt(ciphertext, _what(row, name))
                except ConfigError as exc:
                    self.logger.error("%s", exc.message)
                    raise
        return values

    def _upsert(self, table: Table, row: dict[str, Any]) -> None:
        """Insert the row, or update the one of the same installation (as slack_sdk does:
        same client, enterprise, team and install time)."""
        c = table.c
        with self.engine.begin() as connection:
            existing = connection.scalar(
                select(c.id).where(c.client_id == self.client_id,
                                   c.enterprise_id == row.get("enterprise_id"),
                                   c.team_id == row.get("team_id"),
                                   c.installed_at == row.get("installed_at")).limit(1))
            if existing is None:
                connection.execute(table.insert(), row)
            else:
                connection.execute(table.update().where(c.id == existing).values(**row))


_METADATA = MetaData()
_TABLES = (
    (EncryptedInstallationStore.build_installations_table(
        _METADATA, SQLAlchemyInstallationStore.default_installations_table_name),
     INSTALLATION_TOKENS),
    (EncryptedInstallationStore.build_bots_table(
        _METADATA, SQLAlchemyInstallationStore.default_bots_table_name), BOT_TOKENS),
)


def check_keys(engine: Engine, keyring: Keyring) -> None:
    """Raise :class:`ConfigError` (at start, before any request) when a stored token of any
    installation cannot be decrypted with ``keyring``."""
    with engine.connect() as connection:
        for table, tokens in _TABLES:
            ciphertexts = [table.c[encrypted(name)] for name in tokens]
            for row in connection.execute(
                    select(table.c.team_id, table.c.enterprise_id, *ciphertexts)).mappings():
                for name in tokens:
                    if row[encrypted(name)] is not None:
                        keyring.decrypt(row[encrypted(name)], _what(row, name))


@dataclass(frozen=True)
class Rotation:
    """What :func:`rotate_tokens` changed."""

    encrypted: int  # tokens now encrypted with the newest key
    cleared: int  # plain-text copies set to NULL


def rotate_tokens(engine: Engine, keyring: Keyring) -> Rotation:
    """Re-encrypt every stored token with the newest key, encrypt any still only in plain
    text, and clear the plain copies, in one transaction (a token no key opens changes
    nothing). The previous release reads the plain copies: run this once no replica runs
    it any more."""
    done = cleared = 0
    with engine.begin() as connection:
        for table, tokens in _TABLES:
            columns = [table.c[column] for name in tokens for column in (name, encrypted(name))]
            rows = connection.execute(select(table.c.id, table.c.team_id,
                                             table.c.enterprise_id, *columns)).mappings()
            for row in rows.all():
                changes: dict[str, str | None] = {}
                for name in tokens:
                    plaintext, ciphertext = row[name], row[encrypted(name)]
                    if ciphertext is not None:
                        changes[encrypted(name)] = keyring.rotate(ciphertext, _what(row, name))
                    elif plaintext is not None:
                        changes[encrypted(name)] = keyring.encrypt(plaintext)
                    if plaintext is not None:
                        changes[name] = None
                        cleared += 1
                done += sum(1 for name in tokens if encrypted(name) in changes)
                if changes:
                    connection.execute(table.update().where(table.c.id == row["id"])
                                       .values(changes))
    return Rotation(encrypted=done, cleared=cleared)
