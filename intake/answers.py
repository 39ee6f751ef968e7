"""The pipeline's side of the conversation: an answer is extracted, merged and answered once.

`extract_stage` asks `thread_of` whether a stored mail answers one of our replies (by its headers,
before anything is read) or, after the usual extraction, `thread_by_body` (our reference in the
new text of the body). Such a message goes through `handle` instead of becoming a request: read
again as an answer (only its new text), checked for its sender, merged into the request(s) it
answers in one transaction, and `reply` queues one reply about them: *received* when complete,
else only what is still missing. Rules in `intake.conversation`.

A fax answers through our return page (`intake.returnpage`): the extraction reads its boxes and
names the request its code gives (`meta["return_references"]`); the same number may complete the
request, and the one reply goes back by fax, with a new return page for what is still missing.
"""

from __future__ import annotations

import logging
import time
from email import message_from_bytes
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

from intake import answer_merge, metrics
from intake import conversation as conv
from intake.faxintake import fax_number
from intake.model import Problem
from intake.replies import should_reply
from intake.store.conversation import AnswerLink, RequestUpdate
from intake.store.states import MAIL_CHANNELS
from intake.store.store import RequestRecord, StateConflict, SubmissionRecord

if TYPE_CHECKING:
    from intake.extract import SubmissionResult
    from intake.pipeline import Context

log = logging.getLogger("intake.answers")


def thread_of(ctx: Context, sub: SubmissionRecord) -> conv.Thread | None:
    """The request(s) a stored mail answers, from its headers alone (In-Reply-To, References, Subject)."""
    if sub.channel not in MAIL_CHANNELS:
        return None
    headers = conv.read_headers(sub.raw)
    thread = conv.find_thread(_ThreadStore(ctx), headers, prefix=ctx.settings.replies.reference_prefix)
    # The RFC 3834 test only for a mail that threads to us: a fresh request (most mail) skips it
    # here, and the reply stage makes it once.
    return thread if thread is not None and _may_answer(ctx, sub) else None


def thread_by_body(ctx: Context, sub: SubmissionRecord, result: SubmissionResult | None) -> conv.Thread | None:
    """The request a mail names by its reference in the new text of its body (a fresh mail), or
    that a fax's return page names (`intake.returnpage`: its QR code)."""
    meta = ((result.meta or {}) if result is not None else {})
    if sub.channel == "fax":
        returned = [str(r) for r in meta.get("return_references") or []]
        if not returned:
            # No return page read (its QR and printed code lost, or a letter faxed back): our
            # reference in the page's text names the request; the same-number rule still decides.
            texts = [p.text for p in (result.parts if result is not None else []) if p.text]
            found_refs = conv.references_in_ocr(texts, prefix=ctx.settings.replies.reference_prefix)
            if not found_refs:
                return None
            thread = conv.find_thread(_ThreadStore(ctx), conv.Headers([], "", None),
                                      prefix=ctx.settings.replies.reference_prefix, body_references=found_refs)
            return thread  # matched_by "body": the page's text is a fax's body
        found = ctx.store.references_exist(returned)
        if len(found) != len(set(returned)):
            return None  # a page names a request we do not have: it goes its own way, to staff
        thread = conv.find_thread(_ThreadStore(ctx), conv.Headers([], "", None),
                                  prefix=ctx.settings.replies.reference_prefix, body_references=returned)
        return conv.Thread(thread.origin, thread.request_ids, "return_page") if thread is not None else None
    refs = list(meta.get("body_references") or [])
    if not refs or sub.channel not in MAIL_CHANNELS or not _may_answer(ctx, sub):
        return None
    return conv.find_thread(_ThreadStore(ctx), conv.Headers([], "", None),
                            prefix=ctx.settings.replies.reference_prefix, body_references=refs)


def _may_answer(ctx: Context, sub: SubmissionRecord) -> bool:
    """An out-of-office note, a bounce or a list post threaded to our reply is no answer (RFC 3834):
    it goes its own way, to staff, unanswered, as before."""
    return should_reply(sub.raw, our_domain=ctx.settings.replies.our_domain,
                        envelope_sender=sub.sender if sub.channel != "imap" else None).reply


class _ThreadStore:
    """The store as `find_thread` reads it: a reply to an answer threads to the answered requests."""

    def __init__(self, ctx: Context) -> None:
        self.store = ctx.store

    def references_exist(self, refs: list[str]) -> dict[str, int]:
        return self.store.references_exist(refs)

    def replies_with_message_ids(self, ids: list[str]) -> list[tuple[int, int | None]]:
        return self.store.replies_with_message_ids(ids)

    def request_ids_of(self, submission_id: int) -> list[int]:
        return self.store.request_ids_of(submission_id) or [a.request_id for a in self.store.answered_by(submission_id)
                                                             if a.outcome == "merged"]

    def get_request(self, request_id: int) -> RequestRecord:
        return self.store.get_request(request_id)


