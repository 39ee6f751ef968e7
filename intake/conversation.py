"""The conversation: a message that answers one of our replies completes the request it answers.

Our *information needed* reply asks the sender to reply with what is missing. Such an answer is
not a new request: it is found to answer a request (`find_thread`), checked to come from the
right sender (`sender_check`), read for its new text only (the child process strips the quote, see
`parsers.reply`), and its values are merged into the request (`merge_answer`), each with its
provenance; a value that contradicts one already read is a `conflict` for staff, never an
overwrite. The pipeline (`intake.answers`) records it and sends one reply about the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from intake import mailheads, senderauth
from intake.model import CertificateRequest, Problem
from intake.reference import help_for
from intake.replies import field_label
from intake.store.store import RequestRecord, SubmissionRecord
from intake.validate import validate
from parsers.pii import mask_ssn, mask_ssns
from parsers.signature import is_weak

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
    except Exception:  # a header we cannot parse threads nothing
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
    return d[-10:] if len(d) >= 10 else d


def _mail_from(sub: SubmissionRecord) -> str | None:
    meta = (sub.result or {}).get("meta") or {}
    address = meta.get("from") or read_headers(sub.raw).from_addr or sub.sender
    return str(address).lower() if address and "@" in str(address) else None


def sender_check(origin: SubmissionRecord, answer: SubmissionRecord, *, require_verified: bool) -> str | None:
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


def _norm(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(re.sub(r"[\s\-./()]+", " ", value.casefold()).split())
    return str(value).casefold()


def same_value(path: str, a: Any, b: Any) -> bool:
    """Whether two readings give one value: numbers (SSN, EIN, phone, ZIP) by their digits, the
    rest as `_norm` writes them."""
    if path.endswith(("ssn", "ein", "phone", "postal_code")):
        da, db = re.sub(r"\D", "", str(a)), re.sub(r"\D", "", str(b))
        if da and db:
            return da == db
    return _norm(a) == _norm(b)


def show(path: str, value: Any) -> str:
    """A value as staff and mail may see it: an SSN only by its last four digits."""
    text = str(value)
    return mask_ssn(text) if path in SECRET_PATHS else mask_ssns(repr(text))


def label(path: str | None) -> str:
    """A field path in words for a person: `worker.date_of_birth` -> `worker's date of birth`."""
    return field_label(path)


@dataclass
class AnswerValues:
    """What one answer (or one section of it) gave: values by path, their provenance and confidence."""

    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)  # the answer's own conflicts, doubts
    identity: dict[str, str] = field(default_factory=dict)  # ssn / last name, when the answer names a worker


def answer_values(item: Mapping[str, Any], part_prefix: str) -> AnswerValues:
    """The values an answer's extraction read (`RequestResult` as JSON), provenance renamed to the
    answer's part (`answer 12: body`) so the request shows where each value came from."""
    request = item.get("request") or {}
    out = AnswerValues()
    for path, prov in (item.get("provenance") or {}).items():
        value = get_path(request, path)
        if value is None or value == "" or value == []:
            continue
        out.values[path] = value
        p = dict(prov or {})
        p["part"] = f"{part_prefix}: {p.get('part') or 'message'}"
        out.provenance[path] = p
        if path in (item.get("confidence") or {}):
            out.confidence[path] = float(item["confidence"][path])
    for p in item.get("problems") or []:
        if isinstance(p, dict) and p.get("code") in ("conflict", "low_confidence") and p.get("field") in out.values:
            out.problems.append(dict(p))
    for path in ("worker.ssn", "worker.last_name"):
        if path in out.values:
            out.identity[path] = _norm(out.values[path])
    return out


@dataclass
class Merged:
    """A request after an answer: fields, problems, provenance, state, and the changes for the trail."""

    fields: dict[str, Any]
    problems: list[dict[str, Any]]
    provenance: dict[str, Any]
    confidence: dict[str, Any]
    state: str
    changes: list[tuple[str, str | None, str | None]]
    added: list[str]
    conflicts: list[str]


