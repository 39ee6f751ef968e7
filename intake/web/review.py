"""What staff do to a request: correct fields, accept, approve, reject, merge; and the replies.

Kept apart from the HTTP layer so that the rules (who may do what, which reply goes out, what the
audit trail says) are plain functions over the store that tests can call directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from intake import fieldgroups, senderauth
from intake.faxmail import gateway_of
from intake.merge import LOW_CONFIDENCE
from intake.model import FIELD_PATHS, CertificateRequest, Dependent, Problem, build_request, max_length
from intake.online_replies import requester_email
from intake.pipeline.acknowledge import render_reply, view_of
from intake.reference import help_for
from intake.replies import should_reply
from intake.senderauth import TRUST_CODES, Verdict
from intake.settings import Settings
from intake.store import Store
from intake.store.online import proven_address
from intake.store.states import MAIL_CHANNELS, OPEN_STATES
from intake.store.store import SYSTEM_ACTORS, RequestRecord, StateConflict, SubmissionRecord
from intake.validate import mask_ssn, validate
from intake.web.users import Account
from parsers.pii import mask_ssns
from parsers.signature import is_weak
from parsers.values import typed_value

# Problems a person confirms by looking, not by changing the value: they do not block accepting.
ADVISORY_CODES = ("low_confidence", "conflict", "start_in_past", "period_too_long", "nationality_rule",
                  "outdated_edition", *TRUST_CODES)
# Problems that are not about a value, so a correction keeps them (unless it changed their field).
# `outdated_edition` stays after a correction: the request still came on an old form.
KEPT_CODES = ("low_confidence", "conflict", "outdated_edition", *TRUST_CODES)
SSN_PATH = "worker.ssn"


class ActionError(Exception):
    """An action that is not allowed now (wrong role, wrong state, problems left); shown to staff."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def field_paths(fields: CertificateRequest | Mapping[str, Any]) -> list[str]:
    """Every field the form shows, in model order; one set of dependent fields per dependent."""
    dependents = fields.dependents if isinstance(fields, CertificateRequest) else fields.get("dependents")
    n_dependents = len(dependents or [])
    paths = [p for p in FIELD_PATHS if not p.startswith("dependents")]
    for i in range(n_dependents):
        paths += [f"dependents[{i}].{name}" for name in Dependent.model_fields]
    return paths


def flat_values(fields: CertificateRequest | Mapping[str, Any]) -> dict[str, str]:
    """The request's values as form strings by path (`""` for an empty field)."""
    request = fields if isinstance(fields, CertificateRequest) else CertificateRequest.from_stored(fields)
    return {path: _text(request.get(path)) for path in field_paths(fields)}


def shown_value(path: str, value: str, account: Account) -> str:
    """The value as this account may see it: reviewers see an SSN masked, also one written into
    another field (an address line, a name)."""
    if value and not account.sees_full_ssn:
        return mask_ssn(value) if path == SSN_PATH else mask_ssns(value)
    return value


def audit_value(path: str, value: str | None) -> str | None:
    """The value as the audit trail keeps it: an SSN masked, always, also one typed into another
    field (the trail is stored in clear and shown to every reviewer)."""
    if value is None:
        return None
    return mask_ssn(value) if path == SSN_PATH and value else mask_ssns(value)


def normalise(path: str, value: str) -> str:
    """A value as staff typed it, in the model's form where the parsers' readers understand it
    (`parsers.values.typed_value`, the online form's reading too)."""
    return typed_value(path, value)


def check(values: dict[str, str], *, today: date | None = None) -> tuple[CertificateRequest, list[Problem]]:
    """Build the request from form values and validate it: the same rules the pipeline applies."""
    cleaned = {p: normalise(p, v.strip()) for p, v in values.items() if v is not None and v.strip()}
    request, problems = build_request(cleaned)
    for p in problems:
        p.help = help_for(p.field)
    seen = {(p.field, p.code) for p in problems}
    for p in validate(request, today=today):
        if (p.field, p.code) not in seen:
            problems.append(p)
    return request, problems


@dataclass(frozen=True)
class FieldView:
    path: str
    label: str
    value: str
    confidence: float | None
    problems: list[dict[str, Any]]
    help: str
    low_confidence: bool
    has_box: bool
    source: str = ""  # where the value was read: "answer 12: body (text)", "attachment 1: form.pdf (form)"
    max_length: int | None = None


