"""The stages that turn a stored submission into requests and replies.

Each stage gets the same things (the shared `Context` and one id), reads what it needs from the
store and moves rows to their next state in one transaction. No stage keeps state of its own in the
process, so the same functions serve the in-process dispatcher of `coc-intake run` and, later,
workers on several machines; a restart simply runs again whatever the store says is unfinished.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from intake import answers, metrics, senderauth
from intake.faxintake import fax_by_mail, fax_number
from intake.faxmail import gateway_of, read_fax_mail
from intake.faxout import send_fax
from intake.isolation import ExtractionPool
from intake.model import CertificateRequest, Problem
from intake.online_replies import web_acknowledgement
from intake.outbox import Delivery, RetrySchedule, next_attempt, send_smtp, write_eml
from intake.replies import RequestView, render_fax_pdf, render_mail, should_reply
from intake.settings import Settings
from intake.store import Store
from intake.store.store import OutboxItem, RequestRecord, StateConflict, SubmissionRecord
from intake.validate import problem_help
from parsers.pii import mask_ssns
from parsers.types import Limits

log = logging.getLogger("intake.pipeline")

MAIL_CHANNELS = ("imap", "smtp", "lmtp")


@dataclass
class Context:
    """What every stage is handed: the store, the settings and the extraction pool."""

    store: Store
    settings: Settings
    pool: ExtractionPool

    @property
    def limits(self) -> Limits:
        return Limits(**self.settings.limits.model_dump())


# -- extract ---------------------------------------------------------------------------------


def extract_stage(ctx: Context, submission_id: int) -> bool:
    """Extract one received submission; False if it was not waiting (done elsewhere already)."""
    store = ctx.store
    try:
        attempts = store.begin_attempt(submission_id)
    except StateConflict:
        return False
    sub = store.get_submission(submission_id)
    max_attempts = ctx.settings.pipeline.max_attempts
    if attempts > max_attempts:
        store.mark_needs_review(submission_id, f"extraction was started {max_attempts} times without finishing "
                                               f"(the worker crashed or the machine stopped)")
        log.warning("submission %d: given to staff after %d attempts", submission_id, max_attempts)
        return True
    # The sender check waits on DNS, the extraction on a child process: both at once. The check
    # is bounded by `[trust] dns_budget_seconds`, so a dead resolver costs at most that per mail.
    checking = _SENDER_CHECKS.submit(sender_verdict, ctx, sub)
    if sub.channel in MAIL_CHANNELS and (by_mail := read_fax_mail(sub.raw, ctx.settings.fax_mail)):
        return fax_by_mail(ctx, sub, checking.result(), by_mail, _process_fax)
    # An answer to one of our replies completes the request it answers (`intake.answers`).
    thread = answers.thread_of(ctx, sub)
    if thread is not None:
        checking.result()  # `answers.handle` reads the verdict it records
        return answers.handle(ctx, sub, thread)
    channel = "email" if sub.channel in MAIL_CHANNELS else sub.channel  # "fax" or "web"
    started = time.monotonic()
    outcome = ctx.pool.extract(sub.raw, channel=channel, filename=sub.fax_filename, limits=ctx.limits)
    metrics.observe_extraction(outcome.result, time.monotonic() - started)
    verdict = checking.result()
    thread = answers.thread_by_body(ctx, sub, outcome.result)
    if thread is not None:
        return answers.handle(ctx, sub, thread)
    try:
        if outcome.result is None:
            store.mark_needs_review(submission_id, outcome.reason or "extraction failed")
            log.warning("submission %d: %s", submission_id, outcome.reason)
        else:
            result = outcome.result
            if ctx.settings.trust.flag_unverified:
                flag_sender_trust(result.requests, verdict, sub)
            if sub.channel == "fax":
                fax_number(ctx, sub, result)
            reason = "; ".join(p.message for p in result.problems) or None
            made = store.mark_extracted(submission_id, result, result.requests, reason=reason)
            log.info("submission %d: %d request(s) %s", submission_id, len(made),
                     " ".join(f"{r.reference}:{r.state}" for r in made))
    except StateConflict:
        return False
    return True


# Threads for the sender checks of the submissions being extracted (at most one per stage thread).
_SENDER_CHECKS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sender-check")


def _process_fax(ctx: Context, submission_id: int) -> None:
    """Extract and answer the fax submission made from a fax gateway's mail, right away."""
    if extract_stage(ctx, submission_id):
        reply_stage(ctx, submission_id)