def _plain_text(message: bytes) -> str:
    try:
        msg = message_from_bytes(message, policy=default_policy)
        body = msg.get_body(preferencelist=("plain",))
        content = body.get_content() if body is not None else ""
        return content if isinstance(content, str) else ""
    except Exception:  # noqa: BLE001  (our own message: should not happen, and then there is nothing to guard)
        return ""


def our_texts(ctx: Context, thread: conv.Thread) -> list[str]:
    """The texts of every mail reply we sent in this conversation (never to be read back)."""
    store = ctx.store
    items = list(store.replies_of(thread.origin))
    for rid in thread.request_ids:
        for link in store.answers_to(rid):
            items.extend(store.replies_of(link.submission_id))
        items.extend(store.replies_of_request(rid))
    seen: set[int] = set()
    texts = []
    for item in items:
        if item.channel == "email" and item.id not in seen:
            seen.add(item.id)
            texts.append(_plain_text(item.message))
    return [t for t in texts if t]


def handle(ctx: Context, sub: SubmissionRecord, thread: conv.Thread, outcome: Any = None) -> bool:
    """Extract `sub` as an answer to `thread` and record the outcome; False if someone else did.

    A faxed return page comes with its `outcome` already read (its boxes are all it says; there is
    no quote to strip), and its number to answer is settled first, as for any fax.
    """
    store, settings = ctx.store, ctx.settings
    origin = store.get_submission(thread.origin)
    targets = [store.get_request(i) for i in thread.request_ids]
    if outcome is None:
        channel = "email" if sub.channel in MAIL_CHANNELS else "fax"
        started = time.monotonic()
        outcome = ctx.pool.extract(sub.raw, channel=channel, filename=sub.fax_filename, limits=ctx.limits,
                                   answer_to=our_texts(ctx, thread))
        metrics.observe_extraction(outcome.result, time.monotonic() - started)
    if sub.channel == "fax" and outcome.result is not None:
        fax_number(ctx, sub, outcome.result)
    sub = store.get_submission(sub.id)  # with the sender verdict (and a fax's number) just recorded
    refs = ", ".join(t.reference for t in targets)
    try:
        if outcome.result is None:
            reason = f"an answer to {refs} could not be read ({outcome.reason}); held for staff"
            store.record_answer(sub.id, None, [AnswerLink(t.id, thread.matched_by, "held", reason) for t in targets],
                                [], state="needs_review", reason=reason)
            return True
        result = outcome.result
        why = conv.sender_check(origin, sub, require_verified=settings.trust.flag_unverified)
        if why is not None:
            _hold_other_sender(ctx, sub, thread, targets, result, why)
            return True
        open_targets = [t for t in targets if t.state in conv.OPEN_FOR_ANSWERS]
        closed = [t for t in targets if t not in open_targets]
        if not open_targets:
            states = ", ".join(sorted({t.state for t in targets}))
            reason = (f"{conv.ANSWER_TO_CLOSED_REQUEST}: an answer to {refs}, which "
                      f"{'is' if len(targets) == 1 else 'are'} already {states}; nothing was changed, a person decides")
            store.record_answer(sub.id, result, [AnswerLink(t.id, thread.matched_by, "unchanged", reason)
                                                 for t in targets], [], state="needs_review", reason=reason)
            log.info("submission %d: answer to closed request(s) %s held for staff", sub.id, refs)
            return True
        answer_refs = list((result.meta or {}).get("answer_refs") or []) or _return_page_refs(result)
        items = [r.model_dump(mode="json") for r in result.requests]
        values = [(answer_refs[i] if i < len(answer_refs) else None,
                   answer_merge.answer_values(item, f"answer {sub.id}")) for i, item in enumerate(items)]
        placed, unplaced = answer_merge.assign(values, open_targets, {t.id: t.reference for t in open_targets})
        # A mail's new text, without its quote and our lines, says what the sender wrote; a faxed page
        # may carry our own printed text (a return page's "what we read"): never read as a confirmation.
        lines = _new_lines(result) if sub.channel in MAIL_CHANNELS else []
        updates: list[RequestUpdate] = []
        links: list[AnswerLink] = []
        for t in open_targets:
            confirmed = answer_merge.confirmations(t, lines, placed.get(t.id, []))
            given = answer_merge.without_confirming_lines(placed.get(t.id, []), confirmed.values())
            merged = answer_merge.merge_answer(t, given, where=f"submission {sub.id}", confirmed_lines=confirmed)
            updates.append(RequestUpdate(t.id, merged.fields, merged.problems, merged.provenance, merged.confidence,
                                         merged.state, merged.changes))
            summary = (f"{len(merged.added)} value(s) added"
                       + (f", {len(merged.conflicts)} conflict(s)" if merged.conflicts else "")
                       + f"; now {merged.state}")
            links.append(AnswerLink(t.id, thread.matched_by, "merged", summary))
        for t in closed:
            links.append(AnswerLink(t.id, thread.matched_by, "unchanged",
                                    f"{conv.ANSWER_TO_CLOSED_REQUEST}: already {t.state}; nothing changed"))
        state, note = "extracted", None
        if unplaced:
            state = "needs_review"
            note = (f"an answer to {refs} also holds values for a worker none of them names "
                      f"({len(unplaced)} group(s)); a person places them")
        store.record_answer(sub.id, result, links, updates, state=state, reason=note)
        log.info("submission %d: answer to %s merged (%s)", sub.id, refs,
                 "; ".join(f"{u.request_id}:{u.state}" for u in updates))
        return True
    except StateConflict:
        return False


