"""The reply stage and the one reply composer.

`render_reply` turns a submission and the views of its requests into the bytes of a reply (a mail
threaded to the sender's message, or a fax PDF); the pipeline's *received* / *information needed*
acknowledgement and the review page's replies about one request (`intake.web.review`) both use it.
`reply_stage` decides whether and where the acknowledgement goes (RFC 3834, sender trust, rate
limit) and queues it once: the outbox key makes a second queueing impossible.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from intake import senderauth
from intake.faxmail import gateway_of
from intake.faxreply import fax_reply, render_fax_pdf
from intake.online_replies import web_acknowledgement
from intake.pipeline.context import Context
from intake.replies import STAFF_ONLY_CODES, RequestView, render_mail_bytes, should_reply
from intake.settings import Settings
from intake.store.conversation import AnswerRecord
from intake.store.records import RequestRecord, StateConflict, SubmissionRecord
from intake.store.states import MAIL_CHANNELS, OPEN_STATES, Channel, ReplyChannel, RequestState, SubmissionState
from intake.wording import file_problem
from parsers.pii import mask_ssns

log = logging.getLogger("intake.pipeline")

_S = SubmissionState


# -- composing -----------------------------------------------------------------------------------


def view_of(rec: RequestRecord) -> RequestView:
    """A stored request as the reply templates show it (the record's typed model, not re-read)."""
    return RequestView.of(rec.reference, rec.request, rec.problems)


def form_attachment(kind: str, settings: Settings) -> list[tuple[str, bytes, str]]:
    """The current request form goes with every *incomplete* reply unless a link to it is configured
    (its bytes are rendered once per edition: `intake.form.render_form`)."""
    if kind != "incomplete" or settings.replies.form_url:
        return []
    from intake.form import editions, render_form  # noqa: PLC0415 - reportlab only when needed

    return [(f"coc-request-form-{editions().current.code}.pdf", render_form(), "application/pdf")]


def render_reply(settings: Settings, sub: SubmissionRecord, kind: str, views: Sequence[RequestView], *,
                 channel: str, to: str, attachments: Sequence[tuple[str, bytes, str]] = (),
                 **context: Any) -> bytes:
    """The bytes of one reply about `views`: a mail to `to`, threaded to the submission's own
    message when it was a mail, or a fax PDF to the number `to`."""
    common: dict[str, Any] = {"requests": list(views), "received_at": sub.received_at,
                              "form_url": settings.replies.form_url, "help_url": settings.replies.help_url,
                              "attachments": list(attachments), **context}
    if channel == ReplyChannel.FAX:
        return render_fax_pdf(kind, fax_number=to, **common)
    thread: dict[str, Any] = {}
    if sub.channel in MAIL_CHANNELS:
        meta = (sub.result or {}).get("meta") or {}
        thread = {"original_subject": str(meta.get("subject") or ""),
                  "in_reply_to": meta.get("message_id") or sub.message_id,
                  "references": list(meta.get("references") or [])}
    return render_mail_bytes(kind, to=to, from_address=settings.relay.from_address,
                             our_domain=settings.replies.our_domain, **thread, **common)


# -- deciding ------------------------------------------------------------------------------------


def trust_hold(settings: Settings, sub: SubmissionRecord, records: list[RequestRecord]) -> str | None:
    """Why no reply with request details may go out now (sender trust), or None.

    Chosen over a detail-free acknowledgement: a forged From would make even that a message to a
    stranger (backscatter) saying a request was filed in their name. After a person accepts the
    request, the review page's accept action sends the normal reply.
    """
    held = [r.reference for r in records if r.state in OPEN_STATES and senderauth.flagged(r.problems)]
    if held:
        codes = sorted({p.code for r in records for p in r.problems if p.code in senderauth.TRUST_CODES})
        return f"held for staff ({', '.join(codes)}: {', '.join(held)}); no reply with details until accepted"
    verdict = senderauth.Verdict.from_json(sub.sender_auth)
    if (settings.trust.flag_unverified and not records and sub.channel in MAIL_CHANNELS
            and verdict is not None and not verdict.verified):
        return f"sender not verified ({verdict.reason}); no reply until a person has looked"
    if (settings.trust.flag_unverified and not records and sub.channel in MAIL_CHANNELS and verdict is not None
            and (elsewhere := senderauth.reply_to_elsewhere(sub.raw, verdict))):
        return (f"{senderauth.REPLY_TO_ELSEWHERE}: the Reply-To {mask_ssns(elsewhere)} is not in the sender's "
                f"domain ({verdict.from_domain}); no reply until a person has looked")
    return None


def request_email(records: list[RequestRecord]) -> str | None:
    """An address written in the requests (a fax's only way back by mail)."""
    for rec in records:
        req = rec.request
        for address in (req.employer.contact_email if req.employer else None, req.worker.email,
                        req.confirmation_email):
            if address and "@" in address:
                return address
    return None


def _file_problems(sub: SubmissionRecord) -> list[dict[str, str]]:
    """The file-level problems as the sender reads them (`intake.wording.file_problem`): the
    stored messages name our parts and files and are for staff."""
    problems = list((sub.result or {}).get("problems") or [])
    if sub.reason and not problems:
        # The reason is for staff (a worker's exit code, a time limit): the sender learns what it means.
        problems = [{"code": "unreadable", "part": "body"}]
    mail = sub.channel in MAIL_CHANNELS
    said = [file_problem(str(p.get("code") or ""), str(p.get("part") or ""), mail=mail) for p in problems]
    return [{"message": m} for m in dict.fromkeys(said)]


def reply_stage(ctx: Context, submission_id: int, *, now: datetime | None = None) -> bool:
    """Queue the acknowledgement of one extracted submission, once; then the submission is done.

    The outbox key makes a second queueing impossible, so running this twice (after a crash) is
    harmless.
    """
    sub = ctx.store.get_submission(submission_id)
    if sub.state not in (_S.EXTRACTED, _S.NEEDS_REVIEW):
        return False
    links = ctx.store.answered_by(submission_id)
    if links:
        queued = answer_reply(ctx, sub, links, now=now)
        if sub.state == _S.EXTRACTED:
            with contextlib.suppress(StateConflict):
                ctx.store.mark_done(submission_id)
        return queued
    return reply_loaded(ctx, sub, ctx.store.requests_of(submission_id), now=now)


def reply_loaded(ctx: Context, sub: SubmissionRecord, records: list[RequestRecord], *,
                 now: datetime | None = None) -> bool:
    """The reply stage on a submission and its requests as the extract stage just made them (a
    fresh request, not an answer): nothing is read again."""
    finish = sub.state == _S.EXTRACTED and bool(records)
    queued = queue_acknowledgement(ctx, sub, now=now, records=records, done=finish)
    if finish and not queued:  # no reply (or queued before a crash): done all the same
        with contextlib.suppress(StateConflict):
            ctx.store.mark_done(sub.id)
    return queued


def queue_acknowledgement(ctx: Context, sub: SubmissionRecord, *, now: datetime | None = None,  # noqa: C901, PLR0912
                          generation: int = 0, actor: str = "replies", rate_limit: bool = True,
                          records: list[RequestRecord] | None = None, done: bool = False) -> bool:
    # One branch per way a reply may go (or why not), in the order they are decided: kept in one
    # place so the order of the RFC 3834, trust and rate-limit checks is read at a glance.
    """Render and queue the *received* or *incomplete* reply of a submission, by mail or by fax.

    `generation` > 0 is a deliberate further reply (an operator's reprocess); it skips the hourly
    per-sender limit (`rate_limit=False`) but never the RFC 3834 rules. `records`: the submission's
    requests when the caller has them (else they are read). `done`: the submission moves from
    `extracted` to `done` in the transaction that queues its reply.
    """
    store, settings = ctx.store, ctx.settings
    now = now or datetime.now(UTC)
    if records is None:
        records = store.requests_of(sub.id)
    complete = (bool(records) and all(r.state == RequestState.ACCEPTED for r in records)
                and not (sub.result or {}).get("problems"))
    kind = "received" if complete else "incomplete"
    views = [view_of(r) for r in records]
    reply = functools.partial(render_reply, settings, sub, kind, views, file_problems=_file_problems(sub),
                              attachments=form_attachment(kind, settings))
    queue = functools.partial(store.queue_reply, sub.id, kind, generation=generation, now=now, actor=actor,
                              done=done)
    queued = False
    if sub.channel in MAIL_CHANNELS and (gateway := gateway_of(sub.raw, settings.fax_mail)):
        _no_reply(ctx, sub, f"mail from the fax gateway {gateway}: a fax is answered by fax, never at the gateway",
                  actor)
    elif sub.channel in MAIL_CHANNELS:
        envelope = sub.sender if sub.channel != Channel.IMAP else None
        decision = should_reply(sub.raw, our_domain=settings.replies.our_domain, envelope_sender=envelope)
        limit = settings.replies.per_sender_per_hour
        if not decision.reply:
            _no_reply(ctx, sub, decision.reason, actor)
        elif hold := trust_hold(settings, sub, records):
            _no_reply(ctx, sub, hold, actor)
        elif rate_limit and store.replies_since(decision.address, now - timedelta(hours=1)) >= limit:
            _no_reply(ctx, sub, f"more than {limit} replies to this sender this hour", actor)
        else:
            queued = queue(ReplyChannel.EMAIL, decision.address,
                           reply(channel=ReplyChannel.EMAIL, to=decision.address))
    elif sub.channel == Channel.WEB:
        common = {"received_at": sub.received_at, "file_problems": _file_problems(sub),
                  "form_url": settings.replies.form_url, "help_url": settings.replies.help_url}
        queued, why = web_acknowledgement(store, settings, sub, records, common, now=now, generation=generation,
                                          actor=actor, rate_limit=rate_limit, done=done)
        if why:
            _no_reply(ctx, sub, why, actor)
    elif sub.sender:
        # The fax equivalent of replying to the sender: the number the fax came from, which learns
        # nothing it did not send (so a `confirmation_elsewhere` flag does not hold it). An email
        # address written in a fax is not verified: it gets request details only after a person
        # accepted the request (the review page's accept action).
        # An *information needed* fax ends with a return page per request (`intake.faxreply`).
        queued = queue(ReplyChannel.FAX, sub.sender,
                       fax_reply(kind, settings, records, fax_number=sub.sender, requests=views,
                                 received_at=sub.received_at, form_url=settings.replies.form_url,
                                 help_url=settings.replies.help_url, file_problems=_file_problems(sub)))
    elif hold := trust_hold(settings, sub, records):
        _no_reply(ctx, sub, hold, actor)
    elif not settings.trust.flag_unverified and (address := request_email(records)):
        queued = queue(ReplyChannel.EMAIL, address, reply(channel=ReplyChannel.EMAIL, to=address))
    else:
        _no_reply(ctx, sub, "no_reply_number: fax without a number to answer (no caller ID, sidecar, number in "
                            "the file name or header line); an email address written in a fax is not "
                            "verified, so the reply waits for a person to accept the request", actor)
    if queued:
        log.info("submission %d: %s reply queued", sub.id, kind)
    return queued


def answer_reply(ctx: Context, sub: SubmissionRecord, links: list[AnswerRecord], *,
                 now: datetime | None = None) -> bool:
    """Queue the one reply to an answer (`intake.answers`): *received* (complete) or what is still
    missing, composed like every other reply (`render_reply`; a fax by `fax_reply`, with a new
    return page for what is missing), dated by the day the request itself was received.

    Held answers get none until a person has looked: the sender may be a stranger, and a reply
    would tell them about someone else's request.
    """
    store, settings = ctx.store, ctx.settings
    now = now or datetime.now(UTC)
    merged = [link for link in links if link.outcome == "merged"]
    if not merged:
        _no_reply(ctx, sub, "an answer held for staff; no reply until a person has looked")
        return False
    records = [store.get_request(link.request_id) for link in merged]
    if sub.channel == Channel.FAX:
        if not sub.sender:
            _no_reply(ctx, sub, "no_reply_number: a faxed answer without a number to answer")
            return False
        to, channel = sub.sender, ReplyChannel.FAX
    else:
        decision = should_reply(sub.raw, our_domain=settings.replies.our_domain,
                                envelope_sender=sub.sender if sub.channel != Channel.IMAP else None)
        if not decision.reply:
            _no_reply(ctx, sub, decision.reason)
            return False
        to, channel = decision.address, ReplyChannel.EMAIL
    limit = settings.replies.per_sender_per_hour
    if store.replies_since(to, now - timedelta(hours=1)) >= limit:
        _no_reply(ctx, sub, f"more than {limit} replies to this sender this hour")
        return False
    kind = "received" if _answered_complete(records) else "incomplete"
    views = [view_of(r) for r in records]
    asked = store.get_submission(records[0].submission_id)  # "we received your request on" its day
    if channel == ReplyChannel.FAX:
        message = fax_reply(kind, settings, records, fax_number=to, requests=views, received_at=asked.received_at,
                            updated=True, answered=True, form_url=settings.replies.form_url,
                            help_url=settings.replies.help_url)
    else:
        message = render_reply(settings, sub, kind, views, channel=channel, to=to,
                               attachments=form_attachment(kind, settings), received_at=asked.received_at,
                               updated=True, answered=True)
    request_id = records[0].id if len(records) == 1 else None
    queued = store.queue_reply(sub.id, kind, channel, to, message, request_id=request_id, now=now)
    if queued:
        log.info("submission %d: %s reply to the answer queued (%s)", sub.id, kind, channel)
    return queued


def _answered_complete(records: list[RequestRecord]) -> bool:
    """Complete for the sender when nothing is missing: a request still held for staff for a reason
    of theirs alone (another sender's answer beside it) is acknowledged as received."""
    return all(r.state == RequestState.ACCEPTED or all(p.code in STAFF_ONLY_CODES for p in r.problems)
               for r in records)


def _no_reply(ctx: Context, sub: SubmissionRecord, reason: str, actor: str = "replies") -> None:
    ctx.store.add_event(submission_id=sub.id, actor=actor, kind="no_reply", new=reason)
    log.info("submission %d: no reply (%s)", sub.id, reason)


def needs_reply(ctx: Context, submission_id: int) -> bool:
    """True for a submission whose reply was never decided (a crash fell between the stages)."""
    return not ctx.store.reply_decided(submission_id)
