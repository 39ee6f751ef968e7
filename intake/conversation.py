"""The conversation: a message that answers one of our replies completes the request it answers.

Our *information needed* reply asks the sender to reply with what is missing. Such an answer is
not a new request: it is found to answer a request (`find_thread`), checked to come from the
right sender (`sender_check`), read for its new text only (the child process strips the quote, see
`parsers.reply`), and its values are merged into the request (`merge_answer`), each with its
provenance; a value that contradicts one already read is a `conflict` for staff, never an
overwrite (`intake.answer_merge`). The pipeline (`intake.answers`) records it and sends one reply
about the request. This module finds the thread and checks the sender; the field paths and value
comparisons both halves use are here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from intake import mailheads, senderauth
from intake.replies import field_label
from intake.store.store import SubmissionRecord
from parsers.pii import mask_ssn, mask_ssns

_NANP_DIGITS = 10  # a number's last ten digits are the caller whatever prefix the fax server wrote

MSGID_RE = re.compile(r"<[^<>\s]+>")
# Problems that validation does not make again from the fields: kept when an answer is merged.
KEPT_CODES = frozenset({"conflict", "low_confidence", "outdated_edition", "answer_from_other_sender",
                        *senderauth.TRUST_CODES})
# Request states an answer may still complete without staff.
OPEN_FOR_ANSWERS = ("needs_review",)
ANSWER_FROM_OTHER_SENDER = "answer_from_other_sender"
ANSWER_TO_CLOSED_REQUEST = "answer_to_closed_request"
SECRET_PATHS = frozenset({"worker.ssn"})


def reference_pattern(prefix: str) -> re.Pattern[str]:
    """Our references as `intake.store` makes them: PREFIX-YEAR-ROWID (at least six digits)."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-\d{{4}}-\d{{6,}}(?!\d)", re.IGNORECASE)


# What OCR makes of a digit on a faxed page: O for 0, l or I for 1, S for 5, B for 8.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "i": "1", "|": "1",
                             "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2"})


def references_in_ocr(texts: Iterable[str], *, prefix: str) -> list[str]:
    """Our references in a faxed page's OCR text, its digits as OCR misreads them put right
    ("COC-2O26-0000l2" is COC-2026-000012); at most ten, in page order."""
    d = "[0-9OoDQlIi|SsBZz]"
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}\s?[-–—]\s?({d}{{4}})\s?[-–—]\s?"
                         rf"({d}{{6,}})(?![0-9])", re.IGNORECASE)
    out: list[str] = []
    for text in texts:
        for m in pattern.finditer(text or ""):
            ref = f"{prefix.upper()}-{m.group(1).translate(_OCR_DIGITS)}-{m.group(2).translate(_OCR_DIGITS)}"
            if ref not in out:
                out.append(ref)
    return out[:10]


@dataclass(frozen=True)
class Headers:
    """What threading reads of an incoming mail's header block (parsed in the parent: headers only)."""

    message_ids: list[str]  # In-Reply-To first, then References from the newest
    subject: str
    from_addr: str | None


def read_headers(raw: bytes) -> Headers:
    try:
        msg = mailheads.headers(raw)
        in_reply_to = MSGID_RE.findall(str(msg.get("In-Reply-To") or ""))
        refs = MSGID_RE.findall(str(msg.get("References") or ""))
        subject = " ".join(str(msg.get("Subject") or "").split())
        from_addrs = [a for _, a in getaddresses([str(v) for v in msg.get_all("From") or []]) if "@" in a]
    except Exception:  # noqa: BLE001  (a header we cannot parse threads nothing)
        return Headers([], "", None)
    ids = list(dict.fromkeys([*in_reply_to, *reversed(refs)]))
    return Headers(ids[:50], subject[:998], from_addrs[0].lower() if from_addrs else None)


@dataclass(frozen=True)
class Thread:
    """The requests an incoming message answers, all of one submission, and how they were found."""

    origin: int  # the submission the requests were read from
    request_ids: list[int]
    matched_by: str  # message_id, subject, body, return_page


def _one_origin(store: Any, request_ids: Iterable[int], matched_by: str) -> Thread | None:
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        return None
    origins = {store.get_request(i).submission_id for i in ids}
    if len(origins) != 1:
        return None  # several conversations named at once: it goes its own way
    return Thread(origins.pop(), ids, matched_by)


