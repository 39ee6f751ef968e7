"""Alembic environment and revisions of the store (package so they ship in the wheel)."""
