"""Acknowledgements: whether to answer a message at all, and what the answer says.

Pure functions: the pipeline decides with `should_reply`, renders with `render_mail_bytes` (or
`intake.faxreply.render_fax_pdf` for a fax), and queues the bytes in the outbox; sending is
`intake.outbox`'s job. The rules are RFC 3834's and those mature help desks add (no answer to
bounces, lists, auto-replies or our own mail), because an auto-reply loop with another robot is
the classic way to flood a mailbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from functools import cache
from importlib import resources
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from intake import mailheads
from intake.mailcompose import compose
from intake.model import CertificateRequest, Problem
from intake.reference import agreements
from intake.wording import field_words, scrub, shown, title
from parsers.pii import mask_ssn, mask_ssns

_SUBJECT_REFS = 5  # references a subject line names; a longer batch ends in "..."

NO_REPLY_LOCALPARTS = re.compile(r"^(mailer-daemon|postmaster|owner-.*|.*-request|no-?reply|bounces?(\+.*)?)$", re.I)


@dataclass(frozen=True)
class ReplyDecision:
    reply: bool
    reason: str
    address: str = ""  # where the answer goes (Reply-To, else From)


def should_reply(raw: bytes, *, our_domain: str, envelope_sender: str | None = None) -> ReplyDecision:  # noqa: C901, PLR0911, PLR0912  (RFC 3834's rules, each a return of its own)
    """RFC 3834 section 2 and common help-desk rules, applied to a message's headers."""
    headers = mailheads.headers(raw, modern=True)

    def h(name: str) -> str:
        try:
            value = headers.get(name)
        except Exception:  # noqa: BLE001  (a malformed header is treated as absent)
            return ""
        return str(value or "").strip()

    if envelope_sender is None:
        # The delivering MTA records the envelope sender as the topmost Return-Path (our SMTP
        # listener does too); for mail read from a mailbox it is the only trace of a null sender.
        try:
            return_path = headers.get_all("Return-Path") or []
        except Exception:  # noqa: BLE001  (a Return-Path that cannot be read is as good as none)
            return_path = []
        if return_path:
            envelope_sender = str(return_path[0])
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return ReplyDecision(False, "null envelope sender (a bounce)")
    sender = _sender(headers)
    if not sender:
        return ReplyDecision(False, "no sender address")
    local, _, domain = sender.partition("@")
    if NO_REPLY_LOCALPARTS.match(local):
        return ReplyDecision(False, f"sender {sender} is a robot or a list address")
    auto = h("Auto-Submitted").lower()
    if auto and auto != "no":
        return ReplyDecision(False, f"Auto-Submitted: {auto}")
    precedence = h("Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return ReplyDecision(False, f"Precedence: {precedence}")
    for name in ("X-Loop", "X-Auto-Response-Suppress", "List-Id", "List-Unsubscribe"):
        if h(name):
            return ReplyDecision(False, f"{name} header present")
    content_type = h("Content-Type").lower()
    if "multipart/report" in content_type:
        return ReplyDecision(False, "a delivery or read report")
    message_id = h("Message-ID")
    if our_domain and message_id.lower().rstrip(">").endswith("@" + our_domain.lower()):
        return ReplyDecision(False, "our own message came back")
    if our_domain and domain.lower() == our_domain.lower() and local.lower().startswith("certificate"):
        return ReplyDecision(False, "sent from our own address")
    return ReplyDecision(True, "ok", sender)


def _sender(headers: Any) -> str:
    for name in ("Reply-To", "From", "Sender", "Return-Path"):
        try:
            value = headers.get_all(name) or []
        except Exception:  # noqa: BLE001  (a header that cannot be read names nobody: the next one may)
            continue
        for _display, addr in getaddresses([str(v) for v in value]):
            if "@" in addr:
                return addr.strip().lower()
    return ""


# Problems for staff alone: a reply never names them (they speak of other senders).
STAFF_ONLY_CODES = frozenset({"answer_from_other_sender"})


@dataclass
class RequestView:
    """What a reply may say about one request: never a full SSN."""

    reference: str
    worker_name: str = ""
    ssn_masked: str = ""
    employer_name: str = ""
    ein: str = ""
    country_name: str = ""
    start: str = ""
    end: str = ""
    confirmation_email: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, reference: str, request: CertificateRequest,
           problems: list[Problem] | None = None) -> RequestView:
        w, a = request.worker, request.assignment
        table = agreements().agreements
        country = table[a.country].name if a.country in table else (a.country or "")
        return cls(
            reference=reference,
            worker_name=" ".join(x for x in (w.first_name, w.middle_name, w.last_name) if x),
            ssn_masked=mask_ssn(w.ssn),
            employer_name=request.employer.name or "" if request.employer else "",
            ein=request.employer.ein or "" if request.employer else "",
            country_name=country,
            start=a.start_date.strftime("%B %-d, %Y") if a.start_date else "",
            end=a.end_date.strftime("%B %-d, %Y") if a.end_date else "",
            confirmation_email=request.confirmation_email or "",
            problems=[{"label": title(p.field), "message": mask_ssns(sender_message(p, request)),
                       "help": scrub(p.help)}
                      for p in _ask_once([*(problems or []), *likely_type_problems(request, problems or [])])
                      if p.code not in STAFF_ONLY_CODES],
        )


