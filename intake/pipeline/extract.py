"""The extract stage: one received submission, read once, becomes requests (or goes to staff).

The stage loads the submission (one decryption of its raw message) in the same transaction that
counts the attempt, checks the sender while the extraction runs in a child process, and records
the result in one more transaction. It returns what it made (`Extracted`), so the reply stage that
follows in the same pass works from it instead of reloading and re-parsing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from intake import answers, metrics, senderauth
from intake.faxintake import fax_by_mail, fax_number
from intake.faxmail import read_fax_mail
from intake.pipeline.acknowledge import reply_loaded, reply_stage
from intake.pipeline.context import Context
from intake.store.records import RequestRecord, StateConflict, SubmissionRecord
from intake.store.states import MAIL_CHANNELS, Channel, RequestState, SubmissionState
from intake.store.submissions import kept_verdict
from intake.validate import problem_help

log = logging.getLogger("intake.pipeline")

# Threads for the sender checks of the submissions being extracted (at most one per stage thread).
_SENDER_CHECKS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sender-check")


@dataclass(frozen=True)
class Extracted:
    """What the extract stage made of a submission, for the reply stage of the same pass."""

    submission: SubmissionRecord  # as it now is in the store (state, result, sender verdict)
    requests: list[RequestRecord]


def extract_stage(ctx: Context, submission_id: int) -> bool:
    """Extract one received submission; False if it was not waiting (done elsewhere already)."""
    try:
        return extract_loaded(ctx, submission_id) is not False
    except StateConflict:
        return False


def extract_loaded(ctx: Context, submission_id: int) -> Extracted | bool:  # noqa: PLR0911 - one per outcome
    """The stage itself. Returns `Extracted` for a submission read as requests of its own (the
    common case), True when it went elsewhere (to staff, as an answer, as a fax by mail: the reply
    stage then reads the store), False when it was not waiting. Raises `StateConflict` when
    another worker recorded it meanwhile."""
    store = ctx.store
    try:
        attempts, sub = store.begin_attempt_loaded(submission_id)
    except StateConflict:
        return False
    max_attempts = ctx.settings.pipeline.max_attempts
    if attempts > max_attempts:
        store.mark_needs_review(submission_id, f"extraction was started {max_attempts} times without finishing "
                                               f"(the worker crashed or the machine stopped)")
        log.warning("submission %d: given to staff after %d attempts", submission_id, max_attempts)
        return True
    # The sender check waits on DNS, the extraction on a child process: both at once. The check
    # is bounded by `[trust] dns_budget_seconds`, so a dead resolver costs at most that per mail.
    # The verdict is kept with the extraction's result (`mark_extracted`), in its transaction; the
    # other outcomes record it first (`recorded`).
    checking = _SENDER_CHECKS.submit(sender_verdict, ctx, sub, record=False)

    def recorded() -> senderauth.Verdict:
        verdict, data = checking.result()
        store.record_sender_auth(submission_id, data)
        return verdict

    if sub.channel in MAIL_CHANNELS and (by_mail := read_fax_mail(sub.raw, ctx.settings.fax_mail)):
        return fax_by_mail(ctx, sub, recorded(), by_mail, _process_fax)
    # An answer to one of our replies completes the request it answers (`intake.answers`).
    thread = answers.thread_of(ctx, sub)
    if thread is not None:
        recorded()  # `answers.handle` reads the verdict it records
        return answers.handle(ctx, sub, thread)
    channel = "email" if sub.channel in MAIL_CHANNELS else str(sub.channel)  # "fax" or "web"
    started = time.monotonic()
    outcome = ctx.pool.extract(sub.raw, channel=channel, filename=sub.fax_filename, limits=ctx.limits)
    metrics.observe_extraction(outcome.result, time.monotonic() - started)
    verdict, verdict_json = checking.result()
    sub = dataclasses.replace(sub, sender_auth=verdict_json)
    thread = answers.thread_by_body(ctx, sub, outcome.result)
    if thread is not None:  # a fresh mail naming our reference, or a faxed return page (read already)
        recorded()
        return answers.handle(ctx, sub, thread, outcome if sub.channel == Channel.FAX else None)
    if outcome.result is None:
        recorded()
        store.mark_needs_review(submission_id, outcome.reason or "extraction failed")
        log.warning("submission %d: %s", submission_id, outcome.reason)
        return True
    result = outcome.result
    if ctx.settings.trust.flag_unverified:
        flag_sender_trust(result.requests, verdict, sub)
    if sub.channel == Channel.FAX:
        fax_number(ctx, sub, result)
        # The number may have been found just now; the verdict is not written yet (see below).
        sub = dataclasses.replace(store.get_submission(submission_id), sender_auth=verdict_json)
    reason = "; ".join(p.message for p in result.problems) or None
    stored = result.model_dump(mode="json")
    made = store.mark_extracted(submission_id, result, reason=reason, sender_auth=verdict_json, dumped=stored)
    log.info("submission %d: %d request(s) %s", submission_id, len(made),
             " ".join(f"{r.reference}:{r.state}" for r in made))
    state = SubmissionState.EXTRACTED if made else SubmissionState.NEEDS_REVIEW
    return Extracted(dataclasses.replace(sub, state=state, result=stored,
                                         reason=reason or (None if made else "no request found in the submission")),
                     made)


def _process_fax(ctx: Context, submission_id: int) -> None:
    """Extract and answer the fax submission made from a fax gateway's mail, right away."""
    done = extract_loaded(ctx, submission_id)
    if isinstance(done, Extracted):
        reply_loaded(ctx, done.submission, done.requests)
    elif done:
        reply_stage(ctx, submission_id)