def sender_verdict(ctx: Context, sub: SubmissionRecord) -> senderauth.Verdict:
    """Check and record who sent the submission (DKIM/SPF/DMARC or our server's
    Authentication-Results); here, after the `250`, so that storing never waits on DNS."""
    session = None
    if sub.channel in ("smtp", "lmtp") and sub.client_ip:
        session = senderauth.SmtpSession(client_ip=sub.client_ip, helo=sub.helo, mail_from=sub.sender)
    verdict = senderauth.verdict_for(sub.channel, sub.raw, session, ctx.settings.trust)
    ctx.store.record_sender_auth(sub.id, verdict.as_json())
    log.info("submission %d: %s", sub.id, verdict.summary)
    return verdict


def flag_sender_trust(requests: list[Any], verdict: senderauth.Verdict, sub: SubmissionRecord) -> None:
    """Add `sender_not_verified` / `confirmation_elsewhere` / `reply_to_elsewhere` to each request;
    flagged ones go to staff."""
    reply_to = senderauth.reply_to_elsewhere(sub.raw, verdict) if sub.channel in MAIL_CHANNELS else None
    for item in requests:
        problems = senderauth.trust_problems(verdict, item.request, sub.channel, problem_help, reply_to)
        if problems:
            item.problems.extend(problems)
            item.status = "needs_review"


def reflag_sender_trust(ctx: Context, sub: SubmissionRecord, requests: list[Any]) -> None:
    """A new extraction of a stored submission (reprocess) keeps the sender-trust flags of the
    recorded verdict. Submissions from before verdicts were kept (none recorded) are left as they
    were: they were answered then, and flagging them now would only move them back to staff."""
    verdict = senderauth.Verdict.from_json(sub.sender_auth)
    if ctx.settings.trust.flag_unverified and verdict is not None:
        flag_sender_trust(requests, verdict, sub)


# -- reply -----------------------------------------------------------------------------------

# Request states in which nobody has decided yet: a sender-trust flag there holds detailed replies.
OPEN_STATES = ("received", "extracted", "needs_review", "corrected")


def trust_hold(settings: Settings, sub: SubmissionRecord, records: list[RequestRecord]) -> str | None:
    """Why no reply with request details may go out now (sender trust), or None.

    Chosen over a detail-free acknowledgement: a forged From would make even that a message to a
    stranger (backscatter) saying a request was filed in their name. After a person accepts the
    request, the review page's accept action sends the normal reply.
    """
    held = [r.reference for r in records if r.state in OPEN_STATES and senderauth.flagged(r.problems)]
    if held:
        codes = sorted({str(p.get("code")) for r in records for p in r.problems
                        if isinstance(p, dict) and p.get("code") in senderauth.TRUST_CODES})
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


def _view(rec: RequestRecord) -> RequestView:
    request = CertificateRequest.from_stored(rec.fields)
    problems = [Problem.model_validate(p) for p in rec.problems]
    return RequestView.of(rec.reference, request, problems)


def _request_email(records: list[RequestRecord]) -> str | None:
    for rec in records:
        req = CertificateRequest.from_stored(rec.fields)
        for address in (req.employer.contact_email if req.employer else None, req.worker.email,
                        req.confirmation_email):
            if address and "@" in address:
                return address
    return None


def _file_problems(sub: SubmissionRecord) -> list[dict[str, str]]:
    problems = list((sub.result or {}).get("problems") or [])
    if sub.reason and not problems:
        # The reason is for staff (a worker's exit code, a time limit): the sender learns what it means.
        problems = [{"message": "We could not read your message automatically; a specialist will look at it."}]
    return [{"message": _INTERNAL.sub("", str(p.get("message", "")))} for p in problems]


# An exception's name in a part problem ("(UnidentifiedImageError)"): ours, not the sender's business.
_INTERNAL = re.compile(r"\s*\((?:[A-Z][A-Za-z]*(?:Error|Exception|Warning)|exit code -?\d+)\)")


