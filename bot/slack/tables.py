"""slack_sdk's installation and OAuth-state tables, on the project's own metadata.

The SQLAlchemy installation and state stores query tables that slack_sdk's own builders
define; building them here, on :data:`bot.storage.models.Base.metadata`, lets Alembic
(migration 0005) create them and the schema check compare them, with no hand copy to drift.
Importing this module adds them; the Alembic environment does.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.storage.models import Base

installations = SQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, SQLAlchemyInstallationStore.default_installations_table_name)
bots = SQLAlchemyInstallationStore.build_bots_table(
    Base.metadata, SQLAlchemyInstallationStore.default_bots_table_name)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, SQLAlchemyOAuthStateStore.default_table_name)
