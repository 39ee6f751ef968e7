"""Staff accounts, browser sessions, API tokens and the login rate limit.

Passwords are hashed with argon2id; session and API tokens are random and only their SHA-256 is
stored, so a copy of the database lets nobody log in. Everything lives in the store's database so
that several gateway processes share one set of sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.store import Store
from intake.store.web_models import ROLES, ApiToken, LoginAttempt, User, WebSession

_LONGEST_NAME = 100  # a user name longer than this is no one's
MIN_PASSWORD = 10  # characters a password needs at least
_LONGEST_TOKEN = 200  # an API token or session id longer than this is not ours

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MAX_DELAY_SECONDS = 3600.0
TOKEN_DAYS = 90  # how long a new API token is valid unless told otherwise (`users token --expires-days`)
MAX_TOKEN_DAYS = 3650


class UserError(ValueError):
    """A user could not be added or changed (the message is for the operator)."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    disabled: bool
    must_change: bool = False

    @property
    def may_approve(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def sees_full_ssn(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenInfo:
    """An API token as operators see it (never its value)."""

    id: int
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= _now()

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "expired" if self.expired else "active"


@dataclass(frozen=True)
class SessionInfo:
    account: Account
    csrf: str


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _token(t: ApiToken) -> TokenInfo:
    return TokenInfo(id=t.id, name=t.name, role=t.role, created_at=t.created_at, expires_at=t.expires_at,
                     last_used_at=t.last_used_at, revoked=bool(t.revoked))


def _account(u: User) -> Account:
    return Account(id=u.id, name=u.name, role=u.role, disabled=u.disabled, must_change=bool(u.must_change))


def _wait(counted: tuple[int | None, datetime | None], threshold: int, delay: float) -> float:
    failures, last = int(counted[0] or 0), counted[1]
    if failures < threshold or last is None:
        return 0.0
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    wait = min(delay * (2 ** (failures - threshold)), MAX_DELAY_SECONDS)
    return max(0.0, (last + timedelta(seconds=wait) - _now()).total_seconds())


def _hasher_verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A one-time password to hand over on paper: 16 characters from an unambiguous alphabet."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


class Users:
    """Accounts and sessions on top of a `Store` (its engine, its transactions)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _session(self) -> Session:
        return Session(self.store.engine, expire_on_commit=False)

    # -- accounts -------------------------------------------------------------------------------

    def add(self, name: str, role: str, password: str, *, must_change: bool = False) -> Account:
        """A new account; `must_change` for a one-time password (the first login must replace it)."""
        name = name.strip()
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        if not name or len(name) > _LONGEST_NAME or any(c.isspace() for c in name):
            raise UserError("a user name is 1-100 characters without spaces")
        if len(password) < MIN_PASSWORD:
            raise UserError("a password needs at least 10 characters")
        try:
            with self._session() as s, s.begin():
                u = User(name=name, role=role, password_hash=_hasher.hash(password), disabled=False,
                         must_change=must_change)
                s.add(u)
                s.flush()
                return _account(u)
        except IntegrityError:
            raise UserError(f"a user named {name!r} exists already") from None

    def list(self) -> list[Account]:
        with self._session() as s:
            return [_account(u) for u in s.scalars(select(User).order_by(User.name))]

    def get(self, name: str) -> Account | None:
        with self._session() as s:
            u = s.scalar(select(User).where(User.name == name))
            return None if u is None else _account(u)

    def set_disabled(self, name: str, disabled: bool = True) -> Account:
        with self._session() as s, s.begin():
            u = s.scalar(select(User).where(User.name == name))
            if u is None:
                raise UserError(f"no user named {name!r}")
            u.disabled = disabled
            if disabled:
                s.execute(delete(WebSession).where(WebSession.user_id == u.id))
            return _account(u)

    def set_password(self, name: str, password: str, *, keep_session: str | None = None,
                     must_change: bool = False) -> None:
        """A new password; every other session of the user ends (`keep_session`: the cookie to keep).

        `must_change` for a one-time password an administrator hands out.
        """
        if len(password) < MIN_PASSWORD:
            raise UserError("a password needs at least 10 characters")
        with self._session() as s, s.begin():
            u = s.scalar(select(User).where(User.name == name))
            if u is None:
                raise UserError(f"no user named {name!r}")
            if _hasher_verify(u.password_hash, password):
                raise UserError("the new password must differ from the old one")
            u.password_hash = _hasher.hash(password)
            u.must_change = must_change
            q = delete(WebSession).where(WebSession.user_id == u.id)
            if keep_session:
                q = q.where(WebSession.token_hash != _sha(keep_session))
            s.execute(q)

    def check_password(self, name: str, password: str) -> bool:
        """Whether `password` is this user's (for a password change; no attempt is recorded)."""
        with self._session() as s:
            u = s.scalar(select(User).where(User.name == name))
            stored = u.password_hash if u is not None else _DUMMY_HASH
        return _hasher_verify(stored, password) and u is not None

    # -- login ----------------------------------------------------------------------------------

    def wait_seconds(self, name: str, *, max_failures: int, delay: float, window_minutes: float,
                     client: str | None = None) -> float:
        """How long an attempt for this user name (from this client) must wait before it is even
        checked (0: now).

        Failures for the name from this client since the name's last success within the window
        count; from `max_failures` on, each attempt waits `delay`, doubled for every failure beyond
        that (capped at an hour). So the lockout is per name and client: nobody locks a colleague
        out by typing the colleague's name wrongly elsewhere. Failures for the name from every client
        together slow it down only from ten times `max_failures` on (an attack from many machines).
        A client trying many names (password spraying) is slowed down from four times
        `max_failures` failures on.
        """
        since = _now() - timedelta(minutes=window_minutes)
        client = (client or "")[:64]
        with self._session() as s:
            last_ok = s.scalar(select(func.max(LoginAttempt.at)).where(LoginAttempt.name == name, LoginAttempt.ok))
            start = max(since, last_ok) if last_ok else since
            failed = (LoginAttempt.ok.is_(False), LoginAttempt.at > start)

            def counted(*where: Any) -> tuple[int | None, datetime | None]:
                row = s.execute(select(func.count(), func.max(LoginAttempt.at)).where(*where)).one()
                return (row[0], row[1])

            everywhere = counted(LoginAttempt.name == name, *failed)
            if not client:
                return _wait(everywhere, max_failures, delay)
            here = counted(LoginAttempt.name == name, LoginAttempt.client == client, *failed)
            by_client = counted(LoginAttempt.client == client, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
        return max(_wait(here, max_failures, delay), _wait(everywhere, 10 * max_failures, delay),
                   _wait(by_client, 4 * max_failures, delay))

    def authenticate(self, name: str, password: str, *, client: str | None = None) -> Account | None:
        """The account if the password is right and the account enabled; every attempt is recorded."""
        name = name.strip()[:100]
        with self._session() as s:
            u = s.scalar(select(User).where(User.name == name))
            stored = u.password_hash if u is not None else _DUMMY_HASH
        ok = False
        try:
            ok = _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and u is not None and not u.disabled
        with self._session() as s, s.begin():
            s.add(LoginAttempt(name=name, ok=ok, client=(client or "")[:64] or None))
            if ok and u is not None and _hasher.check_needs_rehash(stored):  # argon2 parameters were raised
                row = s.get(User, u.id)
                if row is not None:
                    row.password_hash = _hasher.hash(password)
        return _account(u) if ok and u is not None else None

    # -- sessions -------------------------------------------------------------------------------

    def open_session(self, account: Account) -> str:
        """A new session for `account`; returns the cookie value (shown nowhere else)."""
        token = secrets.token_urlsafe(32)
        with self._session() as s, s.begin():
            s.add(WebSession(token_hash=_sha(token), user_id=account.id, csrf=secrets.token_urlsafe(32)))
        return token

    def session(self, token: str | None, *, idle_minutes: float) -> SessionInfo | None:
        """The session of a cookie, touched; None if unknown, idle too long, or the user disabled."""
        if not token or len(token) > _LONGEST_TOKEN:
            return None
        key = _sha(token)
        now = _now()
        with self._session() as s, s.begin():
            ws = s.get(WebSession, key)
            if ws is None:
                return None
            u = s.get(User, ws.user_id)
            if u is None or u.disabled or ws.last_seen_at < now - timedelta(minutes=idle_minutes):
                s.delete(ws)
                return None
            if ws.last_seen_at < now - timedelta(seconds=30):  # fewer writes: touch at most twice a minute
                ws.last_seen_at = now
            return SessionInfo(_account(u), ws.csrf)

    def close_session(self, token: str | None) -> None:
        if token:
            with self._session() as s, s.begin():
                s.execute(delete(WebSession).where(WebSession.token_hash == _sha(token)))

    # -- API tokens -----------------------------------------------------------------------------
    # A token reads full SSNs through the API: it expires, can be revoked, and its last use is kept.

    def add_token(self, name: str, *, expires_days: int = TOKEN_DAYS) -> str:
        """A new API token for the certificate system (role `export`), valid for `expires_days`;
        shown once, stored hashed."""
        name = name.strip()[:100] or "api"
        if name in ("list", "revoke"):
            raise UserError(f"{name!r} is a command, not a token name")
        if not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise UserError(f"a token is valid for 1 to {MAX_TOKEN_DAYS} days")
        token = "coc_" + secrets.token_urlsafe(32)
        with self._session() as s, s.begin():
            s.add(ApiToken(name=name, token_hash=_sha(token), role="export", revoked=False,
                           expires_at=_now() + timedelta(days=expires_days)))
        return token

    def tokens(self) -> Sequence[TokenInfo]:
        """Every API token, newest first (revoked and expired ones too: they explain a refusal)."""
        with self._session() as s:
            return [_token(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]

    def revoke_token(self, which: str) -> Sequence[TokenInfo]:
        """Revoke the token with this id (as `tokens` lists it), or every unrevoked token of this name."""
        with self._session() as s, s.begin():
            q = select(ApiToken).where(ApiToken.revoked.is_(False))
            q = q.where(ApiToken.id == int(which)) if which.isdigit() else q.where(ApiToken.name == which)
            found = list(s.scalars(q))
            if not found:
                raise UserError(f"no API token {which!r} that is not revoked already")
            for t in found:
                t.revoked = True
            return [_token(t) for t in found]

    def use_token(self, token: str | None) -> TokenInfo | None:
        """The token a bearer credential is, unless unknown or revoked; an expired one is returned as
        such (`expired`) so that the caller can say so. A valid use is recorded (at most once a minute)."""
        if not token or len(token) > _LONGEST_TOKEN:
            return None
        now = _now()
        with self._session() as s, s.begin():
            t = s.scalar(select(ApiToken).where(ApiToken.token_hash == _sha(token), ApiToken.revoked.is_(False)))
            if t is None:
                return None
            info = _token(t)
            if not info.expired and (t.last_used_at is None or t.last_used_at < now - timedelta(seconds=60)):
                t.last_used_at = now
            return info

    def token_role(self, token: str | None) -> tuple[str, str] | None:
        """(token name, role) of a valid bearer token (known, not revoked, not expired), or None."""
        info = self.use_token(token)
        return None if info is None or info.expired else (info.name, info.role)