def _new_lines(result: SubmissionResult) -> list[str]:
    """The lines of the answer's new text (the body without the quote and our own lines, as the
    extraction read it), where a sender confirms in words what we asked them to confirm."""
    out: list[str] = []
    for part in result.parts:
        if part.name.startswith(("body", "forwarded")) and part.text:
            out.extend(line for line in part.text.splitlines() if line.strip())
    return out[:500]


def _return_page_refs(result: SubmissionResult) -> list[str | None]:
    """For each request read from a fax, the reference of the return page its values came from."""
    out: list[str | None] = []
    for item in result.requests:
        labels = {p.label for p in item.provenance.values() if p.label and p.label.startswith("return page ")}
        refs = {label.split()[2] for label in labels}
        out.append(refs.pop() if len(refs) == 1 else None)
    return out


def _hold_other_sender(ctx: Context, sub: SubmissionRecord, thread: conv.Thread, targets: list[RequestRecord],
                       result: SubmissionResult, why: str) -> None:
    """Attach the answer to the request(s), change no value, and put it before staff."""
    refs = ", ".join(t.reference for t in targets)
    reason = f"{conv.ANSWER_FROM_OTHER_SENDER}: an answer to {refs}: {why}; held for staff, nothing merged"
    updates = []
    problem = Problem(field=None, code=conv.ANSWER_FROM_OTHER_SENDER,
                      message=f"An answer to this request came from another sender ({why}); it was not merged. "
                              f"See submission {sub.id}.").model_dump()
    for t in targets:
        if t.state in conv.OPEN_FOR_ANSWERS:
            problems = [*t.problems_json(), problem]
            updates.append(RequestUpdate(t.id, t.fields, problems, dict(t.provenance), dict(t.confidence),
                                         t.state))
    ctx.store.record_answer(sub.id, result, [AnswerLink(t.id, thread.matched_by, "held", reason) for t in targets],
                            updates, state="needs_review", reason=reason)
    log.info("submission %d: answer to %s held (%s)", sub.id, refs, conv.ANSWER_FROM_OTHER_SENDER)


def conversation_of(store: Any, rec: RequestRecord) -> list[dict[str, Any]]:
    """The whole conversation of a request, oldest first, for the review page: the message it was
    read from, every reply we sent about it, every answer (merged, held or left unchanged) with
    where it came from, and our replies to those answers."""
    rows: list[dict[str, Any]] = []
    origin = store.get_submission(rec.submission_id)

    def replies(submission_id: int, request_id: int | None) -> None:
        for o in store.replies_of(submission_id):
            if o.request_id in (None, request_id):
                rows.append({"at": o.sent_at or o.created_at, "who": "we", "what": f"reply: {o.kind}",
                             "detail": f"{o.channel} to {o.recipient} ({o.state})", "submission": None})

    rows.append({"at": origin.received_at, "who": origin.sender or "unknown sender", "what": "request received",
                 "detail": f"{origin.channel}", "submission": origin.id})
    replies(origin.id, rec.id)
    for link in store.answers_to(rec.id):
        sub = store.get_submission(link.submission_id)
        rows.append({"at": sub.received_at, "who": sub.sender or "unknown sender", "what": f"answer: {link.outcome}",
                     "detail": f"found by {link.matched_by.replace('_', '-')}" + (f"; {link.reason}" if link.reason
                                                                                   else ""),
                     "submission": sub.id})
        replies(sub.id, rec.id)
    rows.sort(key=lambda r: r["at"])
    return rows
