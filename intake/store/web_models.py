"""Tables of the staff review page: accounts, sessions, API tokens and login attempts.

Kept apart from `intake.store.models` (the pipeline's tables) but on the same `Base`, so that one
metadata describes the whole database; migration 0002 creates them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.store.models import Base, BigId, UTCDateTime, utcnow

ROLES = ("reviewer", "supervisor", "admin")
TOKEN_ROLES = ("export",)


class User(Base):
    """A staff member; never deleted (the audit trail names them), only disabled."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('reviewer', 'supervisor', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set for a one-time password handed out by an administrator: the first login must change it.
    must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A logged-in browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token of the downstream certificate system (role `export`); stored hashed."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("role IN ('export')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="export")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Migration 0004: refused after `expires_at`; `last_used_at` for `users list` (touched once a minute).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    """Every login attempt, kept for the rate limit and for the security officer."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    client: Mapped[str | None] = mapped_column(String(64))


class PagePresence(Base):
    """A review page that is open: who has which request open, and since when they last said so.

    In the store, not in one web process's memory, because several processes (and machines) share
    the work: a clerk served by one must see the colleague served by another. A row is a page's
    last heartbeat (every 20 s); one older than a minute is a closed page and is swept away
    (`intake.web.clerkops.Presence`). Migration 0010 creates the table.
    """

    __tablename__ = "page_presence"
    __table_args__ = (Index("ix_page_presence_last_seen", "last_seen"),)

    request_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("requests.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    editing: Mapped[bool] = mapped_column(Boolean, default=False)