def sender_verdict(ctx: Context, sub: SubmissionRecord, *,
                   record: bool = True) -> tuple[senderauth.Verdict, dict[str, Any]]:
    """Check and record who sent the submission (DKIM/SPF/DMARC or our server's
    Authentication-Results); here, after the `250`, so that storing never waits on DNS. Returns the
    verdict and the JSON the store keeps of it (`record=False`: not written yet; the caller hands
    it to `record_sender_auth` or `mark_extracted`)."""
    session = None
    if sub.channel in (Channel.SMTP, Channel.LMTP) and sub.client_ip:
        session = senderauth.SmtpSession(client_ip=sub.client_ip, helo=sub.helo, mail_from=sub.sender)
    verdict = senderauth.verdict_for(sub.channel, sub.raw, session, ctx.settings.trust)
    kept = ctx.store.record_sender_auth(sub.id, verdict.as_json()) if record else kept_verdict(verdict.as_json())
    log.info("submission %d: %s", sub.id, verdict.summary)
    return verdict, kept


def flag_sender_trust(requests: list[Any], verdict: senderauth.Verdict, sub: SubmissionRecord) -> None:
    """Add `sender_not_verified` / `confirmation_elsewhere` / `reply_to_elsewhere` to each request;
    flagged ones go to staff."""
    reply_to = senderauth.reply_to_elsewhere(sub.raw, verdict) if sub.channel in MAIL_CHANNELS else None
    for item in requests:
        problems = senderauth.trust_problems(verdict, item.request, sub.channel, problem_help, reply_to)
        if problems:
            item.problems.extend(problems)
            item.status = RequestState.NEEDS_REVIEW


def reflag_sender_trust(ctx: Context, sub: SubmissionRecord, requests: list[Any]) -> None:
    """A new extraction of a stored submission (reprocess) keeps the sender-trust flags of the
    recorded verdict. Submissions from before verdicts were kept (none recorded) are left as they
    were: they were answered then, and flagging them now would only move them back to staff."""
    verdict = senderauth.Verdict.from_json(sub.sender_auth)
    if ctx.settings.trust.flag_unverified and verdict is not None:
        flag_sender_trust(requests, verdict, sub)
