"""The pipeline's fax steps: a fax that came by mail becomes a fax submission, and a fax's number
to answer is settled before its reply is decided.

Kept out of `intake.pipeline` (which calls these) so that module stays about its stages; nothing
here imports the pipeline (the derived fax submission is processed through the callback it passes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from intake import senderauth
from intake.faxmail import FaxMail, tsi_from_text, written_numbers
from intake.model import Problem
from intake.store import Incoming
from intake.store.store import SubmissionRecord
from intake.validate import problem_help
from parsers.pii import mask_ssns

if TYPE_CHECKING:
    from intake.pipeline import Context

__all__ = ["NO_REPLY_NUMBER", "fax_by_mail", "fax_number"]

log = logging.getLogger("intake.fax")

NO_REPLY_NUMBER = "no_reply_number"


def fax_by_mail(ctx: Context, sub: SubmissionRecord, verdict: senderauth.Verdict, fax: FaxMail,
                process: Callable[[Context, int], object]) -> bool:
    """Turn a fax gateway's mail into a fax submission (channel `fax`, the caller's number as its
    sender), processed at once by `process`; the mail itself is done and never answered.

    The gateway's mail is checked like any mail: an unverified one claiming to come from the fax
    gateway is not believed (anyone can write that From and a number), so it goes to staff with no
    reply to anyone. A gateway mail without a PDF or TIFF goes to staff too.
    """
    store = ctx.store
    # `[trust] flag_unverified = false` says every sender is trusted by other means (a closed relay).
    if not verdict.verified and ctx.settings.trust.flag_unverified:
        reason = (f"a mail claiming to come from the fax gateway {fax.gateway}, but its sender is not verified "
                  f"({verdict.reason}): not taken as a fax; no reply")
        store.add_event(submission_id=sub.id, actor="pipeline", kind="no_reply", new=mask_ssns(reason))
        store.mark_needs_review(sub.id, reason)
        log.warning("submission %d: unverified mail from fax gateway %s", sub.id, fax.gateway)
        return True
    if fax.data is None:
        reason = f"a mail from the fax gateway {fax.gateway} without a PDF or TIFF fax attached; no reply"
        store.add_event(submission_id=sub.id, actor="pipeline", kind="no_reply", new=reason)
        store.mark_needs_review(sub.id, reason)
        return True
    received = sub.received_at if sub.received_at.tzinfo else sub.received_at.replace(tzinfo=UTC)
    fax_id, created = store.store_submission(Incoming(
        channel="fax", raw=fax.data, sender=fax.number, received_at=received,
        fax_filename=fax.filename or None))
    if created:
        how = (f"caller ID {fax.number} from the {fax.number_from} of the fax gateway's mail"
               if fax.number else "the fax gateway's mail named no caller ID")
        store.add_event(submission_id=fax_id, actor="pipeline", kind="caller_id", field="sender",
                        new=mask_ssns(f"{how}; received by mail from {fax.gateway} (submission {sub.id}, "
                                      f"{verdict.reason})")[:1000])
    store.add_event(submission_id=sub.id, actor="pipeline", kind="no_reply",
                    new=f"a fax by mail from the fax gateway {fax.gateway}: taken in as fax submission {fax_id}, "
                        f"answered by fax to the caller, never to the gateway")
    store.mark_done(sub.id, expected=("received",))
    log.info("submission %d: fax by mail from %s -> fax submission %d%s, caller %s", sub.id, fax.gateway,
             fax_id, "" if created else " (already stored)", fax.number or "unknown")
    if created:
        process(ctx, fax_id)
    return True


def fax_number(ctx: Context, sub: SubmissionRecord, result: Any) -> None:
    """Settle the number a fax is answered at, before its reply is decided.

    A caller ID, sidecar or file name number came with the submission; failing those, the TSI in
    the sending machine's header line, read by OCR. A number written on the page (a cover page's
    "Fax:") is shown to staff and never used unconfirmed. No number: each request gets the problem
    `no_reply_number` and goes to staff.
    """
    text = next((p.text for p in result.parts if p.text), "")
    number = sub.sender
    tsi = tsi_from_text(text) if number is None else None
    if tsi and ctx.store.set_fax_sender(sub.id, tsi, "the TSI in the fax's header line, read by OCR"):
        number = tsi
    written = [n for n in written_numbers(text) if n != number]
    if written:
        ctx.store.add_event(submission_id=sub.id, actor="pipeline", kind="written_fax_number",
                            new=f"written on the fax (not used without confirmation): {', '.join(written)}")
    if number is None:
        unused = f" A number written on it ({', '.join(written)}) is not used unconfirmed." if written else ""
        for item in result.requests:
            item.problems.append(Problem(
                field=None, code=NO_REPLY_NUMBER,
                message="No fax number to answer: the fax came with no caller ID, sidecar or number in its file "
                        "name, and no number was read in its header line."
                        + unused,
                help=problem_help(NO_REPLY_NUMBER)))
            item.status = "needs_review"
