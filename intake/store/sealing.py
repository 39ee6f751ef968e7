"""Strict sealing: once a database holds sealed values only, a value in clear is refused.

A sealed column used to accept a value without the format prefix as a row from before encryption,
so whoever could write the database (not read it: the key is elsewhere) could put a forged field in
clear and have it believed. The `sealed_only` fact in `store_meta` says the database holds no such
row: set by migration 0007 on a database made new, and by `coc-intake keys reencrypt` once no value
in clear is left. From then on `Store` refuses a clear value with an error naming its table, column
and row. `[encryption] allow_plaintext = true` opts out, for an old database until reencrypt ran.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from intake.crypto import DecryptError
from intake.store.models import StoreMeta

SEALED_ONLY = "sealed_only"


class PlaintextRefused(DecryptError):
    """A sealed column holds a value in clear in a database that holds sealed values only."""


def sealed_only_since(engine: Engine) -> str | None:
    """What `sealed_only` says (when and how it was set), or None: clear values are still accepted
    (an older database, or one before migration 0007, whose table does not exist yet)."""
    try:
        with engine.connect() as conn:
            return conn.execute(select(StoreMeta.value).where(StoreMeta.name == SEALED_ONLY)).scalar()
    except SQLAlchemyError:
        return None


def mark_sealed_only(engine: Engine, how: str) -> None:
    """Set `sealed_only` (once; a later call keeps the first date)."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with engine.begin() as conn:
        if conn.execute(select(StoreMeta.name).where(StoreMeta.name == SEALED_ONLY)).first() is None:
            conn.execute(insert(StoreMeta).values(name=SEALED_ONLY, value=f"{how} {stamp}"))


def refusal(aad: str, row: object, since: str) -> PlaintextRefused:
    """The error for a clear value; `aad` starts with `table.column`, never shows the value."""
    table, _, column = aad.split(":", maxsplit=1)[0].partition(".")
    return PlaintextRefused(
        f"table {table}, column {column}, row id {row}: the value is in clear, but this database holds "
        f"sealed values only (sealed_only: {since}); refused as written past the store (forged or "
        "damaged). For a database that still holds rows from before encryption set [encryption] "
        "allow_plaintext = true and run `coc-intake keys reencrypt`"
    )
