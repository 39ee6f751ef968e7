"""The store API the sources, the pipeline, the outbox and the review page call.

Every method is one transaction and holds no process-local state, so that several processes (and
later several machines on PostgreSQL) can call it at once. Duplicates are refused by unique keys in
the database; a method that lost a race sees the winner's row and says so (`created=False`,
`queue_reply` -> False, `StateConflict`), never a second row.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy import and_, case, func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.crypto import Keyring, KeyringError, sealed_key_id
from intake.store import migrate, sealing
from intake.store import online_models as _online_models  # noqa: F401  (its table belongs to the same metadata)
from intake.store import web_models as _web_models  # noqa: F401  (its tables belong to the same metadata)
from intake.store.clear import masked, masked_strings
from intake.store.conversation import ConversationStore
from intake.store.engine import READONLY, commit_without_flush, make_engine, normalise_url
from intake.store.models import (
    CHANNELS,
    OUTBOX_STATES,
    REPLY_CHANNELS,
    REPLY_KINDS,
    REQUEST_STATES,
    SUBMISSION_STATES,
    Event,
    ImapSeen,
    Outbox,
    Request,
    SourceState,
    Submission,
    SubmissionPart,
)
from parsers.pii import mask_ssns

if TYPE_CHECKING:
    from intake.settings import Settings

Channel = Literal["imap", "smtp", "lmtp", "fax", "web"]


@dataclass(frozen=True)
class Incoming:
    """What a source hands the store: one message or fax file, byte for byte, and its channel ids."""

    channel: Channel
    raw: bytes  # the message or fax file, byte for byte
    sender: str | None  # envelope/From address, or fax number
    received_at: datetime  # aware UTC
    message_id: str | None = None
    recipients: tuple[str, ...] = ()
    imap_folder: str | None = None
    imap_uidvalidity: int | None = None
    imap_uid: int | None = None
    fax_filename: str | None = None
    client_ip: str | None = None  # SMTP/LMTP session, for the sender check (`intake.senderauth`)
    helo: str | None = None


class StateConflict(Exception):
    """A state move found the row in another state than expected (someone else moved it first)."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class SubmissionRecord:
    id: int
    channel: str
    sender: str | None
    recipients: tuple[str, ...]
    received_at: datetime
    raw: bytes
    size: int
    sha256: str
    message_id: str | None
    imap_folder: str | None
    imap_uidvalidity: int | None
    imap_uid: int | None
    fax_filename: str | None
    state: str
    reason: str | None
    attempts: int
    result: dict[str, Any] | None
    client_ip: str | None = None
    helo: str | None = None
    sender_auth: dict[str, Any] | None = None  # the sender verdict (`intake.senderauth.Verdict`)


@dataclass(frozen=True)
class RequestRecord:
    id: int
    submission_id: int
    seq: int
    reference: str
    state: str
    fields: dict[str, Any]
    problems: list[Any]
    confidence: dict[str, Any]
    provenance: dict[str, Any]
    ssn_last4: str | None
    worker_name: str | None
    employer_name: str | None
    employer_ein: str | None
    country: str | None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    submission_id: int
    request_id: int | None
    kind: str
    generation: int
    channel: str
    recipient: str
    message: bytes
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None = None  # a mail reply's Message-ID (answers are threaded by it)
    fax_transport: str | None = None
    fax_job: str | None = None
    fax_state: str | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    submission_id: int | None
    request_id: int | None
    at: datetime
    actor: str
    kind: str
    field: str | None
    old: str | None
    new: str | None


@dataclass(frozen=True)
class QueueRow:
    """One line of the staff queue: the request and what its submission says about it."""

    request: RequestRecord
    channel: str
    received_at: datetime
    sender: str | None


# Actors that are the gateway itself; an event by anyone else on a request means staff touched it.
SYSTEM_ACTORS = frozenset({"pipeline", "replies", "outbox", "reprocess", "imap", "smtp", "lmtp", "fax", "web"})
# Request states a reprocess may overwrite (nobody has corrected, approved or rejected them).
REPROCESSABLE_STATES = ("accepted", "needs_review")


@dataclass
class Reprocessed:
    """What `Store.replace_extraction` did with each request of the submission."""

    replaced: list[int] = field(default_factory=list)  # fields replaced by the new extraction
    kept: list[int] = field(default_factory=list)  # touched by staff or finished: left alone
    added: list[int] = field(default_factory=list)  # found now, not before
    unmatched: list[int] = field(default_factory=list)  # found before, not now: left alone


@dataclass(frozen=True)
class Waiting:
    """The oldest unfinished item of one kind, for `coc-intake status`."""

    what: str  # "submission", "request" or "reply"
    id: int
    state: str
    since: datetime


