"""`coc-intake reprocess`: run stored submissions through today's parsers again.

After a parser improves, the requests it read badly can be read again from the raw documents the
store keeps. The old extraction stays in the audit trail (masked), requests staff have already
touched are left exactly as they are, and nobody gets a second acknowledgement unless the operator
asks for one (`--send-replies`, a new generation of the reply, so the outbox's once-only key holds).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from intake.faxmail import gateway_of
from intake.isolation import ExtractionPool
from intake.pipeline import Context, queue_acknowledgement, reflag_sender_trust
from intake.progress import bar as progress_bar
from intake.settings import Settings
from intake.store import Store
from intake.store.states import MAIL_CHANNELS, SUBMISSION_PENDING
from intake.store.store import Reprocessed, dig
from intake.validate import mask_ssn

log = logging.getLogger("intake.reprocess")

ACTOR = "reprocess"


def summarize(fields: Mapping[str, Any]) -> str:
    """One line for the audit trail: who, which employer, where and when; the SSN masked.

    Enough for staff to see what the old extraction said; never the full SSN (or any other
    number of the worker but its last four digits).
    """
    names = [dig(fields, "worker", k) for k in ("first_name", "middle_name", "last_name")]
    name = " ".join(str(n) for n in names if n) or "(no name)"
    ssn = mask_ssn(dig(fields, "worker", "ssn")) or "no SSN"
    employer = dig(fields, "employer", "name") or "-"
    country = dig(fields, "assignment", "country") or "?"
    start = dig(fields, "assignment", "start_date") or "?"
    end = dig(fields, "assignment", "end_date") or "?"
    kind = fields.get("request_type") or "?"
    return f"{name}, SSN {ssn}, {kind}; employer {employer}; {country} {start} to {end}"


@dataclass
class Outcome:
    """What reprocessing did to one submission."""

    submission_id: int
    changes: Reprocessed | None = None
    error: str | None = None  # no new result (timeout, crash, not found): nothing was changed
    skipped: str | None = None
    reply_queued: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"submission {self.submission_id}: skipped ({self.skipped})"
        if self.error or self.changes is None:
            return f"submission {self.submission_id}: FAILED, nothing changed ({self.error})"
        c = self.changes
        text = (
            f"submission {self.submission_id}: {len(c.replaced)} replaced, {len(c.added)} added, "
            f"{len(c.kept)} kept as staff left them"
        )
        if c.kept:
            text += f" (request ids {', '.join(map(str, c.kept))})"
        if c.unmatched:
            text += f", {len(c.unmatched)} not found again and kept (ids {', '.join(map(str, c.unmatched))})"
        if self.reply_queued:
            text += "; new reply queued"
        return text


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]


def queue_new_reply(ctx: Context, submission_id: int, *, now: datetime | None = None) -> bool:
    """Queue the acknowledgement again as a new generation (the operator asked for it).

    The next generation number lets exactly one more reply through the outbox's unique key; the
    hourly per-sender limit does not apply to an operator's explicit request, the RFC 3834 rules (no
    replies to lists, bounces, auto-replies) still do.
    """
    store = ctx.store
    generation = 1 + max((r.generation for r in store.replies_of(submission_id) if r.request_id is None), default=-1)
    return queue_acknowledgement(ctx, store.get_submission(submission_id), now=now, generation=generation,
                                 actor=ACTOR, rate_limit=False)


def reprocess_one(ctx: Context, submission_id: int, *, send_replies: bool = False) -> Outcome:
    """Extract one stored submission again and replace what staff have not touched."""
    store = ctx.store
    try:
        sub = store.get_submission(submission_id)
    except LookupError:
        return Outcome(submission_id, error="no such submission")
    if sub.state in SUBMISSION_PENDING:
        # The pipeline is still on it (extracting, or queueing its reply): its result is today's.
        return Outcome(submission_id, skipped=f"{sub.state}: the pipeline is still on it")
    if sub.channel in MAIL_CHANNELS and gateway_of(sub.raw, ctx.settings.fax_mail):
        return Outcome(submission_id, skipped="a fax by mail: reprocess the fax submission it became")
    if store.answered_by(submission_id):
        # An answer to our reply was merged into (or held beside) the request it answers; read again
        # alone it would become a request of its own (`intake.answers`).
        return Outcome(submission_id, skipped="an answer to another request (the conversation)")
    channel = "email" if sub.channel in MAIL_CHANNELS else sub.channel  # "fax" or "web"
    result = ctx.pool.extract(sub.raw, channel=channel, filename=sub.fax_filename, limits=ctx.limits)
    if result.result is None:
        reason = result.reason or "extraction failed"
        store.add_event(submission_id=submission_id, actor=ACTOR, kind="reprocess_failed", new=reason)
        return Outcome(submission_id, error=reason)
    new = result.result
    reflag_sender_trust(ctx, sub, new.requests)  # a new reading must not drop a sender-trust flag
    changes = store.replace_extraction(submission_id, new, summarize=summarize, actor=ACTOR)
    outcome = Outcome(submission_id, changes=changes)
    if send_replies:
        outcome.reply_queued = queue_new_reply(ctx, submission_id)
    log.debug("%s", outcome.line())
    return outcome


def reprocess(
    ctx: Context,
    submission_ids: Sequence[int],
    *,
    send_replies: bool = False,
    progress: bool = False,
    out: TextIO | None = None,
) -> Summary:
    """Reprocess several submissions, as many at a time as the pool has workers; a line per submission."""
    out = out or sys.stdout  # looked up now, not at import (a test's captured stdout may be gone)
    summary = Summary()
    bar: Any = None
    if progress:
        bar = progress_bar(total=len(submission_ids), unit="submission")
    workers = max(1, min(ctx.pool.workers, len(submission_ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reprocess") as executor:
        futures = {executor.submit(reprocess_one, ctx, sid, send_replies=send_replies): sid for sid in submission_ids}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001  (a store error on one submission must not stop the others)
                # Type only: a validation error's text may quote a request's values (an SSN).
                log.error("submission %d: reprocess failed: %s", futures[future], type(exc).__name__)
                outcome = Outcome(futures[future], error=f"{type(exc).__name__}")
            summary.outcomes.append(outcome)
            if bar is not None:
                bar.write(outcome.line(), file=out)
                bar.update(1)
            else:
                print(outcome.line(), file=out, flush=True)
    if bar is not None:
        bar.close()
    summary.outcomes.sort(key=lambda o: o.submission_id)
    return summary


def select_ids(
    store: Store,
    ids: Iterable[int],
    *,
    states: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> list[int]:
    """The named submissions, else those in `states` and/or received in [since, until)."""
    named = sorted(set(ids))
    if named:
        return named
    return store.submission_ids(states=states or None, since=since, until=until)


def make_context(settings: Settings, store: Store) -> Context:
    pool = ExtractionPool(
        settings.pipeline.worker_count(),
        timeout=settings.pipeline.submission_timeout_seconds,
        memory_mb=settings.pipeline.memory_mb,
    )
    return Context(store, settings, pool)