def label_of(path: str) -> str:
    """A field's label with its group, as staff read it: "Employer's address: City"."""
    return fieldgroups.full_label(path)


def field_views(rec: RequestRecord, account: Account) -> list[FieldView]:
    values = flat_values(rec.request)
    by_field: dict[str, list[dict[str, Any]]] = {}
    for p in rec.problems_json():
        if isinstance(p, dict):
            by_field.setdefault(str(p.get("field") or ""), []).append(p)
    out = []
    for path in field_paths(rec.request):
        conf = rec.confidence.get(path)
        confidence = float(conf) if isinstance(conf, int | float) else None
        problems = by_field.get(path, [])
        out.append(
            FieldView(
                path=path,
                label=label_of(path),
                value=shown_value(path, values.get(path, ""), account),
                confidence=confidence,
                problems=[safe_problem(p, account) for p in problems],
                help=help_for(path),
                low_confidence=(confidence is not None and confidence < LOW_CONFIDENCE)
                or any(p.get("code") == "low_confidence" for p in problems),
                has_box=bool((rec.provenance.get(path) or {}).get("box")),
                source=_source_of(rec.provenance.get(path)),
                max_length=max_length(path),
            )
        )
    return out


def _source_of(prov: Any) -> str:
    if not isinstance(prov, dict) or not prov.get("part"):
        return ""
    page = f", page {prov['page']}" if prov.get("page") else ""
    # a value read from a signature block, letterhead or the From line says so: staff weigh it
    weak = f", {prov['label']}" if is_weak(prov.get("label")) else ""
    return mask_ssns(f"{prov['part']}{page} ({prov.get('method') or '?'}{weak})")


def safe_problem(p: dict[str, Any], account: Account) -> dict[str, Any]:
    """A problem as shown; for reviewers, any SSN-shaped number in it masked."""
    out = dict(p)
    if not account.sees_full_ssn:
        out["message"] = mask_ssns(str(p.get("message", "")))
    return out


def request_problems(rec: RequestRecord) -> list[dict[str, Any]]:
    """Problems not tied to one field (shown at the top)."""
    return [p for p in rec.problems_json() if not p.get("field")]


def blocking(problems: list[Any]) -> list[dict[str, Any]]:
    return [p for p in problems if isinstance(p, dict) and p.get("code") not in ADVISORY_CODES]


def sender_verdict(sub: SubmissionRecord) -> Verdict | None:
    """The sender-trust verdict the pipeline recorded (None before the submission was extracted)."""
    return Verdict.from_json(sub.sender_auth)


# -- corrections ---------------------------------------------------------------------------------


def merged_values(rec: RequestRecord, submitted: dict[str, str], account: Account) -> dict[str, str]:
    """The request's values with the submitted ones over them.

    A reviewer's form shows SSNs masked; sending a masked value back unchanged keeps the stored one.
    Paths not on the form are ignored (nobody edits what they cannot see).
    """
    old = flat_values(rec.request)
    out = dict(old)
    for path, sent in submitted.items():
        if path not in old:
            continue
        value = sent.strip()
        if old[path] and value == shown_value(path, old[path], account) and value != old[path]:
            continue
        if old[path] and value == fieldgroups.display(path, old[path]):
            continue  # a date sent back as the page shows it (MM/DD/YYYY): unchanged
        out[path] = value
    return out


def too_long(rec: RequestRecord, submitted: dict[str, str]) -> list[Problem]:
    """A problem (`too_long`, naming the field and its limit) for each value of the form longer than
    the model allows. Such a form is refused whole: nothing of it is stored, not even in the trail."""
    paths = set(field_paths(rec.request))
    out = []
    for path, value in submitted.items():
        limit = max_length(path) if path in paths else None
        if limit is not None and len(value.strip()) > limit:
            out.append(Problem(field=path, code="too_long", help=help_for(path),
                               message=f"{label_of(path)}: at most {limit:,} characters, "
                                       f"{len(value.strip()):,} were sent."))
    return out


def typed_ssn(rec: RequestRecord, submitted: dict[str, str], account: Account) -> bool:
    """Whether someone who may not see the full SSN typed one (anything but the mask they were shown).

    Such a value is never compared with the stored number: a check or save that answered differently
    when the guess was right would tell a reviewer the SSN (an oracle). It counts as a change either way.
    """
    if account.sees_full_ssn or SSN_PATH not in submitted:
        return False
    old = flat_values(rec.request).get(SSN_PATH, "")
    return submitted[SSN_PATH].strip() != shown_value(SSN_PATH, old, account)