def _now(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware UTC datetime")
    return now.astimezone(UTC)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_message(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body of an RFC 5322 message, whichever line ending it uses."""
    hits = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    if not hits:
        return raw, b""
    i, n = min(hits)
    return raw[:i], raw[i + n :]


def body_hash(raw: bytes) -> str:
    """Hash of the message body, blind to line endings and trailing blanks.

    The same message reaches us over IMAP and SMTP with different `Received:` headers and, after
    a relay, CRLF or LF; its body is what stays the same.
    """
    _, body = split_message(raw)
    body = body.replace(b"\r\n", b"\n").rstrip()
    return _sha256(body)


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID header of a raw message, or None; only the header block is parsed."""
    head, _ = split_message(raw)
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
        value = msg.get("Message-ID")
    except Exception:  # a header we cannot parse is the same as none
        return None
    return normalise_message_id(str(value)) if value else None


def normalise_message_id(value: str) -> str | None:
    value = re.sub(r"\s+", "", value)
    if not value:
        return None
    if not value.startswith("<"):
        value = f"<{value.strip('<>')}>"
    return value[:998]


def _content_key(channel: str, raw: bytes, message_id: str | None) -> tuple[str, str | None]:
    """The duplicate identity of a submission (see `Submission.content_key`) and its body hash."""
    if channel in ("fax", "web"):  # a web form has no Message-ID: the same form twice is one submission
        return f"{channel}:" + _sha256(raw), None
    bh = body_hash(raw)
    if message_id:
        return "mid:" + _sha256(message_id.encode("utf-8", "surrogateescape") + b"\0" + bh.encode()), bh
    return "raw:" + _sha256(raw), bh


def dig(data: Mapping[str, Any], *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or None where a step is missing or not a mapping."""
    cur: Any = data
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def search_columns(fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The columns staff search by, taken from a request's fields. Only the SSN's last four digits."""
    ssn = dig(fields, "worker", "ssn")
    digits = re.sub(r"\D", "", str(ssn)) if ssn else ""
    names = [dig(fields, "worker", k) for k in ("first_name", "middle_name", "last_name")]
    worker = " ".join(str(n).strip() for n in names if n and str(n).strip()) or None
    ein = dig(fields, "employer", "ein")
    country = dig(fields, "assignment", "country")
    employer = dig(fields, "employer", "name")
    return {
        "ssn_last4": digits[-4:] if len(digits) >= 4 else None,
        "worker_name": masked(worker),
        "employer_name": masked(str(employer)) if employer else None,
        "employer_ein": str(ein)[:16] if ein else None,
        "country": str(country)[:8] if country else None,
    }


_R = TypeVar("_R")


def _copy(record: type[_R], row: Any, **changed: Any) -> _R:
    """A frozen record with the row's columns of the same names (the session may close after)."""
    values = {f.name: getattr(row, f.name) for f in dataclass_fields(record)}  # type: ignore[arg-type]
    return record(**(values | changed))


def _aad(column: str, *row: Any) -> str:
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
    (Submission, "raw", "bytes", lambda r: _aad("submissions.raw", r.content_key)),
    (Submission, "result", "json", lambda r: _aad("submissions.result", r.id)),
    (Request, "fields", "json", lambda r: _aad("requests.fields", r.submission_id, r.seq)),
    (Request, "problems", "json", lambda r: _aad("requests.problems", r.submission_id, r.seq)),
    (Request, "provenance", "json", lambda r: _aad("requests.provenance", r.submission_id, r.seq)),
    (SubmissionPart, "name", "text", lambda r: _aad("parts.name", r.submission_id, r.seq)),
    (SubmissionPart, "filename", "text", lambda r: _aad("parts.filename", r.submission_id, r.seq)),
)


@dataclass
class KeyUsage:
    """How many stored values each key seals (`None`: still in clear), for `keys list` and `retire`."""

    by_key: dict[str | None, int] = field(default_factory=dict)
    by_column: dict[str, dict[str | None, int]] = field(default_factory=dict)


def _outbox_item(o: Outbox) -> OutboxItem:
    return _copy(OutboxItem, o)


def _jsonable(value: Any) -> Any:
    """Plain JSON data from dicts, pydantic models (`model_dump(mode="json")`), dates and JSON text.

    So the pipeline can hand over its `SubmissionResult` and `RequestResult` objects as they are.
    """
    if isinstance(value, str | bytes):
        return json.loads(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")

    def default(o: Any) -> Any:
        if hasattr(o, "model_dump"):
            return o.model_dump(mode="json")
        if isinstance(o, date | datetime):
            return o.isoformat()
        if isinstance(o, set | frozenset | tuple):
            return list(o)
        raise TypeError(f"cannot store a {type(o).__name__} as JSON")

    return json.loads(json.dumps(value, default=default))


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    loaded = _jsonable(value)
    if not isinstance(loaded, dict):
        raise ValueError("result_json must be a JSON object")
    return loaded


class Store(ConversationStore):
    """The durable store; one per process (engines do not survive `fork`)."""

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
        self.allow_plaintext = allow_plaintext
        self._sealed_only: str | None = None
        self._sealed_only_checked = -1e9  # monotonic time of the last look while not yet marked

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store the settings name, with the keyring they name, loaded when first needed (so
        `db upgrade` and `status` work before a key is set up; `run` checks it at start)."""
        from intake.crypto import keyring_from_settings

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

    # -- encryption at rest ---------------------------------------------------------------------

    def _seal(self, kind: SealKind, value: Any, aad: str) -> Any:
        if value is None or self.keyring is None:
            return value
        if kind == "bytes":
            return self.keyring.encrypt(value, aad)
        if kind == "text":
            return self.keyring.encrypt_text(value, aad)
        return self.keyring.encrypt_json(value, aad)

    def sealed_only(self) -> str | None:
        """Since when this database holds sealed values only (None: clear values are accepted).

        Looked up at most every 30 s until set (a `keys reencrypt` elsewhere marks it), then kept.
        """
        if self._sealed_only is None and time.monotonic() - self._sealed_only_checked > 30:
            self._sealed_only_checked = time.monotonic()
            self._sealed_only = sealing.sealed_only_since(self._ro)  # read-only: never waits on a writer
        return self._sealed_only

    def mark_sealed_only(self, how: str) -> None:
        sealing.mark_sealed_only(self.engine, how)
        self._sealed_only_checked = -1e9

    def _unseal(self, kind: SealKind, value: Any, aad: str, row: Any = None) -> Any:
        """The clear value. A value without the format prefix (written before encryption) is
        returned as is, unless the database is `sealed_only` and the store has a keyring: then it
        was written past the store and is refused (`row`: the row id the error names)."""
        if value is None:
            return value
        if sealed_key_id(value) is None:
            has_keyring = self._keyring is not None or self._load_keyring is not None
            if has_keyring and not self.allow_plaintext and (since := self.sealed_only()):
                raise sealing.refusal(aad, row, since)
            return value
        if self.keyring is None:
            raise KeyringError("the store holds encrypted values but was opened without a keyring")
        if kind == "bytes":
            return self.keyring.decrypt(bytes(value), aad)
        if kind == "text":
            return self.keyring.decrypt_text(value, aad)
        return self.keyring.decrypt_json(value, aad)

    def _seal_request(self, submission_id: int, seq: int, **values: Any) -> dict[str, Any]:
        return {k: self._seal("json", v, _aad(f"requests.{k}", submission_id, seq)) for k, v in values.items()}

    def _request_values(self, r: Request) -> dict[str, Any]:
        """fields, problems and provenance of a request row, in clear."""
        return {k: self._unseal("json", getattr(r, k), _aad(f"requests.{k}", r.submission_id, r.seq), r.id)
                for k in ("fields", "problems", "provenance")}

    def _submission_record(self, s: Submission) -> SubmissionRecord:
        return _copy(SubmissionRecord, s, recipients=tuple(s.recipients or ()),
                     raw=self._unseal("bytes", s.raw, _aad("submissions.raw", s.content_key), s.id),
                     result=self._unseal("json", s.result, _aad("submissions.result", s.id), s.id))

    def _request_record(self, r: Request) -> RequestRecord:
        return _copy(RequestRecord, r, reference=r.reference or "", **self._request_values(r))

    def _part(self, submission_id: int, seq: int, part: Mapping[str, Any]) -> SubmissionPart:
        return SubmissionPart(
            submission_id=submission_id,
            seq=seq,
            name=self._seal("text", str(part.get("name", "")), _aad("parts.name", submission_id, seq)),
            media_type=str(part.get("media_type") or "application/octet-stream")[:255],
            filename=self._seal("text", part.get("filename"), _aad("parts.filename", submission_id, seq)),
            pages=int(part.get("pages") or 0),
        )

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
                        for column, kind, aad in specs:
                            value = getattr(row, column)
                            if value is None or sealed_key_id(value) == current:
                                continue
                            where = aad(row)
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

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._ro, expire_on_commit=False) as session, session.begin():
            yield session

    # -- intake -------------------------------------------------------------------------------

    def store_submission(self, inc: Incoming) -> tuple[int, bool]:
        """Store what a source received; committed before it returns.

        Returns (submission id, created). A duplicate returns (existing id, False): same IMAP
        (folder, UIDVALIDITY, UID); same Message-ID with the same body hash; same fax file hash.
        """
        if inc.channel not in CHANNELS:
            raise ValueError(f"unknown channel {inc.channel!r}")
        imap_id = (inc.imap_folder, inc.imap_uidvalidity, inc.imap_uid)
        has_imap = None not in imap_id
        if inc.channel == "imap" and not has_imap:
            raise ValueError("an IMAP submission needs folder, uidvalidity and uid")
        message_id = None
        if inc.channel not in ("fax", "web"):
            message_id = normalise_message_id(inc.message_id) if inc.message_id else header_message_id(inc.raw)
        key, bh = _content_key(inc.channel, inc.raw, message_id)
        sha = _sha256(inc.raw)
        received_at = _now(inc.received_at)

        existing = self._find_duplicate(key, imap_id if has_imap else None)
        if existing is None:
            try:
                with self._write() as s:
                    sub = Submission(
                        channel=inc.channel,
                        sender=inc.sender,
                        recipients=list(inc.recipients),
                        received_at=received_at,
                        raw=self._seal("bytes", inc.raw, _aad("submissions.raw", key)),
                        size=len(inc.raw),
                        sha256=sha,
                        message_id=message_id,
                        body_hash=bh,
                        content_key=key,
                        imap_folder=inc.imap_folder if has_imap else None,
                        imap_uidvalidity=inc.imap_uidvalidity if has_imap else None,
                        imap_uid=inc.imap_uid if has_imap else None,
                        fax_filename=inc.fax_filename,
                        fax_sha256=sha if inc.channel == "fax" else None,
                        client_ip=inc.client_ip,
                        helo=masked(inc.helo),
                        state="received",
                        attempts=0,
                    )
                    s.add(sub)
                    s.flush()
                    if has_imap:
                        s.add(
                            ImapSeen(
                                folder=inc.imap_folder,
                                uidvalidity=inc.imap_uidvalidity,
                                uid=inc.imap_uid,
                                submission_id=sub.id,
                            )
                        )
                    s.add(
                        Event(submission_id=sub.id, actor=inc.channel, kind="received", field="state", new="received")
                    )
                    return sub.id, True
            except IntegrityError:
                # Lost a race against a concurrent writer of the same message: read the winner.
                existing = self._find_duplicate(key, imap_id if has_imap else None)
                if existing is None:
                    raise
        if has_imap:
            self._note_imap(existing, inc)
        return existing, False

    def _find_duplicate(self, key: str, imap_id: tuple[str | None, int | None, int | None] | None) -> int | None:
        with self._read() as s:
            if imap_id is not None:
                folder, uidvalidity, uid = imap_id
                hit = s.scalar(
                    select(ImapSeen.submission_id).where(
                        ImapSeen.folder == folder, ImapSeen.uidvalidity == uidvalidity, ImapSeen.uid == uid
                    )
                )
                if hit is not None:
                    return int(hit)
            hit = s.scalar(select(Submission.id).where(Submission.content_key == key))
            return int(hit) if hit is not None else None

    def _note_imap(self, submission_id: int, inc: Incoming) -> None:
        """Remember that this IMAP UID is a copy of a stored submission, so it is not fetched again."""
        try:
            with self._write() as s:
                known = s.get(ImapSeen, (inc.imap_folder, inc.imap_uidvalidity, inc.imap_uid))
                if known is None:
                    s.add(
                        ImapSeen(
                            folder=inc.imap_folder,
                            uidvalidity=inc.imap_uidvalidity,
                            uid=inc.imap_uid,
                            submission_id=submission_id,
                        )
                    )
        except IntegrityError:
            pass  # a concurrent writer recorded it first

    def imap_known(self, folder: str, uidvalidity: int, uids: list[int]) -> set[int]:
        """Which of `uids` (in this folder and UIDVALIDITY) are already stored."""
        found: set[int] = set()
        with self._read() as s:
            for i in range(0, len(uids), 500):
                chunk = uids[i : i + 500]
                rows = s.scalars(
                    select(ImapSeen.uid).where(
                        ImapSeen.folder == folder, ImapSeen.uidvalidity == uidvalidity, ImapSeen.uid.in_(chunk)
                    )
                )
                found.update(int(u) for u in rows)
        return found

    def get_source_state(self, name: str) -> tuple[int | None, int | None] | None:
        """(uidvalidity, last uid) recorded for a source such as "imap:INBOX", or None."""
        with self._read() as s:
            row = s.get(SourceState, name)
            return None if row is None else (row.uidvalidity, row.last_uid)

    def set_source_state(self, name: str, uidvalidity: int | None, last_uid: int | None) -> None:
        for _ in range(3):  # an insert race on the first write of a new name
            try:
                with self._write() as s:
                    row = s.get(SourceState, name)
                    if row is None:
                        s.add(SourceState(name=name, uidvalidity=uidvalidity, last_uid=last_uid))
                    else:
                        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, _now()
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"could not record source state {name!r}")

    # -- submissions --------------------------------------------------------------------------

    def get_submission(self, submission_id: int) -> SubmissionRecord:
        with self._read() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            return self._submission_record(sub)

    def record_sender_auth(self, submission_id: int, verdict: Mapping[str, Any]) -> None:
        """Keep the sender verdict on the submission, with an event staff can read in the trail."""
        data = masked_strings(_as_dict(dict(verdict)) or {})
        with self._write() as s:
            res = s.execute(update(Submission).where(Submission.id == submission_id)
                            .values(sender_auth=data, updated_at=_now()))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound(f"no submission {submission_id}")
            s.add(Event(submission_id=submission_id, actor="pipeline", kind="sender_auth", field="sender_auth",
                        new=str(data.get("reason") or "")[:1000]))

    def set_fax_sender(self, submission_id: int, number: str, how: str) -> bool:
        """A fax's number to answer, found after it was stored (its header line read by OCR); only
        where none was known, so a caller ID is never overwritten. True when it was set."""
        with self._write() as s:
            res = s.execute(update(Submission)
                            .where(Submission.id == submission_id, Submission.channel == "fax",
                                   Submission.sender.is_(None))
                            .values(sender=number, updated_at=_now()))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.add(Event(submission_id=submission_id, actor="pipeline", kind="caller_id", field="sender",
                        new=f"{number} ({how})"[:1000]))
            return True

    def submissions_in(self, states: Collection[str], limit: int | None = None) -> list[int]:
        """Ids of submissions in `states`, oldest first."""
        q = select(Submission.id).where(Submission.state.in_(list(states))).order_by(Submission.id)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as s:
            return [int(i) for i in s.scalars(q)]

    def pending_submissions(self, limit: int | None = None) -> list[int]:
        """Submissions stored but not yet extracted: what the pipeline (re)starts with."""
        return self.submissions_in(("received",), limit)

    def begin_attempt(self, submission_id: int) -> int:
        """Count one more extraction attempt; returns the count.

        Committed before the work starts, so a document that kills its worker (or the machine) again
        and again is seen on restart (`attempts >= max_attempts`) and sent to staff instead.
        """
        with self._write() as s:
            res = s.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.state == "received")
                .values(attempts=Submission.attempts + 1, updated_at=_now())
            )
            if res.rowcount != 1:  # type: ignore[attr-defined]
                raise StateConflict(f"submission {submission_id} is not waiting for extraction")
            return int(s.scalar(select(Submission.attempts).where(Submission.id == submission_id)) or 0)

    def _move_submission(
        self,
        s: Session,
        submission_id: int,
        new_state: str,
        *,
        expected: Collection[str] | None,
        actor: str,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Conditional state move inside an open transaction; returns the old state."""
        if new_state not in SUBMISSION_STATES:
            raise ValueError(f"unknown submission state {new_state!r}")
        # A reason quotes file names and problem messages (an attachment may be named after the
        # SSN); it is stored in clear and shown to every reviewer, so SSNs in it are masked.
        reason = mask_ssns(reason) if reason else reason
        old = s.scalar(select(Submission.state).where(Submission.id == submission_id))
        if old is None:
            raise NotFound(f"no submission {submission_id}")
        if expected is not None and old not in expected:
            raise StateConflict(f"submission {submission_id} is {old}, expected one of {sorted(expected)}")
        values: dict[str, Any] = {"state": new_state, "updated_at": _now(), "reason": reason}
        values.update(extra or {})
        res = s.execute(
            update(Submission).where(Submission.id == submission_id, Submission.state == old).values(**values)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise StateConflict(f"submission {submission_id} changed state concurrently")
        s.add(Event(submission_id=submission_id, actor=actor, kind="state", field="state", old=old, new=new_state))
        if reason:
            s.add(Event(submission_id=submission_id, actor=actor, kind="reason", field="reason", new=reason))
        return str(old)

    def mark_extracted(
        self,
        submission_id: int,
        result_json: Any,
        requests: Sequence[Any],
        *,
        expected: Collection[str] = ("received", "failed"),
        actor: str = "pipeline",
        reason: str | None = None,
    ) -> list[RequestRecord]:
        """Record an extraction: parts, one request row per request found, events; one transaction.

        `result_json` is the `SubmissionResult` (the model, JSON text or a dict), `requests` its
        `RequestResult`s (models or dicts): `request` (or `fields`), `status` (`valid` -> request state `accepted`,
        `needs_review`), `problems`, `confidence`, `provenance`; an explicit `state` wins over
        `status`. The submission becomes `extracted`, or `needs_review` when no request was found.
        Raises `StateConflict` if the submission was not in `expected` (extracted by someone else).
        """
        result = _as_dict(result_json)
        now = _now()
        with self._write() as s:
            new_state = "extracted" if requests else "needs_review"
            if not requests and reason is None:
                reason = "no request found in the submission"
            sealed = self._seal("json", result, _aad("submissions.result", submission_id))
            self._move_submission(
                s, submission_id, new_state, expected=expected, actor=actor, reason=reason, extra={"result": sealed}
            )
            sub = s.get(Submission, submission_id)
            assert sub is not None
            for old_part in s.scalars(select(SubmissionPart).where(SubmissionPart.submission_id == submission_id)):
                s.delete(old_part)
            s.flush()
            for seq, part in enumerate((result or {}).get("parts") or []):
                s.add(self._part(submission_id, seq, part))
            made: list[Request] = []
            first_seq = int(
                s.scalar(
                    select(func.coalesce(func.max(Request.seq) + 1, 0)).where(Request.submission_id == submission_id)
                )
                or 0
            )
            for i, raw_item in enumerate(requests):
                item = _as_dict(raw_item) or {}
                fields = item.get("request", item.get("fields")) or {}
                state = item.get("state") or ("accepted" if item.get("status") == "valid" else "needs_review")
                if state not in REQUEST_STATES:
                    raise ValueError(f"unknown request state {state!r}")
                req = Request(
                    submission_id=submission_id,
                    seq=first_seq + i,
                    state=state,
                    confidence=dict(item.get("confidence") or {}),
                    created_at=now,
                    updated_at=now,
                    **search_columns(fields),
                    **self._seal_request(submission_id, first_seq + i, fields=fields,
                                         problems=list(item.get("problems") or []),
                                         provenance=dict(item.get("provenance") or {})),
                )
                s.add(req)
                made.append(req)
            s.flush()
            year = sub.received_at.year
            for req in made:
                req.reference = f"{self.reference_prefix}-{year}-{req.id:06d}"
                s.add(Event(submission_id=submission_id, request_id=req.id, actor=actor, kind="created", new=req.state))
            s.flush()
            return [self._request_record(r) for r in made]

    def mark_failed(self, submission_id: int, reason: str, *, actor: str = "pipeline") -> None:
        """Extraction gave up for good (the reason is for staff); from any unfinished state."""
        with self._write() as s:
            self._move_submission(
                s,
                submission_id,
                "failed",
                expected=("received", "extracted", "needs_review", "failed"),
                actor=actor,
                reason=reason,
            )

    def mark_needs_review(
        self,
        submission_id: int,
        reason: str,
        *,
        expected: Collection[str] = ("received", "failed"),
        actor: str = "pipeline",
    ) -> None:
        """A document crashed, timed out or went over a limit: the whole submission goes to staff."""
        with self._write() as s:
            self._move_submission(s, submission_id, "needs_review", expected=expected, actor=actor, reason=reason)

    def mark_done(
        self,
        submission_id: int,
        *,
        expected: Collection[str] = ("extracted", "needs_review"),
        actor: str = "pipeline",
    ) -> None:
        """Every reply for the submission is queued; nothing is left for the pipeline to do."""
        with self._write() as s:
            old = s.scalar(select(Submission.reason).where(Submission.id == submission_id))
            self._move_submission(s, submission_id, "done", expected=expected, actor=actor, reason=old)

    # -- requests and events ------------------------------------------------------------------

    def requests_of(self, submission_id: int) -> list[RequestRecord]:
        with self._read() as s:
            rows = s.scalars(select(Request).where(Request.submission_id == submission_id).order_by(Request.seq))
            return [self._request_record(r) for r in rows]

    def get_request(self, request_id: int) -> RequestRecord:
        with self._read() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            return self._request_record(r)

    def find_request(self, reference: str) -> RequestRecord | None:
        with self._read() as s:
            r = s.scalar(select(Request).where(Request.reference == reference.strip().upper()))
            return None if r is None else self._request_record(r)

    def set_request_state(
        self,
        request_id: int,
        new_state: str,
        *,
        actor: str,
        expected: Collection[str] | None = None,
        reason: str | None = None,
    ) -> str:
        """Move a request (staff review); returns the old state. One transaction with its event."""
        if new_state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        # Typed by staff (a rejection's reason may quote the SSN) and kept in clear: SSNs masked.
        reason = mask_ssns(reason) if reason else reason
        with self._write() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            old = r.state
            if expected is not None and old not in expected:
                raise StateConflict(f"request {request_id} is {old}, expected one of {sorted(expected)}")
            res = s.execute(
                update(Request)
                .where(Request.id == request_id, Request.state == old)
                .values(state=new_state, updated_at=_now())
            )
            if res.rowcount != 1:  # type: ignore[attr-defined]
                raise StateConflict(f"request {request_id} changed state concurrently")
            s.add(
                Event(
                    submission_id=r.submission_id,
                    request_id=request_id,
                    actor=actor,
                    kind="state",
                    field="state",
                    old=old,
                    new=new_state,
                )
            )
            if reason:
                s.add(
                    Event(
                        submission_id=r.submission_id,
                        request_id=request_id,
                        actor=actor,
                        kind="reason",
                        field="reason",
                        new=reason,
                    )
                )
            return old

    def add_event(
        self,
        *,
        actor: str,
        kind: str,
        submission_id: int | None = None,
        request_id: int | None = None,
        field: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> int:
        """Append to the audit trail. `old` and `new` must already be masked by the caller."""
        if submission_id is None and request_id is None:
            raise ValueError("an event belongs to a submission or a request")
        with self._write() as s:
            ev = Event(
                submission_id=submission_id,
                request_id=request_id,
                actor=actor,
                kind=kind,
                field=field,
                old=old,
                new=new,
            )
            s.add(ev)
            s.flush()
            return ev.id

    def events_of(self, *, submission_id: int | None = None, request_id: int | None = None) -> list[EventRecord]:
        q = select(Event).order_by(Event.id)
        if submission_id is not None:
            q = q.where(Event.submission_id == submission_id)
        if request_id is not None:
            q = q.where(Event.request_id == request_id)
        with self._read() as s:
            return [
                EventRecord(
                    id=e.id,
                    submission_id=e.submission_id,
                    request_id=e.request_id,
                    at=e.at,
                    actor=e.actor,
                    kind=e.kind,
                    field=e.field,
                    old=e.old,
                    new=e.new,
                )
                for e in s.scalars(q)
            ]

    # -- outbox -------------------------------------------------------------------------------

    def queue_reply(
        self,
        submission_id: int,
        kind: str,
        channel: str,
        recipient: str,
        message: bytes,
        *,
        request_id: int | None = None,
        generation: int = 0,
        now: datetime | None = None,
        actor: str = "replies",
    ) -> bool:
        """Queue a rendered reply; False if this (submission, request, kind, generation) is queued already.

        The unique `reply_key` makes a second queueing impossible, also from a concurrent process.
        """
        if kind not in REPLY_KINDS:
            raise ValueError(f"unknown reply kind {kind!r}")
        if channel not in REPLY_CHANNELS:
            raise ValueError(f"unknown reply channel {channel!r}")
        key = f"s{submission_id}:r{request_id if request_id is not None else '-'}:{kind}:{generation}"
        when = _now(now)
        with self._read() as s:
            if s.scalar(select(Outbox.id).where(Outbox.reply_key == key)) is not None:
                return False
        try:
            with self._write() as s:
                ob = Outbox(
                    submission_id=submission_id,
                    request_id=request_id,
                    kind=kind,
                    generation=generation,
                    reply_key=key,
                    channel=channel,
                    recipient=recipient,
                    message=message,
                    state="queued",
                    attempts=0,
                    next_attempt_at=when,
                    created_at=when,
                    message_id=header_message_id(message) if channel == "email" else None,
                )
                s.add(ob)
                s.flush()
                s.add(
                    Event(
                        submission_id=submission_id,
                        request_id=request_id,
                        actor=actor,
                        kind="reply_queued",
                        field=kind,
                        new=f"{channel} to {recipient}",
                    )
                )
            return True
        except IntegrityError:
            with self._read() as s:
                if s.scalar(select(Outbox.id).where(Outbox.reply_key == key)) is not None:
                    return False
            raise

    def replies_since(self, recipient: str, since: datetime) -> int:
        """Replies queued to `recipient` (case-insensitive) since `since`: the per-sender rate limit."""
        with self._read() as s:
            n = s.scalar(
                select(func.count(Outbox.id)).where(
                    func.lower(Outbox.recipient) == recipient.lower(), Outbox.created_at >= _now(since)
                )
            )
            return int(n or 0)

    def get_reply(self, outbox_id: int) -> OutboxItem:
        with self._read() as s:
            o = s.get(Outbox, outbox_id)
            if o is None:
                raise NotFound(f"no outbox item {outbox_id}")
            return _outbox_item(o)

    def replies_of(self, submission_id: int) -> list[OutboxItem]:
        with self._read() as s:
            rows = s.scalars(select(Outbox).where(Outbox.submission_id == submission_id).order_by(Outbox.id))
            return [_outbox_item(o) for o in rows]

    def due_replies(self, now: datetime | None = None, limit: int = 100) -> list[OutboxItem]:
        """Replies to send now: queued, or failed temporarily and due for another try."""
        q = (
            select(Outbox)
            .where(Outbox.state.in_(["queued", "failed"]), Outbox.next_attempt_at <= _now(now))
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(limit)
        )
        with self._read() as s:
            return [_outbox_item(o) for o in s.scalars(q)]

    def _move_reply(self, outbox_id: int, values: dict[str, Any]) -> bool:
        """Conditional move of a reply that is not finished; an attempt is counted unless a
        `mark_sending` already counted it."""
        with self._write() as s:
            res = s.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.state.in_(["queued", "failed", "sending"]))
                .values(attempts=Outbox.attempts + case((Outbox.state == "sending", 0), else_=1),
                        **{k: masked(v) if k == "last_error" else v for k, v in values.items()})
            )
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def mark_sending(self, outbox_id: int, now: datetime | None = None) -> bool:
        """Take a due reply for sending; False if another sender took it (or it is finished).

        Only the caller that got True may hand the message to the relay, so two outbox workers never
        send the same reply.
        """
        with self._write() as s:
            res = s.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.state.in_(["queued", "failed"]))
                .values(state="sending", sending_at=_now(now), attempts=Outbox.attempts + 1)
            )
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def mark_handed_over(self, outbox_id: int, now: datetime | None = None) -> bool:
        """The whole message is with the relay but for the final dot: from here on it counts as sent.

        Committed just before the dot goes out, so a crash after the relay took the message can never
        make a second copy (see `requeue_sending`); only a crash in the instant between this commit
        and the dot's write could lose the reply, never duplicate it. The commit does not wait for the
        disk flush (`commit_without_flush`): that wait was a window of milliseconds in which a SIGKILL
        lost the reply (about one kill in twenty in `bench/faults.py`).
        """
        with commit_without_flush(self.engine) as conn:
            res = conn.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.state == "sending")
                .values(sent_at=_now(now))
            )
            return bool(res.rowcount == 1)

    def requeue_sending(self, older_than: datetime, now: datetime | None = None) -> int:
        """Replies left in `sending` since before `older_than` (a sender crashed) are settled.

        One that was handed over (`sent_at` set: only the relay's answer was missing) is `sent`; the
        others are due again. At start-up, with one sender, every `sending` row is such a leftover:
        pass `now`.
        """
        with self._write() as s:
            stale = (Outbox.state == "sending", Outbox.sending_at < _now(older_than))
            s.execute(update(Outbox).where(*stale, Outbox.sent_at.is_not(None)).values(state="sent"))
            res = s.execute(
                update(Outbox)
                .where(*stale, Outbox.sent_at.is_(None))
                .values(state="queued", next_attempt_at=_now(now), last_error="sender stopped while sending")
            )
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def mark_sent(self, outbox_id: int, now: datetime | None = None) -> bool:
        """The relay accepted the reply; False if it was already sent or given up (never twice)."""
        return self._move_reply(outbox_id, {"state": "sent", "sent_at": _now(now), "last_error": None})

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: datetime) -> bool:
        """A temporary failure (4xx, connection refused): try again at `next_attempt_at`."""
        return self._move_reply(
            outbox_id,
            {"state": "failed", "last_error": error[:2000], "next_attempt_at": _now(next_attempt_at), "sent_at": None},
        )

    def mark_permanent(self, outbox_id: int, error: str) -> bool:
        """A permanent failure (5xx, or retried for too long): left for staff."""
        return self._move_reply(outbox_id, {"state": "permanent_failure", "last_error": error[:2000], "sent_at": None})

    # -- fax jobs (intake.faxout) ---------------------------------------------------------------

    def mark_fax_handed_over(self, outbox_id: int, transport: str, job: str | None, state: str | None,
                             now: datetime | None = None) -> bool:
        """A fax reply is with its transport (a file, a HylaFAX job, a mail): `sent`, with the job
        to follow; False if it was already settled."""
        return self._move_reply(outbox_id, {"state": "sent", "sent_at": _now(now), "last_error": None,
                                            "fax_transport": transport, "fax_job": job, "fax_state": state})

    def fax_jobs_to_follow(self, transport: str = "hylafax", limit: int = 200) -> list[OutboxItem]:
        """Fax replies handed to a fax server whose job has not finished (done or failed) yet."""
        q = (select(Outbox).where(Outbox.state == "sent", Outbox.fax_transport == transport,
                                  Outbox.fax_job.is_not(None),
                                  or_(Outbox.fax_state.is_(None), Outbox.fax_state.not_in(["done", "failed"])))
             .order_by(Outbox.id).limit(limit))
        with self._read() as s:
            return [_outbox_item(o) for o in s.scalars(q)]

    def set_fax_state(self, outbox_id: int, job: str, state: str) -> bool:
        """The fax server's latest word on a job; `done` ends the following."""
        with self._write() as s:
            res = s.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.fax_job == job)
                            .values(fax_state=state[:32]))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def fax_job_failed(self, outbox_id: int, job: str, error: str, retry_at: datetime | None) -> bool:
        """The fax server gave the job up: due again at `retry_at` (a new job), or, None, left for
        staff as `permanent_failure` like a bounced mail."""
        values: dict[str, Any] = {"fax_state": "failed", "last_error": error[:2000], "sent_at": None}
        if retry_at is None:
            values["state"] = "permanent_failure"
        else:
            values.update(state="failed", next_attempt_at=_now(retry_at))
        with self._write() as s:
            res = s.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.state == "sent",
                                                 Outbox.fax_job == job).values(**values))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    # -- operator view ------------------------------------------------------------------------

    def counts_by_state(self) -> dict[str, dict[str, int]]:
        """{"submissions": {state: n}, "requests": {...}, "replies": {...}}, every known state listed."""
        out: dict[str, dict[str, int]] = {}
        tables: Iterable[tuple[str, Any, tuple[str, ...]]] = (
            ("submissions", Submission, SUBMISSION_STATES),
            ("requests", Request, REQUEST_STATES),
            ("replies", Outbox, OUTBOX_STATES),
        )
        with self._read() as s:
            for name, model, states in tables:
                counts = dict.fromkeys(states, 0)
                for state, n in s.execute(select(model.state, func.count()).group_by(model.state)):
                    counts[str(state)] = int(n)
                out[name] = counts
        return out

    def oldest_waiting(self) -> list[Waiting]:
        """The oldest unfinished submission, request awaiting staff, and reply not yet sent."""
        unfinished: tuple[tuple[str, Any, Any, list[str]], ...] = (
            ("submission", Submission, Submission.received_at, ["received", "extracted", "needs_review", "failed"]),
            ("request", Request, Request.created_at, ["received", "extracted", "needs_review", "corrected"]),
            ("reply", Outbox, Outbox.created_at, ["queued", "sending", "failed"]),
        )
        out: list[Waiting] = []
        with self._read() as s:
            for what, model, since, states in unfinished:
                row = s.execute(
                    select(model.id, model.state, since)
                    .where(model.state.in_(states))
                    .order_by(since, model.id)
                    .limit(1)
                ).first()
                if row is not None:
                    out.append(Waiting(what, int(row[0]), str(row[1]), row[2]))
        return out

    # -- review page ----------------------------------------------------------------------------

    def queue(
        self,
        *,
        states: Collection[str] | None = None,
        channels: Collection[str] | None = None,
        problem_code: str | None = None,
        country: str | None = None,
        received_from: datetime | None = None,
        received_to: datetime | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[QueueRow]:
        """Requests for the staff queue: those needing review first, then oldest first.

        `search` matches a reference (in full, or its number alone: `000007`), a worker or employer
        name (substring, any case; several words each in either name: `Kevin Brooks`), the last four
        digits of an SSN, or an EIN. `problem_code` is filtered here in Python because
        the problems are JSON (portable across SQLite and PostgreSQL); the queue is small.
        """
        review_first = case((Request.state.in_(["needs_review", "corrected", "received", "extracted"]), 0), else_=1)
        q = (
            select(Request, Submission.channel, Submission.received_at, Submission.sender)
            .join(Submission, Submission.id == Request.submission_id)
            .order_by(review_first, Submission.received_at, Request.id)
        )
        if states:
            q = q.where(Request.state.in_(list(states)))
        if channels:
            q = q.where(Submission.channel.in_(list(channels)))
        if country:
            q = q.where(Request.country == country.strip().upper())
        if received_from is not None:
            q = q.where(Submission.received_at >= _now(received_from))
        if received_to is not None:
            q = q.where(Submission.received_at < _now(received_to))
        term = (search or "").strip()
        if term:
            like = f"%{term.lower()}%"
            digits = re.sub(r"\D", "", term)
            conds = [
                Request.reference == term.upper(),
                func.lower(Request.worker_name).like(like),
                func.lower(Request.employer_name).like(like),
            ]
            words = re.findall(r"[^\s,;]+", term.lower())
            if len(words) > 1:  # "Kevin Brooks": every word in the worker's or the employer's name
                conds.append(and_(*[or_(func.lower(Request.worker_name).like(f"%{w}%"),
                                        func.lower(Request.employer_name).like(f"%{w}%")) for w in words]))
            if term.isdigit() and len(term) <= 12:  # a reference's number alone: 000007 (or 7)
                conds.append(Request.reference.like(f"%-{term.zfill(6)}"))
            if len(digits) == 4:
                conds.append(Request.ssn_last4 == digits)
            if len(digits) == 9:
                conds.append(Request.employer_ein == f"{digits[:2]}-{digits[2:]}")
            if re.fullmatch(r"\d{2}-\d{7}", term):
                conds.append(Request.employer_ein == term)
            q = q.where(or_(*conds))
        out: list[QueueRow] = []
        skipped = 0
        with self._read() as s:
            for req, channel, received_at, sender in s.execute(q):
                rec = self._request_record(req)
                if problem_code and not any(
                    isinstance(p, dict) and p.get("code") == problem_code for p in rec.problems or []
                ):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                out.append(QueueRow(rec, str(channel), received_at, sender))
                if len(out) >= limit:
                    break
        return out

    def update_request(
        self,
        request_id: int,
        fields: Mapping[str, Any],
        problems: Sequence[Any],
        changes: Sequence[tuple[str, str | None, str | None]],
        *,
        actor: str,
        new_state: str | None = None,
        expected_states: Collection[str] | None = None,
        kind: str = "field",
    ) -> RequestRecord:
        """Staff corrected a request: new fields and problems, one event per changed field, and
        optionally a state move, all in one transaction. `changes` are (path, old, new), already
        masked by the caller; nothing is overwritten without its event.
        """
        if new_state is not None and new_state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        with self._write() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            if expected_states is not None and r.state not in expected_states:
                raise StateConflict(f"request {request_id} is {r.state}, expected one of {sorted(expected_states)}")
            clear = _jsonable(dict(fields))
            for key, value in self._seal_request(r.submission_id, r.seq, fields=clear,
                                                 problems=_jsonable(list(problems))).items():
                setattr(r, key, value)
            for key, value in search_columns(clear).items():
                setattr(r, key, value)
            r.updated_at = _now()
            for path, old, new in changes:
                s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind=kind,
                            field=path, old=old, new=new))
            if new_state is not None and new_state != r.state:
                s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind="state",
                            field="state", old=r.state, new=new_state))
                r.state = new_state
            s.flush()
            return self._request_record(r)

    def possible_duplicates(self, request_id: int) -> list[RequestRecord]:
        """Other open or finished requests for the same SSN and country whose dates overlap.

        Candidates are found by the SSN's last four digits and the country (indexed), then the full
        SSN and the periods are compared here.
        """
        me = self.get_request(request_id)
        ssn = dig(me.fields, "worker", "ssn")
        if not ssn or not me.ssn_last4 or not me.country:
            return []
        start, end = dig(me.fields, "assignment", "start_date"), dig(me.fields, "assignment", "end_date")
        out: list[RequestRecord] = []
        with self._read() as s:
            rows = s.scalars(
                select(Request).where(
                    Request.ssn_last4 == me.ssn_last4,
                    Request.country == me.country,
                    Request.id != request_id,
                    Request.state.not_in(["not_a_request"]),
                )
            )
            for r in rows:
                rec = self._request_record(r)
                if re.sub(r"\D", "", str(dig(rec.fields, "worker", "ssn") or "")) != re.sub(r"\D", "", str(ssn)):
                    continue
                o_start = dig(rec.fields, "assignment", "start_date")
                o_end = dig(rec.fields, "assignment", "end_date")
                if start and end and o_start and o_end and not (str(o_start) <= str(end) and str(start) <= str(o_end)):
                    continue
                out.append(rec)
        return out

    def request_submission(self, request_id: int) -> tuple[RequestRecord, SubmissionRecord]:
        rec = self.get_request(request_id)
        return rec, self.get_submission(rec.submission_id)

    def replies_of_request(self, request_id: int) -> list[OutboxItem]:
        """Replies queued for this request itself (staff decisions), oldest first."""
        with self._read() as s:
            rows = s.scalars(select(Outbox).where(Outbox.request_id == request_id).order_by(Outbox.id))
            return [_outbox_item(o) for o in rows]

    def requests_for_export(
        self, states: Collection[str], *, exported: bool | None = None, limit: int = 500
    ) -> list[RequestRecord]:
        """Requests in `states` for the certificate system; `exported` filters on an `exported` event."""
        exported_ids = select(Event.request_id).where(Event.kind == "exported", Event.request_id.is_not(None))
        q = select(Request).where(Request.state.in_(list(states))).order_by(Request.id).limit(limit)
        if exported is True:
            q = q.where(Request.id.in_(exported_ids))
        elif exported is False:
            q = q.where(Request.id.not_in(exported_ids))
        with self._read() as s:
            return [self._request_record(r) for r in s.scalars(q)]

    def submissions_without_requests(self, limit: int = 200) -> list[SubmissionRecord]:
        """Submissions sent to staff with no request read from them (unreadable, over a limit, no
        request found), oldest first: staff enter the request by hand or close them."""
        has_request = select(Request.submission_id)
        q = (
            select(Submission)
            .where(Submission.state.in_(["needs_review", "failed"]), Submission.id.not_in(has_request))
            .order_by(Submission.received_at, Submission.id)
            .limit(limit)
        )
        with self._read() as s:
            return [self._submission_record(x) for x in s.scalars(q)]

    def add_manual_request(
        self, submission_id: int, fields: Mapping[str, Any], problems: Sequence[Any], *, actor: str
    ) -> RequestRecord:
        """A request staff enter by hand for a submission nothing was read from; in `needs_review`."""
        with self._write() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            seq = int(
                s.scalar(
                    select(func.coalesce(func.max(Request.seq) + 1, 0)).where(Request.submission_id == submission_id)
                )
                or 0
            )
            now = _now()
            data = _jsonable(dict(fields))
            req = Request(
                submission_id=submission_id,
                seq=seq,
                state="needs_review",
                confidence={},
                created_at=now,
                updated_at=now,
                **search_columns(data),
                **self._seal_request(submission_id, seq, fields=data, problems=_jsonable(list(problems)),
                                     provenance={}),
            )
            s.add(req)
            s.flush()
            req.reference = f"{self.reference_prefix}-{sub.received_at.year}-{req.id:06d}"
            s.add(Event(submission_id=submission_id, request_id=req.id, actor=actor, kind="created",
                        new="needs_review"))
            s.flush()
            return self._request_record(req)

    def close_submission(self, submission_id: int, *, actor: str, reason: str) -> None:
        """Staff looked at a submission without a request and found nothing to do (state `done`)."""
        with self._write() as s:
            self._move_submission(s, submission_id, "done", expected=("needs_review", "failed"), actor=actor,
                                  reason=reason)

    # -- operations (metrics, reprocess) ---------------------------------------------------------

    def counts_by_channel_state(self) -> dict[tuple[str, str], int]:
        """{(channel, state): n} of the submissions, for `/metrics`."""
        with self._read() as s:
            rows = s.execute(
                select(Submission.channel, Submission.state, func.count())
                .group_by(Submission.channel, Submission.state)
            )
            return {(str(c), str(st)): int(n) for c, st, n in rows}

    def submission_ids(
        self,
        *,
        states: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[int]:
        """Ids of submissions in `states` received in [since, until), oldest first (`coc-intake reprocess`)."""
        q = select(Submission.id).order_by(Submission.id)
        if states:
            q = q.where(Submission.state.in_(list(states)))
        if since is not None:
            q = q.where(Submission.received_at >= _now(since))
        if until is not None:
            q = q.where(Submission.received_at < _now(until))
        with self._read() as s:
            return [int(i) for i in s.scalars(q)]

    @staticmethod
    def _staff_touched_query(submission_id: int) -> Any:
        return select(Event.request_id).where(
            Event.submission_id == submission_id,
            Event.request_id.is_not(None),
            Event.actor.not_in(sorted(SYSTEM_ACTORS)),
        )

    def staff_touched(self, submission_id: int) -> set[int]:
        """Ids of the submission's requests with an event by someone other than the gateway itself."""
        q = self._staff_touched_query(submission_id)
        with self._read() as s:
            return {int(i) for i in s.scalars(q.distinct()) if i is not None}

    def replace_extraction(
        self,
        submission_id: int,
        result_json: Any,
        requests: Sequence[Any],
        *,
        summarize: Callable[[Mapping[str, Any]], str],
        actor: str = "reprocess",
    ) -> Reprocessed:
        """A new extraction of a stored submission replaces the old one, in one transaction.

        The old result goes into the audit trail first (`summarize` turns a request's fields into
        masked text: never a full SSN). Requests staff have not touched (state `accepted` or
        `needs_review`, no event by a person) get the new fields; the others are left alone. New
        requests are matched to old ones by the SSN's last four digits, then by position, so a
        request stays one request; new ones found now are added, old ones not found again are kept.
        A submission that had no request and now has some is `done` (its reply was decided).
        """
        result = _as_dict(result_json) or {}
        now = _now()
        with self._write() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            old_result = self._unseal("json", sub.result, _aad("submissions.result", submission_id),
                                      submission_id) or {}
            # Rows locked first (PostgreSQL; SQLite's write transaction is exclusive already), then
            # the staff events read: a correction committed meanwhile is seen and its request kept.
            old_reqs = list(s.scalars(select(Request).where(Request.submission_id == submission_id)
                                      .order_by(Request.seq).with_for_update()))
            touched = {int(i) for i in s.scalars(self._staff_touched_query(submission_id).distinct())
                       if i is not None}
            old_fields = {r.id: self._request_values(r)["fields"] or {} for r in old_reqs}
            old_summary = "; ".join(summarize(old_fields[r.id]) for r in old_reqs) or "no request"
            new_items = [_as_dict(x) or {} for x in requests]
            new_fields = [item.get("request", item.get("fields")) or {} for item in new_items]
            new_summary = "; ".join(summarize(f) for f in new_fields) or "no request"
            n_old_parts = len(old_result.get("parts") or [])
            s.add(Event(submission_id=submission_id, actor=actor, kind="reprocessed", field="result",
                        old=f"{len(old_reqs)} request(s), {n_old_parts} part(s): {old_summary}"[:4000],
                        new=f"{len(new_fields)} request(s): {new_summary}"[:4000]))
            sub.result = self._seal("json", result, _aad("submissions.result", submission_id))
            sub.updated_at = now
            for old_part in s.scalars(select(SubmissionPart).where(SubmissionPart.submission_id == submission_id)):
                s.delete(old_part)
            s.flush()
            for seq, part in enumerate(result.get("parts") or []):
                s.add(self._part(submission_id, seq, part))
            # Match new to old: same SSN last four first, then by position among the rest.
            pairs: dict[int, Request] = {}
            free = list(old_reqs)
            for i, fields in enumerate(new_fields):
                last4 = search_columns(fields)["ssn_last4"]
                hit = next((r for r in free if last4 and r.ssn_last4 == last4), None)
                if hit is not None:
                    pairs[i] = hit
                    free.remove(hit)
            for i in range(len(new_fields)):
                if i not in pairs and free:
                    pairs[i] = free.pop(0)
            out = Reprocessed()
            out.unmatched.extend(r.id for r in free)
            next_seq = max((r.seq for r in old_reqs), default=-1) + 1
            added: list[Request] = []
            for i, (item, fields) in enumerate(zip(new_items, new_fields, strict=True)):
                state = item.get("state") or ("accepted" if item.get("status") == "valid" else "needs_review")
                old = pairs.get(i)
                if old is None:
                    req = Request(submission_id=submission_id, seq=next_seq, state=state,
                                  confidence=dict(item.get("confidence") or {}),
                                  created_at=now, updated_at=now, **search_columns(fields),
                                  **self._seal_request(submission_id, next_seq, fields=fields,
                                                       problems=list(item.get("problems") or []),
                                                       provenance=dict(item.get("provenance") or {})))
                    next_seq += 1
                    s.add(req)
                    added.append(req)
                    continue
                if old.id in touched or old.state not in REPROCESSABLE_STATES:
                    out.kept.append(old.id)
                    continue
                s.add(Event(submission_id=submission_id, request_id=old.id, actor=actor, kind="reprocessed",
                            field="fields", old=summarize(old_fields[old.id])[:4000], new=summarize(fields)[:4000]))
                if state != old.state:
                    s.add(Event(submission_id=submission_id, request_id=old.id, actor=actor, kind="state",
                                field="state", old=old.state, new=state))
                for key, value in self._seal_request(old.submission_id, old.seq, fields=fields,
                                                     problems=list(item.get("problems") or []),
                                                     provenance=dict(item.get("provenance") or {})).items():
                    setattr(old, key, value)
                old.confidence = dict(item.get("confidence") or {})
                old.state = state
                old.updated_at = now
                for key, value in search_columns(fields).items():
                    setattr(old, key, value)
                out.replaced.append(old.id)
            s.flush()
            for req in added:
                req.reference = f"{self.reference_prefix}-{sub.received_at.year}-{req.id:06d}"
                s.add(Event(submission_id=submission_id, request_id=req.id, actor=actor, kind="created", new=req.state))
                out.added.append(req.id)
            if new_fields and sub.state in ("needs_review", "failed"):
                self._move_submission(s, submission_id, "done", expected=None, actor=actor, reason=sub.reason)
            s.flush()
            return out