# A sentence that confirms what we read ("Packdymlaan 81 is correct", "Yes, Neaneo is right"), and
# one that denies it. Plain English, not any writer's list: a confirmation names the value we quoted.
_CONFIRMING = re.compile(r"\b(?:correct|right|confirm(?:s|ed)?|accurate|exact(?:ly)?|yes|ok(?:ay)?)\b", re.I)
_DENYING = re.compile(r"\b(?:not|incorrect|wrong|isn'?t|mistaken?|error)\b", re.I)
# Problems we asked the sender to settle ("please confirm", "tell us which is right", "send it again"):
# an answer that gives or confirms the value settles them.
ASKED_CODES = frozenset({"low_confidence", "conflict", "invalid"})
_ADDRESS = re.compile(r"^(.*\.address|assignment\.work_address)\.[a-z_]+$")
_NAME = re.compile(r"^worker\.(?:first|middle|last)_name$")


def _unit(path: str) -> str:
    """The value a person confirms as one: an address or a name as a whole, any other field alone."""
    m = _ADDRESS.match(path)
    return m.group(1) if m else "worker.name" if _NAME.match(path) else path


def _words(text: str) -> str:
    """Text for finding a value in a sentence: case, punctuation and spacing aside."""
    return " ".join(re.sub(r"[^\w@]+", " ", text.casefold()).split())


def _forms(path: str, value: Any) -> set[str]:
    """The ways a confirming person writes a value back: as read, and as our reply showed it."""
    from intake.wording import shown  # noqa: PLC0415 - replies' wording, only for confirmations

    text = str(value)
    out = {_words(text), _words(shown(path, text).strip("'"))}
    return {f for f in out if f}


def confirmations(rec: RequestRecord, lines: Iterable[str],
                  answers: Iterable[AnswerValues] = ()) -> dict[str, str]:
    """Doubtful values of `rec` that a line of the answer confirms in words: {path: the line}.

    A line confirms when it names the value as read (or as our reply quoted it), says so
    ("correct", "right", "confirmed", "yes") and denies nothing. A line that names the values of
    several doubtful fields confirms the one it names most of (an address line: its pieces; never
    two dates alike). Yes/no values and the SSN (our reply shows only its last four digits) are
    confirmed by writing them again, not by a sentence. A field the answer gives another value
    for is not the one a sentence confirms (two dates read alike, one of them corrected).
    """
    corrected = {p for a in answers for p, v in a.values.items()
                 if not same_value(p, v, get_path(rec.fields, p) or "")}
    doubtful: dict[str, set[str]] = {}
    for p in rec.problems_json():
        path = p.get("field")
        if not path or p.get("code") not in ("low_confidence", "conflict") or path in SECRET_PATHS \
                or path in corrected:
            continue
        value = get_path(rec.fields, path)
        if value in (None, "", []) or isinstance(value, bool | dict | list):
            continue
        doubtful[path] = _forms(path, value)
    out: dict[str, str] = {}
    for line in lines:
        if not _CONFIRMING.search(line) or _DENYING.search(line):
            continue
        padded = f" {_words(line)} "
        weight: dict[str, int] = {}
        hits: dict[str, list[str]] = {}
        for path, forms in doubtful.items():
            # A value of one letter (a middle initial) only as the sentence's subject: "P is right".
            found = [f for f in forms if (f" {f} " in padded if len(f) > 1 else padded.startswith(f" {f} "))]
            if found:
                unit = _unit(path)
                weight[unit] = weight.get(unit, 0) + max(len(f) for f in found)
                hits.setdefault(unit, []).append(path)
        if not weight:
            continue
        best = max(weight.values())
        winners = [u for u, w in weight.items() if w == best]
        if len(winners) == 1:
            unit = winners[0]
            named = hits[unit]
            if not {f"{unit}.street", f"{unit}.city"} <= set(named):
                for path in named:
                    out.setdefault(path, line.strip()[:200])
                continue
            # An address written out and said to be right (street and city as we quoted them):
            # the person confirmed the address, its country too when they left it out.
            for path in doubtful:
                if _unit(path) == unit:
                    out.setdefault(path, line.strip()[:200])
    return out