def changed_paths(rec: RequestRecord, submitted: dict[str, str], account: Account) -> set[str]:
    """The paths a correction changes; `worker.ssn` always when a reviewer typed one (`typed_ssn`)."""
    old = flat_values(rec.request)
    out = {p for p, v in merged_values(rec, submitted, account).items() if v != old.get(p, "")}
    if typed_ssn(rec, submitted, account):
        out.add(SSN_PATH)
    return out


def correct(store: Store, rec: RequestRecord, submitted: dict[str, str], account: Account,
            *, today: date | None = None, kind: str = "field") -> RequestRecord:
    """Save corrections: re-validate, one event per changed field (SSNs masked), state `corrected`.
    `kind` names the events (`batch` for a correction made once for every request of a submission)."""
    if rec.state not in OPEN_STATES and rec.state != "accepted":
        raise ActionError(f"a request that is {rec.state.replace('_', ' ')} can no longer be changed")
    overlong = too_long(rec, submitted)
    if overlong:
        raise ActionError(" ".join(p.message for p in overlong) + " Nothing was saved.", status=400)
    old = flat_values(rec.request)
    new = merged_values(rec, submitted, account)
    request, problems = check(new, today=today)
    canonical = flat_values(request.model_dump(mode="json"))
    forced = {SSN_PATH} if typed_ssn(rec, submitted, account) else set()
    changes = []
    for path in field_paths(rec.request):
        before, after = old.get(path, ""), canonical.get(path, new.get(path, ""))
        if path in new and new[path].strip() and not after:
            after = new[path]  # a value the model could not take: the event still shows what was typed
        if before != after or path in forced:
            changes.append((path, audit_value(path, before) or None, audit_value(path, after) or None))
    if not changes:
        return rec
    changed = {c[0] for c in changes}
    kept = [p for p in rec.problems_json() if p.get("code") in KEPT_CODES
            and p.get("field") not in changed]
    all_problems = kept + [p.model_dump(mode="json") for p in problems]
    state = "corrected" if rec.state in OPEN_STATES else rec.state
    return store.update_request(rec.id, request.model_dump(mode="json"), all_problems, changes,
                                actor=account.name, new_state=state, kind=kind)


# -- replies -------------------------------------------------------------------------------------


EMAIL_PATHS = ("employer.contact_email", "worker.email", "confirmation_email")


def _request_email(rec: RequestRecord, vouched: set[str] | None = None) -> str | None:
    """The first address in the request; with `vouched`, only one of those paths (see `staff_vouched`)."""
    req = rec.request
    for path in EMAIL_PATHS:
        address = req.get(path)
        if address and "@" in address and (vouched is None or path in vouched):
            return str(address)
    return None


def staff_vouched(store: Store, rec: RequestRecord) -> set[str]:
    """The fields whose value a person typed or confirmed last (not OCR's reading): only such an
    address written on a fax may get a reply by mail."""
    out: set[str] = set()
    for e in store.events_of(request_id=rec.id):
        if e.field and e.actor not in SYSTEM_ACTORS and e.kind in ("field", "confirmed", "merge", "batch"):
            out.add(e.field)
    return out


def _queue(store: Store, settings: Settings, sub: SubmissionRecord, rec: RequestRecord, kind: str, *,
           to: str | None, actor: str, **context: Any) -> bool:
    """Render and queue one reply about one request; False when there is nobody to send it to."""
    generation = sum(1 for r in store.replies_of_request(rec.id) if r.kind == kind) + 1
    views = [view_of(rec)]
    if to:
        msg = render_reply(settings, sub, kind, views, channel="email", to=to, **context)
        return store.queue_reply(sub.id, kind, "email", to, msg, request_id=rec.id,
                                 generation=generation, actor=actor)
    if sub.channel == "fax" and sub.sender:
        pdf = render_reply(settings, sub, kind, views, channel="fax", to=sub.sender, **context)
        return store.queue_reply(sub.id, kind, "fax", sub.sender, pdf, request_id=rec.id,
                                 generation=generation, actor=actor)
    store.add_event(submission_id=sub.id, request_id=rec.id, actor=actor, kind="no_reply",
                    field=kind, new="no address to reply to")
    return False