def reply_stage(ctx: Context, submission_id: int, *, now: datetime | None = None) -> bool:
    """Queue the acknowledgement of one extracted submission, once; then the submission is done.

    The outbox key makes a second queueing impossible, so running this twice (after a crash) is
    harmless.
    """
    sub = ctx.store.get_submission(submission_id)
    if sub.state not in ("extracted", "needs_review"):
        return False
    links = ctx.store.answered_by(submission_id)
    if links:
        queued = answers.reply(ctx, sub, links, now=now)
        if sub.state == "extracted":
            with contextlib.suppress(StateConflict):
                ctx.store.mark_done(submission_id)
        return queued
    queued = queue_acknowledgement(ctx, sub, now=now)
    if sub.state == "extracted" and ctx.store.requests_of(submission_id):
        with contextlib.suppress(StateConflict):
            ctx.store.mark_done(submission_id)
    return queued


def queue_acknowledgement(ctx: Context, sub: SubmissionRecord, *, now: datetime | None = None,
                          generation: int = 0, actor: str = "replies", rate_limit: bool = True) -> bool:
    """Render and queue the *received* or *incomplete* reply of a submission, by mail or by fax.

    `generation` > 0 is a deliberate further reply (an operator's reprocess); it skips the hourly
    per-sender limit (`rate_limit=False`) but never the RFC 3834 rules.
    """
    store, settings = ctx.store, ctx.settings
    now = now or datetime.now(UTC)
    records = store.requests_of(sub.id)
    views = [_view(r) for r in records]
    complete = bool(records) and all(r.state == "accepted" for r in records) and not (sub.result or {}).get("problems")
    kind = "received" if complete else "incomplete"
    common: dict[str, Any] = {"requests": views, "received_at": sub.received_at,
                              "file_problems": _file_problems(sub), "form_url": settings.replies.form_url,
                              "help_url": settings.replies.help_url}
    queue = functools.partial(store.queue_reply, sub.id, kind, generation=generation, now=now, actor=actor)
    queued = False
    if sub.channel in MAIL_CHANNELS and (gateway := gateway_of(sub.raw, settings.fax_mail)):
        _no_reply(ctx, sub, f"mail from the fax gateway {gateway}: a fax is answered by fax, never at the gateway",
                  actor)
    elif sub.channel in MAIL_CHANNELS:
        envelope = sub.sender if sub.channel != "imap" else None
        decision = should_reply(sub.raw, our_domain=settings.replies.our_domain, envelope_sender=envelope)
        limit = settings.replies.per_sender_per_hour
        if not decision.reply:
            _no_reply(ctx, sub, decision.reason, actor)
        elif hold := trust_hold(settings, sub, records):
            _no_reply(ctx, sub, hold, actor)
        elif rate_limit and store.replies_since(decision.address, now - timedelta(hours=1)) >= limit:
            _no_reply(ctx, sub, f"more than {limit} replies to this sender this hour", actor)
        else:
            meta = (sub.result or {}).get("meta") or {}
            msg = render_mail(kind, to=decision.address, from_address=settings.relay.from_address,
                              our_domain=settings.replies.our_domain,
                              original_subject=str(meta.get("subject") or ""),
                              in_reply_to=meta.get("message_id") or sub.message_id,
                              references=list(meta.get("references") or []),
                              attachments=_form_attachment(kind, settings), **common)
            queued = queue("email", decision.address, msg.as_bytes())
    elif sub.channel == "web":
        queued, why = web_acknowledgement(store, settings, sub, records, common, now=now, generation=generation,
                                          actor=actor, rate_limit=rate_limit)
        if why:
            _no_reply(ctx, sub, why, actor)
    elif sub.sender:
        # The fax equivalent of replying to the sender: the number the fax came from, which learns
        # nothing it did not send (so a `confirmation_elsewhere` flag does not hold it). An email
        # address written in a fax is not verified: it gets request details only after a person
        # accepted the request (the review page's accept action).
        queued = queue("fax", sub.sender, render_fax_pdf(kind, fax_number=sub.sender,
                                                          attachments=_form_attachment(kind, settings), **common))
    elif hold := trust_hold(settings, sub, records):
        _no_reply(ctx, sub, hold, actor)
    elif not settings.trust.flag_unverified and (address := _request_email(records)):
        msg = render_mail(kind, to=address, from_address=settings.relay.from_address,
                          our_domain=settings.replies.our_domain,
                          attachments=_form_attachment(kind, settings), **common)
        queued = queue("email", address, msg.as_bytes())
    else:
        _no_reply(ctx, sub, "no_reply_number: fax without a number to answer (no caller ID, sidecar, number in "
                            "the file name or header line); an email address written in a fax is not "
                            "verified, so the reply waits for a person to accept the request", actor)
    if queued:
        log.info("submission %d: %s reply queued", sub.id, kind)
    return queued


