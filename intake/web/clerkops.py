"""What a clerk does beside correcting: confirm a value, see the reply an action will send, claim a
request, see who else has it open. Plain functions over the store (the routes are `intake.web.clerk`).

Claims are events (`claimed`, field `assignee`), so who took a request and when is in its audit trail
like every other act; who else has a request open is `intake.web.presence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from intake.faxmail import gateway_of
from intake.pipeline.acknowledge import view_of
from intake.replies import render_text
from intake.settings import Settings
from intake.store import Store
from intake.store.claims import assignees
from intake.store.models import Event
from intake.store.store import RequestRecord, SubmissionRecord
from intake.web import review
from intake.web.review import ActionError
from intake.web.users import Account
from parsers.pii import mask_ssns

CONFIRMABLE = ("low_confidence", "conflict")


def confirm_value(store: Store, rec: RequestRecord, path: str, account: Account) -> RequestRecord:
    """A person says the value read is right: its doubt (low confidence, a conflicting reading) is
    dropped and a `confirmed` event names who and when, without the value being typed again."""
    if rec.state not in (*review.OPEN_STATES, "accepted"):
        raise ActionError(f"a request that is {rec.state.replace('_', ' ')} can no longer be changed")
    values = review.flat_values(rec.request)
    if path not in values:
        raise ActionError("no such field", status=400)
    if not values[path]:
        raise ActionError("an empty field cannot be confirmed: type its value", status=400)
    if path == review.SSN_PATH and not account.sees_full_ssn:
        raise ActionError("a reviewer sees the SSN masked: a supervisor confirms it", status=403)
    problems = [p for p in rec.problems if not (p.field == path and p.code in CONFIRMABLE)]
    shown = review.audit_value(path, values[path])
    return store.update_request(rec.id, rec.fields, problems, [(path, shown, shown)], actor=account.name,
                                kind="confirmed")


# -- the reply an action sends ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyPreview:
    """What an action would send: `transport` "email", "fax" or "" (nothing goes out), to whom, the
    text, and how far the recipient is to be trusted."""

    action: str
    kind: str
    transport: str
    recipient: str
    text: str
    trust: str
    note: str = ""


def _text(settings: Settings, sub: SubmissionRecord, rec: RequestRecord, kind: str, **context: Any) -> str:
    """The reply's text as `review._queue` renders it (the same template and context)."""
    ctx: dict[str, Any] = {"requests": [view_of(rec)], "r": view_of(rec),
                           "received_at": sub.received_at.strftime("%B %-d, %Y at %H:%M %Z").strip(),
                           "updated": False, "answered": False, "form_url": settings.replies.form_url,
                           "help_url": settings.replies.help_url, "file_problems": [], **context}
    return render_text(kind, **ctx)


def _trust(sub: SubmissionRecord, transport: str, recipient_from: str) -> str:
    if transport == "fax":
        return ("the caller ID of the fax line" if sub.sender and sub.channel == "fax"
                else "the fax gateway's caller number")
    verdict = review.sender_verdict(sub)
    if recipient_from == "sender":
        return verdict.summary if verdict else "sender not checked"
    return f"an address in the request ({recipient_from})"


def _route(sub: SubmissionRecord, to: str | None) -> tuple[str, str]:
    """Where `review._queue` sends a reply with this `to`: (transport, recipient)."""
    if to:
        return "email", to
    if sub.channel == "fax" and sub.sender:
        return "fax", sub.sender
    return "", ""


def previews(store: Store, settings: Settings, rec: RequestRecord, sub: SubmissionRecord,
             account: Account) -> dict[str, ReplyPreview]:
    """The reply behind each decision the page offers (accept, approve, reject), as it would go now."""
    out: dict[str, ReplyPreview] = {}
    requester = review.requester_address(store, settings, sub, rec)
    source = "sender" if sub.channel in review.MAIL_CHANNELS and not gateway_of(sub.raw, settings.fax_mail) \
        else "typed or confirmed by staff"
    if rec.state in review.OPEN_STATES:
        due, updated = review.received_due(store, sub, rec)
        transport, recipient = _route(sub, requester)
        if due and transport:
            out["accept"] = ReplyPreview("accept", "received", transport, recipient,
                                         _text(settings, sub, rec, "received", updated=updated),
                                         _trust(sub, transport, source))
        else:
            out["accept"] = ReplyPreview("accept", "received", "", "", "", "",
                                         "no reply: the requester had the acknowledgement already" if not due
                                         else "no reply: there is no verified address or fax number to send it to")
    if account.may_approve and rec.state == "accepted":
        to = rec.request.confirmation_email
        if to:
            out["approve"] = ReplyPreview("approve", "approved", "email", to,
                                          _text(settings, sub, rec, "approved",
                                                decided_at=datetime.now(UTC).strftime("%B %-d, %Y")),
                                          "the confirmation address of the request, " +
                                          ("checked by the person who accepted it"
                                           if review.accepted_by_person(store, rec)
                                           else "accepted by the gateway (the sender was verified)"))
        else:
            out["approve"] = ReplyPreview("approve", "approved", "", "", "", "",
                                          "no mail: the request asks for no approval confirmation")
    if account.may_approve and rec.state in (*review.OPEN_STATES, "accepted"):
        transport, recipient = _route(sub, requester)
        out["reject"] = ReplyPreview("reject", "rejected", transport, recipient,
                                     _text(settings, sub, rec, "rejected", reason="(the reason you type)")
                                     if transport else "", _trust(sub, transport, source) if transport else "",
                                     "" if transport else "no reply: there is no verified address or fax number")
    if not account.sees_full_ssn:
        out = {k: ReplyPreview(**{**v.__dict__, "text": mask_ssns(v.text)}) for k, v in out.items()}
    return out


# -- claims ---------------------------------------------------------------------------------


def last_ssn_typers(store: Store, ids: list[int]) -> dict[int, str]:
    """Who changed the SSN of each of these requests last (requests nobody changed it on are left
    out), in one query: the review page asks it of every possible duplicate."""
    q = (select(Event.request_id, Event.actor)
         .where(Event.field == review.SSN_PATH, Event.request_id.in_(ids)).order_by(Event.id))
    out: dict[int, str] = {}
    with store._read() as s:
        for rid, actor in s.execute(q):
            if rid is not None:
                out[int(rid)] = str(actor)
    return out


def claim(store: Store, rec: RequestRecord, account: Account, take: bool) -> None:
    """Assign the request to this clerk (`take`) or to nobody; recorded in the audit trail."""
    current = assignees(store, [rec.id]).get(rec.id)
    new = account.name if take else None
    if current == new:
        return
    store.add_event(submission_id=rec.submission_id, request_id=rec.id, actor=account.name, kind="claimed",
                    field="assignee", old=current, new=new)
