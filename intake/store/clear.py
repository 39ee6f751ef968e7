"""The columns kept in clear hold no full SSN: masked on their way in.

What a sender wrote reaches some clear columns: the audit trail (`events.old`/`new`: a failure
reason quotes an attachment's name, `Jane Roe SSN 531-70-2468.pdf`), the search columns (a name
read badly can carry the number), a relay's error about a reply, the sender verdict's reason.
Each writer masks what it knows to be free text, and this module makes it hold for every writer:
an event's `old` and `new` are masked whenever they are set (SQLAlchemy attribute events fire
for the constructor too), and `masked_strings` masks the strings of a JSON value.

Addresses, fax numbers and Message-IDs are not masked: replies go to them and duplicates are
found by them (SECURITY.md says so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from intake.store.models import Event
from parsers.pii import mask_ssns


def masked(value: str | None) -> str | None:
    """A free-text value for a clear column, SSNs masked."""
    return mask_ssns(value) if value else value


def masked_strings(value: Any) -> Any:
    """A JSON value with every string in it masked (keys too); numbers and structure kept."""
    if isinstance(value, str):
        return mask_ssns(value)
    if isinstance(value, dict):
        return {masked_strings(k): masked_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked_strings(v) for v in value]
    return value


def _mask_on_set(target: Any, value: str | None, oldvalue: Any, initiator: Any) -> str | None:
    return masked(value)


for _column in (Event.old, Event.new):
    event.listen(_column, "set", _mask_on_set, retval=True)
