"""slack_sdk's installation and OAuth-state tables, on the project's own metadata.

The SQLAlchemy installation and state stores query tables that slack_sdk's own builders
define; building them here, on :data:`bot.storage.models.Base.metadata`, lets Alembic
(migration 0005) create them and the schema check compare them, with no hand copy to drift.
Importing this module adds them; the Alembic environment does.
"""

from __future__ import annotations

from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.slack.installations import EncryptedInstallationStore
from bot.storage.models import Base

# With the ciphertext columns of our store (migration 0009).
installations = EncryptedInstallationStore.build_installations_table(
    Base.metadata, EncryptedInstallationStore.default_installations_table_name)
bots = EncryptedInstallationStore.build_bots_table(
    Base.metadata, EncryptedInstallationStore.default_bots_table_name)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, SQLAlchemyOAuthStateStore.default_table_name)
