"""What the store hands out and takes in: frozen records, the errors of a state move, and the pure
helpers on raw messages and request fields (identity of a message, the search columns).

Kept apart from the table modules so that every consumer can import the records without the
store's machinery, and so that each table module stays about one table group.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING, Any, TypeVar

from intake.model import CertificateRequest, Problem
from intake.store.clear import masked
from intake.store.states import Channel, RequestState

if TYPE_CHECKING:  # the extraction's result type, named in annotations only: the store never runs it
    from intake.extract import RequestResult


@dataclass(frozen=True)
class Incoming:
    """What a source hands the store: one message or fax file, byte for byte, and its channel ids."""

    channel: Channel | str  # a `Channel` (a plain string is checked and made one)
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

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "channel", Channel(self.channel))
        except ValueError:
            raise ValueError(f"unknown channel {self.channel!r}") from None


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
    """One stored request, typed: `request` and `problems` are validated once, when the record is
    made from its row (see `typed_request`), so no caller re-validates or digs through the stored
    JSON. `fields` is that JSON again, for what writes it back or exports it (the audit trail, the
    API)."""

    id: int
    submission_id: int
    seq: int
    reference: str
    state: str
    request: CertificateRequest
    problems: list[Problem]
    confidence: dict[str, Any]
    provenance: dict[str, Any]
    ssn_last4: str | None
    worker_name: str | None
    employer_name: str | None
    employer_ein: str | None
    country: str | None

    @property
    def fields(self) -> dict[str, Any]:
        """The request as JSON, a fresh copy (a caller may change it and hand it to `update_request`)."""
        return self.request.model_dump(mode="json")

    def problems_json(self) -> list[dict[str, Any]]:
        """The problems as JSON, a fresh copy (what `update_request` and the API take)."""
        return [p.model_dump(mode="json") for p in self.problems]


def typed_request(fields: Any, problems: Any) -> dict[str, Any]:
    """The typed `request` and `problems` of a `RequestRecord` from the stored JSON: a value longer
    than today's limit is cut (see `CertificateRequest.from_stored`); anything stored that is not a
    problem object is left out."""
    return {"request": fields if isinstance(fields, CertificateRequest) else CertificateRequest.from_stored(fields),
            "problems": problem_models(problems)}


def problem_models(problems: Any) -> list[Problem]:
    """`Problem`s from stored JSON or models. A stored problem lacking its message or help (written
    by a hand or an older version) still opens, with them empty; anything not a problem object with
    a code is left out."""
    out: list[Problem] = []
    for p in problems or ():
        if isinstance(p, Problem):
            out.append(p)
        elif isinstance(p, Mapping) and p.get("code"):
            field = p.get("field")
            out.append(Problem(field=None if field is None else str(field), code=str(p["code"]),
                               message=str(p.get("message") or ""), help=str(p.get("help") or "")))
    return out


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


@dataclass(frozen=True)
class NewRequest:
    """A request to write, in the one shape the row builder takes (see `_add_requests`): the
    typed request made JSON once, here, where it enters the store."""

    fields: dict[str, Any]
    state: str
    problems: list[dict[str, Any]]
    confidence: dict[str, float]
    provenance: dict[str, Any]

    @classmethod
    def of(cls, item: RequestResult, *, state: str | None = None,
           dumped: Mapping[str, Any] | None = None) -> NewRequest:
        """From an extraction's `RequestResult`: `status` `valid` -> `accepted`, else
        `needs_review`; an explicit `state` wins. `dumped`: `item.model_dump(mode="json")` when the
        caller has it (the whole result's dump holds each request's): its parts are taken as they
        are instead of dumping the request, its problems and provenance again."""
        chosen = state or (RequestState.ACCEPTED if item.status == "valid" else RequestState.NEEDS_REVIEW)
        if dumped is not None:
            return cls(fields=dumped["request"], state=str(chosen), problems=list(dumped["problems"]),
                       confidence=dict(item.confidence), provenance=dict(dumped["provenance"]))
        return cls(fields=item.request.model_dump(mode="json"), state=str(chosen),
                   problems=[p.model_dump(mode="json") for p in item.problems],
                   confidence=dict(item.confidence),
                   provenance={k: v.model_dump(mode="json") for k, v in item.provenance.items()})

    @classmethod
    def manual(cls, request: CertificateRequest, problems: Sequence[Problem]) -> NewRequest:
        """A request staff enter by hand: nothing read, so no confidence or provenance."""
        return cls(fields=request.model_dump(mode="json"), state=RequestState.NEEDS_REVIEW,
                   problems=[p.model_dump(mode="json") for p in problems], confidence={}, provenance={})


# -- helpers -----------------------------------------------------------------------------------


def now_utc(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware UTC datetime")
    return now.astimezone(UTC)


def sha256_hex(data: bytes) -> str:
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
    return sha256_hex(body)


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID header of a raw message, or None; only the header block is parsed."""
    head, _ = split_message(raw)
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
        value = msg.get("Message-ID")
    except Exception:  # noqa: BLE001 - a header we cannot parse (any error of the parser) is the same as none
        return None
    return normalise_message_id(str(value)) if value else None


def normalise_message_id(value: str) -> str | None:
    value = re.sub(r"\s+", "", value)
    if not value:
        return None
    if not value.startswith("<"):
        value = f"<{value.strip('<>')}>"
    return value[:998]


def content_key(channel: str, raw: bytes, message_id: str | None) -> tuple[str, str | None]:
    """The duplicate identity of a submission (see `Submission.content_key`) and its body hash."""
    if channel in (Channel.FAX, Channel.WEB):  # a web form has no Message-ID: the same form twice is one
        return f"{channel}:" + sha256_hex(raw), None
    bh = body_hash(raw)
    if message_id:
        return "mid:" + sha256_hex(message_id.encode("utf-8", "surrogateescape") + b"\0" + bh.encode()), bh
    return "raw:" + sha256_hex(raw), bh


def dig(data: Mapping[str, Any], *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or None where a step is missing or not a mapping."""
    cur: Any = data
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


LAST4 = 4  # digits of an SSN kept in clear for the staff search


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
        "ssn_last4": digits[-LAST4:] if len(digits) >= LAST4 else None,
        "worker_name": masked(worker),
        "employer_name": masked(str(employer)) if employer else None,
        "employer_ein": str(ein)[:16] if ein else None,
        "country": str(country)[:8] if country else None,
    }


_R = TypeVar("_R")


def copy_record(record: type[_R], row: Any, **changed: Any) -> _R:
    """A frozen record with the row's columns of the same names (the session may close after)."""
    values = {f.name: getattr(row, f.name) for f in dataclass_fields(record)  # type: ignore[arg-type]
              if f.name not in changed}
    return record(**(values | changed))


def jsonable(value: Any) -> Any:
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


def as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    loaded = jsonable(value)
    if not isinstance(loaded, dict):
        raise ValueError("result_json must be a JSON object")
    return loaded
