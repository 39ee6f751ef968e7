"""The online request form's own table and store code: proving a confirmation address.

An address typed into the web form for the approval confirmation has not been shown to belong to
the requester; anyone can type anyone's address. So it gets a link first (`confirm_address` reply)
and only a followed link (`confirmed_at`) lets the approval mail, which carries personal details,
go there (`proven_address`). The table keeps only hashes: of the link's token (a database reader
cannot follow the link) and of the address (the address itself stays in the sealed request fields).
Migration 0009 creates the table.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.store.models import Event
from intake.store.online_models import WebConfirmation
from intake.store.store import Store

LINK_DAYS = 14  # a confirmation link older than this no longer proves anything


@dataclass(frozen=True)
class Confirmation:
    submission_id: int
    confirmed_at: datetime | None
    expired: bool


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def address_hash(address: str) -> str:
    """The hash an address is compared by: case and surrounding spaces do not count."""
    return _hash("addr:" + address.strip().lower())


def new_link(store: Store, submission_id: int, address: str, *, now: datetime | None = None) -> str:
    """Record a new confirmation link for `address` and return its token (shown once, in the mail)."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with Session(store.engine, expire_on_commit=False) as s, s.begin():
        s.add(WebConfirmation(submission_id=submission_id, token_hash=_hash(token), address_hash=address_hash(address),
                              created_at=now, expires_at=now + timedelta(days=LINK_DAYS)))
    return token


def find_link(store: Store, token: str, *, now: datetime | None = None) -> Confirmation | None:
    """The link of a token, or None for a token that was never sent."""
    now = now or datetime.now(UTC)
    with Session(store.engine) as s:
        row = s.scalar(select(WebConfirmation).where(WebConfirmation.token_hash == _hash(token)))
        if row is None:
            return None
        return Confirmation(row.submission_id, row.confirmed_at, row.expires_at <= now)


def confirm(store: Store, token: str, *, now: datetime | None = None) -> Confirmation | None:
    """Follow a link: mark it confirmed (once; later clicks change nothing). None for an unknown or
    expired token."""
    now = now or datetime.now(UTC)
    found = find_link(store, token, now=now)
    if found is None or found.expired:
        return None
    if found.confirmed_at is not None:
        return found
    with Session(store.engine, expire_on_commit=False) as s, s.begin():
        s.execute(update(WebConfirmation).where(WebConfirmation.token_hash == _hash(token),
                                                WebConfirmation.confirmed_at.is_(None))
                  .values(confirmed_at=now))
        s.add(Event(submission_id=found.submission_id, actor="web", kind="confirmation_proven",
                    field="confirmation_email", new="the confirmation address followed its link"))
    return Confirmation(found.submission_id, now, False)


def proven_address(store: Store, submission_id: int, address: str | None) -> bool:
    """Whether `address` followed a confirmation link sent for this submission."""
    if not address:
        return False
    with Session(store.engine) as s:
        found = s.scalar(select(WebConfirmation.id).where(
            WebConfirmation.submission_id == submission_id,
            WebConfirmation.address_hash == address_hash(address),
            WebConfirmation.confirmed_at.is_not(None)))
        return found is not None