def _address_echoes(rec: RequestRecord, answers: list[AnswerValues]) -> dict[str, str]:
    """Doubtful address pieces the answer writes again under a label read as another address (the
    employer's office address read as the worker's): the same street and city are the same address
    given again. Those answer values are removed (they belong to the address we asked about);
    returns {confirmed path: why}."""
    units = {_unit(str(p.get("field"))) for p in rec.problems_json() if p.get("field")
             and p.get("code") in ("low_confidence", "conflict") and _ADDRESS.match(str(p.get("field")))}
    out: dict[str, str] = {}
    for unit in units:
        street, city = get_path(rec.fields, f"{unit}.street"), get_path(rec.fields, f"{unit}.city")
        if not street or not city:
            continue
        for ans in answers:
            for other in {_unit(p) for p in ans.values if _ADDRESS.match(p) and _unit(p) != unit}:
                if _words(str(ans.values.get(f"{other}.street", ""))) == _words(str(street)) and \
                        _words(str(ans.values.get(f"{other}.city", ""))) == _words(str(city)):
                    for p in [p for p in ans.values if _unit(p) == other]:
                        ans.values.pop(p)
                        ans.provenance.pop(p, None)
                        ans.confidence.pop(p, None)
                    ans.problems[:] = [x for x in ans.problems if x.get("field") in ans.values]
                    for q in rec.problems_json():
                        f = q.get("field")
                        if f and _unit(f) == unit and q.get("code") in ("low_confidence", "conflict"):
                            out[f] = "the same address, given again"
    return out


def without_confirming_lines(answers: list[AnswerValues], lines: Iterable[str]) -> list[AnswerValues]:
    """The answer's values less those its confirming sentences account for: "Confirmed: May 23,
    2027" or "Neaneo Molford - that is correct" say a value is right; a reader that takes them for
    label and value ("Confirmed" as a date's label) must not make them new values."""
    said = [f" {_words(line)} " for line in lines]
    if not said:
        return answers
    out = []
    for ans in answers:
        keep = AnswerValues(identity=dict(ans.identity))
        for path, value in ans.values.items():
            lab = _words(str((ans.provenance.get(path) or {}).get("label") or ""))
            forms = set() if isinstance(value, bool) or str(value).lower() in ("true", "false") else \
                {f for f in _forms(path, value) if len(f) >= 4}
            if any((lab and f" {lab} " in line) or any(f" {f} " in line for f in forms) for line in said):
                continue
            keep.values[path] = value
            if path in ans.provenance:
                keep.provenance[path] = ans.provenance[path]
            if path in ans.confidence:
                keep.confidence[path] = ans.confidence[path]
        keep.problems = [p for p in ans.problems if p.get("field") in keep.values]
        out.append(keep)
    return out


def _drop_echoes(answers: list[AnswerValues]) -> list[AnswerValues]:
    """An answer's value read without a label (from its sentences: "two dates with no from/through
    words") that another of its values gives under a label, for another field, is the same line
    read twice: the labelled reading stands, the echo is dropped."""
    out = []
    for ans in answers:
        labelled = {(_norm(v)) for p, v in ans.values.items() if (ans.provenance.get(p) or {}).get("label")}
        echo = {p for p, v in ans.values.items() if not (ans.provenance.get(p) or {}).get("label")
                and _norm(v) in labelled and not isinstance(v, bool)}
        if not echo:
            out.append(ans)
            continue
        out.append(AnswerValues({p: v for p, v in ans.values.items() if p not in echo},
                                {p: v for p, v in ans.provenance.items() if p not in echo},
                                {p: v for p, v in ans.confidence.items() if p not in echo},
                                [dict(x) for x in ans.problems if x.get("field") not in echo], dict(ans.identity)))
    return out


def _is_date(path: str) -> bool:
    return path.endswith(("_date", "date_of_birth"))


def _to_asked(rec: RequestRecord, answers: list[AnswerValues], asked: set[str], settled: set[str],
              twice: set[str]) -> dict[str, str]:
    """Move a date the answer read with doubt, under a field already holding another date, to the
    one date we asked for that the answer gives nowhere else: an answer answers our questions, and
    a label we could not place ("Assignment commencing", "D/O/B") under the date we asked for is
    the likelier reading than a second value for a date we had. Returns {new path: old path}."""
    given = {p for ans in answers for p in ans.values}
    open_dates = [q for q in asked if _is_date(q) and q not in given and q not in settled]
    moved: dict[str, str] = {}
    for ans in answers:
        for path in list(ans.values):
            old = get_path(rec.fields, path)
            unsure = any(p.get("field") == path and p.get("code") == "low_confidence" for p in ans.problems)
            if (ans.provenance.get(path) or {}).get("method") != "text":
                continue  # a box of a form or return page names its field; only a label read in text may mislead
            if not (_is_date(path) and unsure and path not in twice and old not in (None, "", [])
                    and _norm(old) != _norm(ans.values[path])):
                continue
            targets = [q for q in open_dates if q not in moved]
            if len(targets) != 1:
                continue
            q = targets[0]
            ans.values[q] = ans.values.pop(path)
            if path in ans.provenance:
                ans.provenance[q] = ans.provenance.pop(path)
            if path in ans.confidence:
                ans.confidence[q] = ans.confidence.pop(path)
            for p in ans.problems:
                if p.get("field") == path:
                    p["field"] = q
            moved[q] = path
    return moved


