"""What to do with one submission, and what is unfinished: the one body of both dispatchers.

The in-process threads of `coc-intake run` (`intake.daemon`) and the procrastinate jobs of
`coc-intake worker` (`intake.jobs`) both call `process_submission` for a submission and
`unfinished` for their sweep, so neither imports the other.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from intake.faxout import follow_fax_jobs
from intake.pipeline.acknowledge import needs_reply, reply_loaded, reply_stage
from intake.pipeline.context import Context
from intake.pipeline.extract import Extracted, extract_loaded
from intake.store.records import StateConflict
from intake.store.states import SUBMISSION_PENDING, SubmissionState

log = logging.getLogger("intake.pipeline")

_S = SubmissionState


def process_submission(ctx: Context, submission_id: int) -> bool:
    """Run every stage due for one submission; True if the reply stage ran (the outbox may have work).

    One pass: the extract stage hands the reply stage the submission and the requests it made, so
    a fresh mail is loaded (and its raw message decrypted) once. Other outcomes (an answer to our
    reply, a fax by mail, a submission for staff) are read back from the store.
    """
    store = ctx.store
    # Most submissions handed here are new: the attempt is counted (a conditional move) without
    # asking for the state first; False means it was not `received`.
    try:
        done = extract_loaded(ctx, submission_id)
    except StateConflict:
        return False  # another worker recorded it first
    if isinstance(done, Extracted):
        reply_loaded(ctx, done.submission, done.requests)
        return True
    state = store.submission_state(submission_id)
    if done is True and state == _S.DONE:
        return True  # a fax by mail: the fax submission it became was answered in its extraction
    if state == _S.EXTRACTED or (state == _S.NEEDS_REVIEW and needs_reply(ctx, submission_id)):
        reply_stage(ctx, submission_id)
        return True
    return False


def unfinished(ctx: Context) -> list[int]:
    """Submissions the store says are due: not yet extracted or answered, or sent to staff
    without their reply decided (a crash fell between the stages)."""
    store = ctx.store
    due = store.submissions_in(SUBMISSION_PENDING)
    due += [sid for sid in store.submissions_in((_S.NEEDS_REVIEW,)) if needs_reply(ctx, sid)]
    return due


def unfinished_replies(ctx: Context, *, stale_sending_seconds: float, limit: int = 1000) -> list[int]:
    """Replies due now, after settling those a stopped sender left `sending` and following the fax
    server's jobs (a failed HylaFAX job becomes a due reply)."""
    store = ctx.store
    now = datetime.now(UTC)
    requeued = store.requeue_sending(now - timedelta(seconds=stale_sending_seconds), now)
    if requeued:
        log.warning("%d reply(ies) left sending by a stopped sender are due again", requeued)
    follow_fax_jobs(store, ctx.settings.fax_out, now)
    return [item.id for item in store.due_replies(now, limit=limit)]