# Problems that ask the sender for one field's value: one question per field is enough ("we could
# not read it with certainty", "could not be read as yes or no" and "is missing" say one thing; a
# value that cannot be right says why, before a doubt about how it was read).
_ASKING = ("conflict", "invalid", "low_confidence", "missing")


def _ask_once(problems: list[Problem]) -> list[Problem]:
    """The problems with one asking bullet per field (the first, which says most: what we read)."""
    best: dict[str, Problem] = {}
    for p in problems:
        if p.field and p.code in _ASKING:
            held = best.get(p.field)
            if held is None or _ASKING.index(p.code) < _ASKING.index(held.code):
                best[p.field] = p
    return [p for p in problems if not (p.field and p.code in _ASKING) or best.get(p.field) is p]


def field_label(path: str | None) -> str:
    """A field path in words (`intake.wording.field_words`): `worker.date_of_birth` -> "worker's
    date of birth", `dependents[1].name` -> "family member 2's name"."""
    return field_words(path)


def _value_at(request: CertificateRequest, path: str) -> str:
    node: Any = request.model_dump(mode="json")
    for piece in path.split("."):
        m = re.fullmatch(r"([a-z_0-9]+)(?:\[(\d+)\])?", piece)
        if not m or not isinstance(node, dict):
            return ""
        node = node.get(m.group(1))
        if m.group(2) is not None:
            node = node[int(m.group(2))] if isinstance(node, list) and int(m.group(2)) < len(node) else None
        if node is None:
            return ""
    if isinstance(node, dict):  # an address: its pieces, as written on an envelope
        return ", ".join(str(v) for k, v in node.items() if v and k != "country")
    return str(node)


_GUESS = "; please check it."  # how `intake.plausible` ends a value that looks wrong


def sender_message(p: Problem, request: CertificateRequest) -> str:
    """A problem as the sender reads it: what we read and what we need, never our part names,
    reading methods, confidences, field paths or codes (those are for staff, in the problem's own
    message). A doubtful value is quoted back; an SSN only by its last four digits."""
    what = field_label(p.field)
    if p.code in ("low_confidence", "conflict") and p.field:
        value = _value_at(request, p.field)
        if not value:
            return f"We could not read the {what} with certainty: please send it again."
        seen = shown(p.field, value)
        if p.code == "low_confidence":
            return f"We read {seen} as the {what}: please confirm, or send the right value."
        return (f"We read {seen} as the {what}, but your message also gives another value: "
                "please tell us which is right.")
    message = p.message
    if p.code == "invalid" and p.field and message.endswith(_GUESS) and (value := _value_at(request, p.field)):
        # A value that looks wrong to us (`intake.plausible`) may be right ("de la Worker" holds a
        # label's word): quoted back, the sender can say so, or correct it, in one answer.
        why = message[:-len(_GUESS)]
        why = why[:1].lower() + why[1:]
        return scrub(f"We read {shown(p.field, value)} as the {what}, but {why}: please confirm, or send the right "
                     "value.")
    if p.field and message.startswith(p.field + ":"):
        # the model's own check ("worker.date_of_birth: the value could not be read as a date.")
        message = f"We could not use the {what}:{message[len(p.field) + 1:]} Please send it again."
    return scrub(message)