def requester_address(store: Store, settings: Settings, sub: SubmissionRecord, rec: RequestRecord) -> str | None:
    """Where replies about this request go: the mail's sender (RFC 3834 rules); for a fax None (a
    fax reply to the number it came from), or, for a fax without a number, an address in the
    request that a person typed or confirmed: never one only OCR read."""
    if sub.channel in MAIL_CHANNELS and gateway_of(sub.raw, settings.fax_mail):
        return None  # a fax gateway's mail is answered by fax to the caller, never at the gateway
    if sub.channel in MAIL_CHANNELS:
        envelope = sub.sender if sub.channel != "imap" else None
        decision = should_reply(sub.raw, our_domain=settings.replies.our_domain, envelope_sender=envelope)
        return decision.address if decision.reply else None
    if sub.channel == "web":  # the address typed into the form; the confirmation address is proven first
        return requester_email([rec])
    if sub.channel == "fax" and sub.sender:
        return None  # answered by fax to the number it came from, never at an address OCR read
    return _request_email(rec, None if sub.channel != "fax" else staff_vouched(store, rec))


# -- actions -------------------------------------------------------------------------------------


def accept(store: Store, settings: Settings, rec: RequestRecord, account: Account) -> RequestRecord:
    """The request is complete: state `accepted`; the *received* reply goes out if the requester
    has not had one, or an updated one if they were told something was missing."""
    if rec.state not in OPEN_STATES:
        raise ActionError(f"a request that is {rec.state.replace('_', ' ')} cannot be accepted")
    left = blocking(rec.problems_json())
    if left:
        fields = ", ".join(sorted({str(p.get("field") or "request") for p in left}))
        raise ActionError(f"correct these first: {fields}")
    try:
        store.set_request_state(rec.id, "accepted", actor=account.name, expected=OPEN_STATES)
    except StateConflict as exc:
        raise ActionError("someone else changed this request; reload the page") from exc
    rec = store.get_request(rec.id)
    sub = store.get_submission(rec.submission_id)
    due, updated = received_due(store, sub, rec)
    if due:
        _queue(store, settings, sub, rec, "received", to=requester_address(store, settings, sub, rec),
               actor=account.name, updated=updated)
    return rec


def received_due(store: Store, sub: SubmissionRecord, rec: RequestRecord) -> tuple[bool, bool]:
    """Whether accepting sends the *received* reply, and whether as the updated one (the requester
    was told something was missing); none when they had it already."""
    earlier = [r for r in store.replies_of(sub.id) if r.request_id in (None, rec.id)]
    told_incomplete = any(r.kind == "incomplete" for r in earlier)
    had_received = any(r.kind == "received" for r in earlier)
    updated_sent = any(r.kind == "received" and r.request_id == rec.id for r in earlier)
    return not updated_sent and (told_incomplete or not had_received), told_incomplete


def accepted_by_person(store: Store, rec: RequestRecord) -> bool:
    """True when a staff member (not the gateway) moved the request to `accepted`."""
    return any(e.kind == "state" and e.new == "accepted" and e.actor not in SYSTEM_ACTORS
               for e in store.events_of(request_id=rec.id))


def worked_on_by(store: Store, rec: RequestRecord, name: str) -> bool:
    """True when `name` corrected the request (a field change or a merge into it) or accepted it:
    under four eyes that person is not the one who approves it."""
    return any(e.actor == name and (e.kind in ("field", "merge", "confirmed", "batch")
                                    or (e.kind == "state" and e.new in ("corrected", "accepted")))
               for e in store.events_of(request_id=rec.id))


def may_approve(store: Store, settings: Settings, rec: RequestRecord, account: Account) -> bool:
    """Whether the page offers this account the Approve button: its role, the state, four eyes."""
    return (account.may_approve and rec.state == "accepted"
            and not (settings.review.four_eyes and worked_on_by(store, rec, account.name)))


