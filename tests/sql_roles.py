"""Login roles inside a test's PostgreSQL database, for the SQL source's role checks.

Roles belong to the whole cluster, so each gets a name of its own and is dropped when the
test ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

PASSWORD = "pw-3f9c1e-never-shown"


class Roles:
    """Creates roles in the database at ``admin_url`` (a superuser's URL)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.database = make_url(admin_url).database or ""
        self._engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._created: list[str] = []

    def admin(self, *statements: str) -> None:
        """Run ``statements`` as the superuser, each in its own transaction."""
        with self._engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def create(self, suffix: str, *grants: str, attributes: str = "") -> str:
        """A new login role; each of ``grants`` is run with ``{role}`` and ``{database}``
        replaced by the quoted names. Returns the role's URL, with a password (which the
        loopback server does not ask for)."""
        name = f"r{uuid.uuid4().hex[:10]}_{suffix}"
        self.admin(f'create role "{name}" login password \'{PASSWORD}\' {attributes}',
                   *(grant.format(role=f'"{name}"', database=f'"{self.database}"')
                     for grant in grants))
        self._created.append(name)
        url = make_url(self.admin_url).set(username=name, password=PASSWORD)
        return url.render_as_string(hide_password=False)

    def reader(self, *tables: str) -> str:
        """A role that may only SELECT from ``tables``."""
        return self.create("reader", *(f"grant select on {table} to {{role}}" for table in tables))

    def drop(self) -> None:
        for name in reversed(self._created):
            self.admin(f'drop owned by "{name}"', f'drop role "{name}"')
        self._engine.dispose()


@contextmanager
def roles_in(admin_url: str) -> Iterator[Roles]:
    roles = Roles(admin_url)
    try:
        yield roles
    finally:
        roles.drop()