def _form_attachment(kind: str, settings: Settings) -> list[tuple[str, bytes, str]]:
    """The current request form goes with every *incomplete* reply unless a link to it is configured."""
    if kind != "incomplete" or settings.replies.form_url:
        return []
    from intake.form import editions, render_form

    return [(f"coc-request-form-{editions().current.code}.pdf", render_form(), "application/pdf")]


def _no_reply(ctx: Context, sub: SubmissionRecord, reason: str, actor: str = "replies") -> None:
    ctx.store.add_event(submission_id=sub.id, actor=actor, kind="no_reply", new=reason)
    log.info("submission %d: no reply (%s)", sub.id, reason)


def needs_reply(ctx: Context, submission_id: int) -> bool:
    """True for a submission whose reply was never decided (a crash fell between the stages)."""
    if ctx.store.replies_of(submission_id):
        return False
    return not any(e.kind == "no_reply" for e in ctx.store.events_of(submission_id=submission_id))


# -- send ------------------------------------------------------------------------------------


def send_stage(ctx: Context, item: OutboxItem, *, now: datetime | None = None) -> Delivery | None:
    """Hand one due reply over; `sending` is committed first so that only one sender has it."""
    store, settings = ctx.store, ctx.settings
    if not store.mark_sending(item.id):
        return None
    if item.channel == "fax":
        return _send_fax(ctx, item, now=now)
    if settings.relay.host:
        delivery = send_smtp(settings.relay, item.recipient, item.message,
                             handed_over=lambda: store.mark_handed_over(item.id))
    else:
        delivery = write_eml(settings.mail_sent, item.id, item.recipient, item.message)
    now = now or datetime.now(UTC)
    metrics.count_reply(delivery)
    if delivery.ok:
        store.mark_sent(item.id, now)
        log.info("reply %d (%s, submission %d) sent", item.id, item.kind, item.submission_id)
    else:
        _failed(store, item, delivery, settings.relay, now)
    return delivery


def _failed(store: Store, item: OutboxItem, delivery: Delivery, schedule: RetrySchedule, now: datetime) -> None:
    """A reply that did not leave: kept for staff when the failure is permanent or the `schedule`
    gives up, else tried again at its next attempt (mail and fax alike, each on its own schedule)."""
    if delivery.permanent:
        store.mark_permanent(item.id, delivery.error)
        log.warning("reply %d: permanent failure: %s", item.id, delivery.error)
        return
    when = next_attempt(schedule, item.attempts + 1, item.created_at, now)
    if when is None:
        store.mark_permanent(item.id, f"gave up after {schedule.retry_for_seconds:g} s: {delivery.error}")
    else:
        store.mark_retry(item.id, delivery.error, when)
        log.info("reply %d: will retry at %s (%s)", item.id, when.isoformat(timespec="seconds"), delivery.error)


def _send_fax(ctx: Context, item: OutboxItem, *, now: datetime | None = None) -> Delivery:
    """A fax reply through `[fax_out] transport`; the transport and job are kept in the outbox, and
    failures are retried on the fax settings' own schedule (`[fax_out] retry_for_seconds`)."""
    store, out = ctx.store, ctx.settings.fax_out
    sent = send_fax(ctx.settings, item)
    delivery = sent.delivery
    now = now or datetime.now(UTC)
    metrics.count_reply(delivery)
    if delivery.ok:
        store.mark_fax_handed_over(item.id, sent.transport, sent.job, sent.state, now)
        log.info("reply %d (fax, submission %d) handed to %s%s", item.id, item.submission_id, sent.transport,
                 f" as job {sent.job}" if sent.job else "")
    else:
        _failed(store, item, delivery, out, now)
    return delivery