def find_thread(store: Any, headers: Headers, *, prefix: str,
                body_references: Iterable[str] = ()) -> Thread | None:
    """The request(s) a message answers, in the issue's order: our reply's Message-ID in
    In-Reply-To/References, our reference in the subject, our reference in the new body text.
    A message that matches requests of several submissions, or none, is no answer (None)."""
    named = reference_pattern(prefix).findall(headers.subject)
    subject_ids = list(store.references_exist(named).values()) if named else []
    replies = store.replies_with_message_ids(headers.message_ids)
    if replies:
        ids: list[int] = []
        for submission_id, request_id in replies:
            ids.extend([request_id] if request_id is not None else store.request_ids_of(submission_id))
        thread = _one_origin(store, ids, "message_id")
        if thread is not None and subject_ids and set(subject_ids) < set(thread.request_ids):
            thread = Thread(thread.origin, [i for i in thread.request_ids if i in subject_ids], "message_id")
        if ids:
            return thread  # None when the Message-IDs name requests of several submissions
    if subject_ids:
        return _one_origin(store, subject_ids, "subject")
    refs = [r.upper() for r in body_references if reference_pattern(prefix).fullmatch(r)]
    if refs:
        found = store.references_exist(refs)
        if len(found) == len(set(refs)):
            return _one_origin(store, found.values(), "body")
    return None


# -- who may answer ------------------------------------------------------------------------------


def _digits(number: str | None) -> str:
    d = re.sub(r"\D", "", number or "")
    return d[-_NANP_DIGITS:] if len(d) >= _NANP_DIGITS else d


def _mail_from(sub: SubmissionRecord) -> str | None:
    meta = (sub.result or {}).get("meta") or {}
    address = meta.get("from") or read_headers(sub.raw).from_addr or sub.sender
    return str(address).lower() if address and "@" in str(address) else None


def sender_check(origin: SubmissionRecord, answer: SubmissionRecord, *, require_verified: bool) -> str | None:  # noqa: PLR0911  (each reason an answer may not complete the request returns at once)
    """None when the answer may complete the request read from `origin`; else why not (for staff).

    Mail: the same address, or the same organisational domain (hr@ and payroll@ of one employer),
    and with `[trust] flag_unverified` on, a verified sender (DKIM/SPF aligned with its From), so
    that quoting a reference from a forged From changes nothing. Fax: the same sending number.
    """
    mail = ("imap", "smtp", "lmtp")
    if origin.channel == "fax" or answer.channel == "fax":
        if origin.channel == answer.channel == "fax" and _digits(origin.sender) and \
                _digits(origin.sender) == _digits(answer.sender):
            return None
        return f"the answer came from {answer.sender or 'an unknown sender'}, not from the number that asked"
    if origin.channel not in mail or answer.channel not in mail:
        return "unknown channel"
    asked, answered = _mail_from(origin), _mail_from(answer)
    if not asked or not answered:
        return "the answer's sender or the requester's address is unknown"
    if require_verified:
        verdict = senderauth.Verdict.from_json(answer.sender_auth)
        if verdict is None or not verdict.verified:
            return f"the answer's sender {answered} is not verified"
        if not senderauth.aligned(verdict.from_domain, senderauth.domain_of(answered)):
            return f"the answer's verified domain is not that of {answered}"
    if asked == answered:
        return None
    if senderauth.org_domain(senderauth.domain_of(asked)) == senderauth.org_domain(senderauth.domain_of(answered)):
        return None
    return f"the answer came from {answered}, not from {asked} or its domain"


# -- merging -------------------------------------------------------------------------------------


_PATH_PIECE = re.compile(r"^([a-z_0-9]+)(?:\[(\d+)\])?$")


def get_path(data: Any, path: str) -> Any:
    node = data
    for piece in path.split("."):
        m = _PATH_PIECE.match(piece)
        if not m or not isinstance(node, Mapping):
            return None
        node = node.get(m.group(1))
        if m.group(2) is not None:
            i = int(m.group(2))
            node = node[i] if isinstance(node, list) and i < len(node) else None
        if node is None:
            return None
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    pieces = path.split(".")
    for n, piece in enumerate(pieces):
        m = _PATH_PIECE.match(piece)
        if not m:
            raise ValueError(f"not a field path: {path!r}")
        key, index = m.group(1), m.group(2)
        last = n == len(pieces) - 1
        if index is None:
            if last:
                node[key] = value
            else:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
        else:
            items = node.get(key) if isinstance(node.get(key), list) else []
            node[key] = items
            while len(items) <= int(index):
                items.append({})
            if last:
                items[int(index)] = value
            else:
                node = items[int(index)]


def norm(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(re.sub(r"[\s\-./()]+", " ", value.casefold()).split())
    return str(value).casefold()


def same_value(path: str, a: Any, b: Any) -> bool:
    """Whether two readings give one value: numbers (SSN, EIN, phone, ZIP) by their digits, the
    rest as `norm` writes them."""
    if path.endswith(("ssn", "ein", "phone", "postal_code")):
        da, db = re.sub(r"\D", "", str(a)), re.sub(r"\D", "", str(b))
        if da and db:
            return da == db
    return norm(a) == norm(b)


def show(path: str, value: Any) -> str:
    """A value as staff and mail may see it: an SSN only by its last four digits."""
    text = str(value)
    return mask_ssn(text) if path in SECRET_PATHS else mask_ssns(repr(text))


def label(path: str | None) -> str:
    """A field path in words for a person: `worker.date_of_birth` -> `worker's date of birth`."""
    return field_label(path)