def _one_line_two_fields(answers: list[AnswerValues]) -> set[str]:
    """Fields an answer filled from one line with one value (the same label and value under two
    fields: "Assignment commencing ... 1 January 2027" read as both dates): none of them is sure."""
    seen: dict[tuple[str, str], set[str]] = {}
    for ans in answers:
        for path, value in ans.values.items():
            prov = ans.provenance.get(path) or {}
            lab = prov.get("label")
            if lab and not is_weak(lab) and prov.get("method") == "text":  # a box is one field by construction
                seen.setdefault((str(lab), _norm(value)), set()).add(_unit(path))
    return {p for ans in answers for p in ans.values
            if len(seen.get((str((ans.provenance.get(p) or {}).get("label")), _norm(ans.values[p])), set())) > 1}


def merge_answer(rec: RequestRecord, answers: list[AnswerValues], *, where: str,
                 confirmed_lines: Mapping[str, str] | None = None) -> Merged:
    """Merge an answer's values into a request and validate the whole again.

    A field the request lacks takes the answer's value; a doubt of the answer's own reading on a
    field we asked for is lifted (the answer gives it where we asked for it), unless one line of
    the answer gave it to two fields. A field whose value we asked the sender to confirm or settle
    (`low_confidence`, `conflict`, `invalid`) is settled by the same value written again, by a line
    confirming it in words (`confirmations`, passed as `confirmed_lines`), or replaced by a value
    the answer reads for certain (the old one kept in the trail); an answer value that is itself
    doubtful never replaces it: that is a `conflict` for staff. A field read for certain and
    answered differently keeps its value and gets a `conflict`.
    """
    fields: dict[str, Any] = _copy(rec.fields)
    provenance = dict(rec.provenance or {})
    confidence = dict(rec.confidence or {})
    old_problems = rec.problems_json()
    # We asked the sender to confirm a doubtful value and to correct an invalid one: the answer's
    # value takes their place (the old one kept in the trail), not a conflict.
    doubtful = {p.get("field") for p in old_problems if p.get("code") in ASKED_CODES}
    missing = {p.get("field") for p in old_problems if p.get("code") == "missing"}
    changes: list[tuple[str, str | None, str | None]] = []
    added: list[str] = []
    conflicts: list[str] = []
    new_problems: list[dict[str, Any]] = []
    answered: set[str] = set()
    self_employed = get_path(fields, "request_type") == "self_employed"
    confirmed: set[str] = set()
    lifted: set[str] = set()  # the answer's doubt on a value we asked for, gone
    answers = _drop_echoes(answers)
    twice = _one_line_two_fields(answers)
    answers = [AnswerValues(dict(a.values), dict(a.provenance), dict(a.confidence), [dict(p) for p in a.problems],
                            dict(a.identity)) for a in answers]
    confirmed_lines = {**_address_echoes(rec, answers), **(confirmed_lines or {})}
    settled = set(confirmed_lines)
    moved = _to_asked(rec, answers, (doubtful | missing) - {None}, settled, twice)  # type: ignore[arg-type]
    for q, p in moved.items():
        changes.append((q, None, f"read under a label taken for the {label(p)}; placed where we asked for the "
                                 f"{label(q)}"))
    for path, line in (confirmed_lines or {}).items():
        old = get_path(fields, path)
        if old in (None, "", []):
            continue
        answered.add(path)
        confirmed.add(path)
        changes.append((path, show(path, old), f"{show(path, old)} (confirmed by the answer, {where}: "
                                               f"{mask_ssns(line)[:120]!r})"))
    for ans in answers:
        for path, value in ans.values.items():
            old = get_path(fields, path)
            unsure = path in twice or any(p.get("field") == path and p.get("code") in ("low_confidence", "conflict")
                                          for p in ans.problems)
            if old not in (None, "", []) and same_value(path, old, value):
                answered.add(path)  # confirmed
                confirmed.add(path)
                continue
            if is_weak((ans.provenance.get(path) or {}).get("label")) and (
                    old not in (None, "", []) or (self_employed and path.startswith("employer."))):
                continue  # the answer's signature fills a gap; it never contradicts what was read
            if path in confirmed:
                unsure = True  # confirmed in words, and another value besides: staff decide
            if old in (None, "", []) or (path in doubtful and not unsure):
                set_path(fields, path, value)
                provenance[path] = ans.provenance.get(path)
                if path in ans.confidence:
                    confidence[path] = ans.confidence[path]
                changes.append((path, None if old in (None, "", []) else show(path, old), show(path, value)))
                added.append(path)
                answered.add(path)
                if old in (None, "", []) and (path in missing or _unit(path) in missing) and path not in twice:
                    lifted.add(path)
                continue
            conflicts.append(path)
            doubt = " (itself read with doubt)" if unsure else ""
            new_problems.append(Problem(
                field=path, code="conflict", help=help_for(path),
                message=f"The answer ({where}) gives {show(path, value)} for the {label(path)}{doubt}, but "
                        f"{show(path, old)} was read before; the request keeps the first until a "
                        f"person decides.").model_dump())
        # A doubtful reading of the answer that gives the value already read is no doubt left: two
        # readings (two faxes of one value, each a little unsure) agree; nor is one that gives a
        # value where we asked for it.
        new_problems.extend(p for p in ans.problems if p.get("field") in answered
                            and not (p.get("code") == "low_confidence" and p.get("field") in confirmed | lifted))
        new_problems.extend(Problem(field=p, code="low_confidence", help=help_for(p),
                                    message=f"The answer ({where}) gave one line's value to two fields; "
                                            f"please check this value.").model_dump()
                            for p in sorted(twice & set(ans.values)) if p in added)
    kept = [p for p in old_problems if p.get("code") in KEPT_CODES
            and not (p.get("code") in ASKED_CODES and p.get("field") in answered and p.get("field") not in conflicts)]
    try:
        request = CertificateRequest.model_validate(fields)
        fields = request.model_dump(mode="json")
        checked = [p.model_dump() for p in validate(request)]
    except Exception as exc:  # noqa: BLE001 - values the model refuses go to staff, never lost
        checked = [Problem(field=None, code="invalid",
                           message=f"The answer's values could not be put together with the request "
                                   f"({type(exc).__name__}); a specialist will read it.").model_dump()]
    problems = _dedupe(kept + new_problems + checked)
    state = "accepted" if not problems else "needs_review"
    return Merged(fields, problems, provenance, confidence, state, changes, added, conflicts)


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    import copy  # noqa: PLC0415

    return copy.deepcopy(dict(data))