def approve(store: Store, settings: Settings, rec: RequestRecord, account: Account) -> RequestRecord:
    """Supervisor's approval; the *approved* mail goes to `confirmation_email` if one was asked for.

    Under four eyes (`[review] four_eyes`) the person who corrected or accepted the request cannot
    approve it: a second person looks at every certificate that goes out."""
    if not account.may_approve:
        raise ActionError("only a supervisor may approve a request", status=403)
    if rec.state != "accepted":
        raise ActionError("only an accepted request can be approved")
    if settings.review.four_eyes and worked_on_by(store, rec, account.name):
        raise ActionError("four eyes: you corrected or accepted this request, so another supervisor must "
                          "approve it", status=403)
    if senderauth.flagged(rec.problems) and not accepted_by_person(store, rec):
        # The approval mail carries personal data to `confirmation_email`: a person must have looked.
        raise ActionError("the sender or the confirmation address is not verified: a person must accept "
                          "the request before it can be approved")
    try:
        store.set_request_state(rec.id, "approved", actor=account.name, expected=("accepted",))
    except StateConflict as exc:
        raise ActionError("someone else changed this request; reload the page") from exc
    rec = store.get_request(rec.id)
    to = rec.request.confirmation_email
    sub = store.get_submission(rec.submission_id)
    if to and sub.channel == "web" and not proven_address(store, sub.id, to):
        # Typed into a public page: the address gets personal details only once it followed its link.
        store.add_event(submission_id=sub.id, request_id=rec.id, actor=account.name, kind="no_reply",
                        field="approved", new="the confirmation address never followed its link: no confirmation")
        to = None
    if to:
        _queue(store, settings, sub, rec, "approved", to=to, actor=account.name,
               decided_at=datetime.now(UTC).strftime("%B %-d, %Y"))
    return rec


def reject(store: Store, settings: Settings, rec: RequestRecord, account: Account, reason: str) -> RequestRecord:
    """Supervisor's rejection with a reason; the *rejected* reply goes to the requester."""
    if not account.may_approve:
        raise ActionError("only a supervisor may reject a request", status=403)
    reason = " ".join(reason.split())[:1000]
    if not reason:
        raise ActionError("a rejection needs a reason", status=400)
    if rec.state not in (*OPEN_STATES, "accepted"):
        raise ActionError(f"a request that is {rec.state.replace('_', ' ')} cannot be rejected")
    try:
        store.set_request_state(rec.id, "rejected", actor=account.name, expected=(*OPEN_STATES, "accepted"),
                                reason=reason)
    except StateConflict as exc:
        raise ActionError("someone else changed this request; reload the page") from exc
    rec = store.get_request(rec.id)
    sub = store.get_submission(rec.submission_id)
    _queue(store, settings, sub, rec, "rejected", to=requester_address(store, settings, sub, rec), actor=account.name,
           reason=reason)
    return rec


def not_a_request(store: Store, rec: RequestRecord, account: Account, reason: str = "") -> RequestRecord:
    """Correspondence or spam: out of the queue, no reply."""
    if rec.state not in OPEN_STATES:
        raise ActionError(f"a request that is {rec.state.replace('_', ' ')} cannot be set aside")
    try:
        store.set_request_state(rec.id, "not_a_request", actor=account.name, expected=OPEN_STATES,
                                reason=" ".join(reason.split())[:1000] or None)
    except StateConflict as exc:
        raise ActionError("someone else changed this request; reload the page") from exc
    return store.get_request(rec.id)


def merge(store: Store, rec: RequestRecord, other: RequestRecord, account: Account) -> RequestRecord:
    """Merge a duplicate into this request: its values fill this one's empty fields, it is set aside.

    Both keep their audit trails; the duplicate's trail says where it went.
    """
    if other.id == rec.id:
        raise ActionError("a request cannot be merged with itself", status=400)
    if rec.state not in (*OPEN_STATES, "accepted") or other.state not in OPEN_STATES:
        raise ActionError("only open requests can be merged")
    if other.id not in {d.id for d in store.possible_duplicates(rec.id)}:
        raise ActionError("the other request is not a possible duplicate of this one", status=400)
    mine, theirs = flat_values(rec.request), flat_values(other.request)
    fill = {p: v for p, v in theirs.items() if v and not mine.get(p)}
    if fill:
        request, problems = check({**mine, **fill})
        changes = [(p, None, audit_value(p, v)) for p, v in fill.items()]
        kept = [p for p in rec.problems_json() if p.get("code") in KEPT_CODES
                and p.get("field") not in fill]
        store.update_request(rec.id, request.model_dump(mode="json"),
                             kept + [p.model_dump(mode="json") for p in problems], changes,
                             actor=account.name, kind="merge")
    store.add_event(submission_id=rec.submission_id, request_id=rec.id, actor=account.name, kind="merged",
                    field="merged_from", new=other.reference)
    store.set_request_state(other.id, "not_a_request", actor=account.name, expected=OPEN_STATES,
                            reason=f"merged into {rec.reference}")
    return store.get_request(rec.id)