def likely_type_problems(request: CertificateRequest, problems: list[Problem]) -> list[Problem]:
    """Ask once, ask everything: a request that does not say its type and names no employer is most
    likely an employee's; besides the type, say what an employee's request needs as well, so the
    sender does not learn it only in a second round."""
    if request.request_type is not None or request.employer is not None:
        return []
    if not any(p.field == "request_type" and p.code == "missing" for p in problems):
        return []
    from intake.validate import validate  # noqa: PLC0415 - validate is heavier than what replies need

    asked = {(p.field, p.code) for p in problems}
    extra = validate(request.model_copy(update={"request_type": "employee"}))
    return [p.model_copy(update={"message": f"If the worker is an employee: {p.message}"})
            for p in extra if p.field and p.field.startswith("employer") and (p.field, p.code) not in asked]


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(resources.files("intake.templates"))), undefined=StrictUndefined,
                       autoescape=False, keep_trailing_newline=True, trim_blocks=False)


SUBJECTS = {
    "received": "Received: your certificate of coverage request {refs}",
    "incomplete": "Information needed: your certificate of coverage request {refs}",
    "approved": "Approved: certificate of coverage request {refs}",
    "rejected": "Not approved: certificate of coverage request {refs}",
    "web_received": "Received: your online certificate of coverage request {refs}",
}


def render_text(kind: str, **context: Any) -> str:
    return mask_ssns(_env().get_template(f"mail/{kind}.txt.j2").render(**context))


def render_mail(kind: str, **kwargs: Any) -> EmailMessage:
    """`render_mail_bytes` as a message object, for callers that read it back (tests, previews)."""
    return cast(EmailMessage, message_from_bytes(render_mail_bytes(kind, **kwargs), policy=default_policy))


def render_mail_bytes(kind: str, *, to: str, from_address: str, our_domain: str,
                      requests: list[RequestView], received_at: datetime | None = None,
                      original_subject: str = "", in_reply_to: str | None = None,
                      references: list[str] | None = None, attachments: list[tuple[str, bytes, str]] | None = None,
                      **context: Any) -> bytes:
    """A complete reply: text and HTML alternatives, threaded, marked as an automatic reply."""
    refs = ", ".join(r.reference for r in requests[:_SUBJECT_REFS]) + (" ..." if len(requests) > _SUBJECT_REFS else "")
    subject = SUBJECTS[kind].format(refs=refs)
    if original_subject:
        base = original_subject if original_subject.lower().startswith("re:") else f"Re: {original_subject}"
        # An answer to our reply already carries the reference: named once, never "[X] [X]".
        named = all(r.reference.upper() in original_subject.upper() for r in requests) and bool(requests)
        subject = base if named else f"{base} [{refs}]"
    # The sender's own subject comes back in `Re: ...`: a sender who wrote the SSN there must not get
    # it back (nor have it stored in the outbox and the sent-mail folder), so it is masked as the
    # body is. Every value below that came from the sender goes through the mask.
    subject = mask_ssns(subject)
    ctx = {"requests": requests, "r": requests[0] if requests else None,
           "received_at": (received_at or datetime.now()).strftime("%B %-d, %Y at %H:%M %Z").strip(),
           "updated": False, "answered": False, "form_url": "", "help_url": "", "file_problems": [], **context}
    text = render_text(kind, **ctx)
    html = _env().get_template("mail/base.html.j2").render(subject=subject, text=text)
    html = mask_ssns(html)
    headers = [("From", formataddr(("Certificate of Coverage", from_address))), ("To", to),
               ("Subject", subject), ("Date", format_datetime(datetime.now().astimezone())),
               ("Message-ID", make_msgid(domain=our_domain or "localhost")),
               ("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    # Message-IDs go back as they came: opaque tokens the sender's software chose (hex and digit
    # runs in them are often SSN-shaped), which threading needs unchanged; a person does not type them.
    if in_reply_to:
        headers += [("In-Reply-To", in_reply_to), ("References", " ".join([*(references or []), in_reply_to][-10:]))]
    files = [(mask_ssns(filename), data, media_type) for filename, data, media_type in attachments or []]
    return compose(headers, text, html, files)