def _dedupe(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, Any]] = set()
    out = []
    for p in problems:
        key = (p.get("field"), p.get("code"))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def assign(answers: list[tuple[str | None, AnswerValues]], targets: list[RequestRecord],
           references: Mapping[int, str]) -> tuple[dict[int, list[AnswerValues]], list[AnswerValues]]:
    """Which answer values go to which request of a thread.

    A section of the answer that names a reference goes to that request; values that name a worker
    (SSN, last name) go to that worker's request; with one request, everything goes to it; values
    that name neither, in an answer to several requests, are common to all (the employer's EIN).
    Returns ({request id: values}, values that fit no request).
    """
    by_ref = {ref: rid for rid, ref in references.items()}
    out: dict[int, list[AnswerValues]] = {t.id: [] for t in targets}
    unplaced: list[AnswerValues] = []
    for ref, ans in answers:
        if not ans.values:
            continue
        if ref and ref.upper() in by_ref and by_ref[ref.upper()] in out:
            out[by_ref[ref.upper()]].append(ans)
        elif len(targets) == 1:
            out[targets[0].id].append(ans)
        elif ans.identity:
            hit = [t for t in targets if _same_worker(t, ans.identity)]
            if len(hit) == 1:
                out[hit[0].id].append(ans)
            else:
                unplaced.append(ans)
        else:
            for t in targets:
                out[t.id].append(ans)
    return out, unplaced


def _same_worker(rec: RequestRecord, identity: Mapping[str, str]) -> bool:
    ssn = identity.get("worker.ssn")
    if ssn:
        return re.sub(r"\D", "", ssn) == re.sub(r"\D", "", str(get_path(rec.fields, "worker.ssn") or ""))
    last = identity.get("worker.last_name")
    return bool(last) and last == _norm(get_path(rec.fields, "worker.last_name") or "")
