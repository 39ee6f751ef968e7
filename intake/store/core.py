"""What every table module of the store stands on: the engine, its two kinds of transaction, the
schema, and the sealing of personal data at rest (which columns, under which associated data).

`StoreCore` holds no process-local state but the engine and the keyring, so several processes (and
machines on PostgreSQL) can share one database; the table modules (`submissions`, `requests`,
`events`, `outbox`, `views`, `reprocessing`, `conversation`) are mixins on it and `Store` is all of
them at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

from sqlalchemy import Row, func, inspect, select, text
from sqlalchemy.orm import Session

from intake.crypto import Keyring, KeyringError, sealed_key_id
from intake.store import migrate, sealing
from intake.store import online_models as _online_models  # noqa: F401  (its table belongs to the same metadata)
from intake.store import web_models as _web_models  # noqa: F401  (its tables belong to the same metadata)
from intake.store.engine import READONLY, REDONE, make_engine, normalise_url
from intake.store.models import Request, Submission, SubmissionPart
from intake.store.records import RequestRecord, SubmissionRecord, copy_record, typed_request

if TYPE_CHECKING:
    from intake.settings import Settings


def aad(column: str, *row: Any) -> str:
    """Associated data of a sealed value: its column and the row's identity, known before the insert
    (the database assigns ids only at the insert), so a ciphertext moved elsewhere does not open."""
    return ":".join([column, *(str(x) for x in row)])


SealKind = Literal["bytes", "json", "text"]
# Every value sealed at rest: (model, column, kind, associated data of a row). What may hold a full
# SSN or the message itself: the raw bytes, the extraction result (candidate values, snippets, part
# texts), a request's fields, problems (messages quote values) and provenance (labels, snippets),
# and attachment names. Left in clear on purpose: the search columns (last four of the SSN, names,
# EIN, country), confidences, events (masked by their writers) and replies (masked SSNs).
SEALED: tuple[tuple[type[Any], str, SealKind, Callable[[Any], str]], ...] = (
    (Submission, "raw", "bytes", lambda r: aad("submissions.raw", r.content_key)),
    (Submission, "result", "json", lambda r: aad("submissions.result", r.id)),
    (Request, "fields", "json", lambda r: aad("requests.fields", r.submission_id, r.seq)),
    (Request, "problems", "json", lambda r: aad("requests.problems", r.submission_id, r.seq)),
    (Request, "provenance", "json", lambda r: aad("requests.provenance", r.submission_id, r.seq)),
    (SubmissionPart, "name", "text", lambda r: aad("parts.name", r.submission_id, r.seq)),
    (SubmissionPart, "filename", "text", lambda r: aad("parts.filename", r.submission_id, r.seq)),
)


@dataclass
class KeyUsage:
    """How many stored values each key seals (`None`: still in clear), for `keys list` and `retire`."""

    by_key: dict[str | None, int] = field(default_factory=dict)
    by_column: dict[str, dict[str | None, int]] = field(default_factory=dict)


SEALED_ONLY_RECHECK = 30.0  # seconds between looks for the `sealed_only` mark while it is not set


class StoreCore:
    """Engine, transactions, schema and sealing; one per process (engines do not survive `fork`)."""

    def __init__(
        self,
        url: str,
        *,
        reference_prefix: str = "COC",
        echo: bool = False,
        keyring: Keyring | Callable[[], Keyring] | None = None,
        allow_plaintext: bool = False,
    ) -> None:
        """`keyring`: seal personal data at rest (`SEALED`), or a function that loads it when first
        needed; without one, values are written in clear and only clear values can be read (the
        gateway's own stores always get one: `from_settings`). `allow_plaintext`: accept values in
        clear even in a database marked `sealed_only` (see `intake.store.sealing`)."""
        self.url = normalise_url(url)
        self.reference_prefix = reference_prefix
        self._keyring = keyring if isinstance(keyring, Keyring) else None
        self._load_keyring = None if isinstance(keyring, Keyring) else keyring
        self.engine = make_engine(self.url, echo=echo)
        self._ro = self.engine.execution_options(**{READONLY: True})
        self._redone = self.engine.execution_options(**{REDONE: True})
        # SQLite: this process's writers queue on a lock of their own, woken the moment the writer
        # before them commits; left to SQLite's busy handler, a waiting writer sleeps in steps of up
        # to 100 ms however soon the lock is free, which a busy daemon's seven threads paid on most
        # transactions. Other processes still meet at SQLite's lock (`busy_timeout`).
        self.write_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else nullcontext())
        self.allow_plaintext = allow_plaintext
        self._sealed_only: str | None = None
        self._sealed_only_checked = -1e9  # monotonic time of the last look while not yet marked

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The store the settings name, with the keyring they name, loaded when first needed (so
        `db upgrade` and `status` work before a key is set up; `run` checks it at start)."""
        from intake.crypto import keyring_from_settings  # noqa: PLC0415 - only where settings are at hand

        return cls(settings.store.url, reference_prefix=settings.replies.reference_prefix,
                   keyring=lambda: keyring_from_settings(settings),
                   allow_plaintext=settings.encryption.allow_plaintext)

    @property
    def keyring(self) -> Keyring | None:
        if self._keyring is None and self._load_keyring is not None:
            self._keyring = self._load_keyring()  # a KeyringError says what to configure
        return self._keyring

    def __repr__(self) -> str:
        # Never show a password that may be in the URL.
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Alembic upgrade to head (the packaged migrations)."""
        migrate.upgrade(self.engine)

    def current_revision(self) -> str | None:
        return migrate.current_revision(self.engine)

    def needs_upgrade(self) -> bool:
        return self.current_revision() != migrate.head_revision()

    def ensure_schema(self) -> bool:
        """Upgrade an empty or older database; True if anything was applied. Used by `run`."""
        if not self.needs_upgrade():
            return False
        self.upgrade()
        return True

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self, *, redone: bool = False) -> Iterator[Session]:
        """A write transaction. `redone=True` for the pipeline's own progress (an attempt counted,
        an extraction recorded, a reply taken or settled): lost in a power cut, the sweep does it
        again, so its commit does not wait for the disk (SQLite `synchronous=NORMAL` in WAL,
        PostgreSQL `synchronous_commit = off`; a crash of the process loses nothing either way).
        What anyone was told of stays flushed: a stored submission (before the `250` or the IMAP
        move), a queued reply (which also flushes the extraction before it), staff's changes."""
        with (self.write_lock, Session(self._redone if redone else self.engine, expire_on_commit=False) as session,
              session.begin()):
            if redone and self.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit = off"))
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._ro, expire_on_commit=False) as session, session.begin():
            yield session

    # -- encryption at rest ---------------------------------------------------------------------

    def _seal(self, kind: SealKind, value: Any, where: str) -> Any:
        if value is None or self.keyring is None:
            return value
        if kind == "bytes":
            return self.keyring.encrypt(value, where)
        if kind == "text":
            return self.keyring.encrypt_text(value, where)
        return self.keyring.encrypt_json(value, where)

    def sealed_only(self) -> str | None:
        """Since when this database holds sealed values only (None: clear values are accepted).

        Looked up at most every 30 s until set (a `keys reencrypt` elsewhere marks it), then kept.
        """
        if self._sealed_only is None and time.monotonic() - self._sealed_only_checked > SEALED_ONLY_RECHECK:
            self._sealed_only_checked = time.monotonic()
            self._sealed_only = sealing.sealed_only_since(self._ro)  # read-only: never waits on a writer
        return self._sealed_only

    def mark_sealed_only(self, how: str) -> None:
        sealing.mark_sealed_only(self.engine, how)
        self._sealed_only_checked = -1e9

    def _unseal(self, kind: SealKind, value: Any, where: str, row: Any = None) -> Any:
        """The clear value. A value without the format prefix (written before encryption) is
        returned as is, unless the database is `sealed_only` and the store has a keyring: then it
        was written past the store and is refused (`row`: the row id the error names)."""
        if value is None:
            return value
        if sealed_key_id(value) is None:
            has_keyring = self._keyring is not None or self._load_keyring is not None
            if has_keyring and not self.allow_plaintext and (since := self.sealed_only()):
                raise sealing.refusal(where, row, since)
            return value
        if self.keyring is None:
            raise KeyringError("the store holds encrypted values but was opened without a keyring")
        if kind == "bytes":
            return self.keyring.decrypt(bytes(value), where)
        if kind == "text":
            return self.keyring.decrypt_text(value, where)
        return self.keyring.decrypt_json(value, where)

    def _seal_request(self, submission_id: int, seq: int, **values: Any) -> dict[str, Any]:
        return {k: self._seal("json", v, aad(f"requests.{k}", submission_id, seq)) for k, v in values.items()}

    def _request_values(self, r: Request) -> dict[str, Any]:
        """fields, problems and provenance of a request row, in clear."""
        return {k: self._unseal("json", getattr(r, k), aad(f"requests.{k}", r.submission_id, r.seq), r.id)
                for k in ("fields", "problems", "provenance")}

    def _submission_record(self, s: Submission | Row[Any]) -> SubmissionRecord:
        """A submission's record (raw message and result decrypted) from its ORM object or Core row."""
        return copy_record(SubmissionRecord, s, recipients=tuple(s.recipients or ()),
                           raw=self._unseal("bytes", s.raw, aad("submissions.raw", s.content_key), s.id),
                           result=self._unseal("json", s.result, aad("submissions.result", s.id), s.id))

    def _request_record(self, r: Request) -> RequestRecord:
        values = self._request_values(r)
        return copy_record(RequestRecord, r, reference=r.reference or "", provenance=values["provenance"],
                           **typed_request(values["fields"], values["problems"]))

    def _part_row(self, submission_id: int, seq: int, part: Mapping[str, Any]) -> dict[str, Any]:
        """The columns of one `parts` row (names sealed) for an extraction's part."""
        return {
            "submission_id": submission_id,
            "seq": seq,
            "name": self._seal("text", str(part.get("name", "")), aad("parts.name", submission_id, seq)),
            "media_type": str(part.get("media_type") or "application/octet-stream")[:255],
            "filename": self._seal("text", part.get("filename"), aad("parts.filename", submission_id, seq)),
            "pages": int(part.get("pages") or 0),
        }

    def reencrypt(self, *, batch: int = 50, on_batch: Callable[[str, int], None] | None = None) -> dict[str, int]:
        """Seal every value under the keyring's current key: rows under older keys and rows still
        in clear (written before encryption). Returns {"table.column": values rewritten}.

        Batches of `batch` rows, each its own short transaction with the rows locked, so a running
        gateway keeps reading and writing meanwhile (it waits at most one batch for a row).
        """
        if self.keyring is None:
            raise KeyringError("re-encryption needs a keyring")
        done: dict[str, int] = {f"{m.__tablename__}.{c}": 0 for m, c, _, _ in SEALED}
        for model in dict.fromkeys(m for m, _, _, _ in SEALED):
            specs = [(c, k, a) for m, c, k, a in SEALED if m is model]
            # Whole raw messages are loaded: fewer of them at a time (one may be tens of MB).
            size = min(batch, 10) if model is Submission else batch
            last = 0
            while True:
                current = self.keyring.current
                with self._write() as s:
                    rows = list(s.scalars(select(model).where(model.id > last).order_by(model.id).limit(size)
                                          .with_for_update()))
                    for row in rows:
                        for column, kind, where_of in specs:
                            value = getattr(row, column)
                            if value is None or sealed_key_id(value) == current:
                                continue
                            where = where_of(row)
                            setattr(row, column, self._seal(kind, self._unseal(kind, value, where, row.id), where))
                            done[f"{model.__tablename__}.{column}"] += 1
                if not rows:
                    break
                last = rows[-1].id
                if on_batch is not None:
                    on_batch(model.__tablename__, len(rows))
        return done

    def key_usage(self, *, batch: int = 200) -> KeyUsage:
        """Count the stored values per key id (None: in clear), reading every sealed column."""
        usage = KeyUsage()
        for model, column, kind, _ in SEALED:
            col = getattr(model, column)
            # Only the head of a raw message is needed to read its key id.
            target = func.substr(col, 1, 80) if kind == "bytes" else col
            per = usage.by_column.setdefault(f"{model.__tablename__}.{column}", {})
            last = 0
            while True:
                with self._read() as s:
                    rows = list(s.execute(select(model.id, target).where(model.id > last, col.is_not(None))
                                          .order_by(model.id).limit(batch)))
                if not rows:
                    break
                for _, value in rows:
                    kid = sealed_key_id(value)
                    per[kid] = per.get(kid, 0) + 1
                    usage.by_key[kid] = usage.by_key.get(kid, 0) + 1
                last = rows[-1][0]
        return usage
