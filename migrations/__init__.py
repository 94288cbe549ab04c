"""Alembic migrations; run them with ``outcome db upgrade``."""
