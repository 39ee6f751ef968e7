"""The sender check run again when staff open a request whose check could not finish.

The pipeline never waits for a dead resolver: a check that ran out of `[trust] dns_budget_seconds`
(or met a DNS error) is recorded as `temperror`, and the request goes to staff as
`sender_not_verified`. When a person opens it, the DNS may be back: the check runs again (with the
same budget, so the page waits at most that long, and a failure cached within the last minute
answers at once), the new verdict is recorded with its event, and the request's
`sender_not_verified` problem follows it: gone once the sender verifies, reworded otherwise. The
request stays with staff either way; a person still accepts it.
"""

from __future__ import annotations

import logging

from intake import senderauth
from intake.model import Problem
from intake.settings import Settings
from intake.store import Store
from intake.store.states import OPEN_STATES
from intake.store.store import StateConflict, SubmissionRecord
from intake.validate import problem_help

log = logging.getLogger("intake.web.trustcheck")


def recheck_due(sub: SubmissionRecord) -> bool:
    """True when the recorded verdict is a temporary error of a mail channel."""
    verdict = senderauth.Verdict.from_json(sub.sender_auth)
    return (verdict is not None and sub.channel in senderauth.MAIL_CHANNELS and not verdict.verified
            and verdict.dmarc == "temperror")


def recheck_sender(store: Store, settings: Settings, sub: SubmissionRecord) -> SubmissionRecord:
    """Run a `temperror` sender check again; returns the submission as it is now."""
    if not recheck_due(sub):
        return sub
    session = None
    if sub.channel in ("smtp", "lmtp") and sub.client_ip:
        session = senderauth.SmtpSession(client_ip=sub.client_ip, helo=sub.helo, mail_from=sub.sender)
    verdict = senderauth.verdict_for(sub.channel, sub.raw, session, settings.trust)
    if verdict.dmarc == "temperror":
        return sub  # DNS still down (or the failure is cached): nothing new to record
    old = senderauth.Verdict.from_json(sub.sender_auth)
    store.record_sender_auth(sub.id, verdict.as_json())
    log.info("submission %d: sender checked again: %s", sub.id, verdict.summary)
    if settings.trust.flag_unverified:
        for rec in store.requests_of(sub.id):
            if rec.state not in OPEN_STATES:
                continue
            kept = [p for p in rec.problems if p.code != senderauth.SENDER_NOT_VERIFIED]
            fresh = [p for p in senderauth.trust_problems(verdict, rec.request, sub.channel, problem_help)
                     if isinstance(p, Problem) and p.code == senderauth.SENDER_NOT_VERIFIED]
            try:
                store.update_request(rec.id, rec.request, [*fresh, *kept],
                                     [("sender_auth", old.summary if old else None, verdict.summary)],
                                     actor="pipeline", kind="sender_auth", expected_states=OPEN_STATES)
            except StateConflict:
                continue  # someone decided it meanwhile: their decision stands
    return store.get_submission(sub.id)
