"""Every channel and state the store knows, as `StrEnum`s, and the sets that group them.

One place, so that a stage, the review page and the sweep cannot disagree on what "open" or "a
mail" means. The values are exactly the strings stored in the tables (a `StrEnum` member *is* its
string: `RequestState.ACCEPTED == "accepted"`), so no data moves; the tables' CHECK constraints are
built from the same enums (`intake.store.models`).
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a submission reached us."""

    IMAP = "imap"
    SMTP = "smtp"
    LMTP = "lmtp"
    FAX = "fax"


class SubmissionState(StrEnum):
    """received -> extracted | needs_review | failed -> done (see `intake.pipeline`)."""

    RECEIVED = "received"
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"
    DONE = "done"


class RequestState(StrEnum):
    """A request from extraction through staff review to the certificate system."""

    RECEIVED = "received"
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    CORRECTED = "corrected"
    ACCEPTED = "accepted"
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_A_REQUEST = "not_a_request"


class OutboxState(StrEnum):
    """queued -> sending -> sent, or failed (due again) or permanent_failure (for staff)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    PERMANENT_FAILURE = "permanent_failure"


class ReplyKind(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReplyChannel(StrEnum):
    EMAIL = "email"
    FAX = "fax"


class AnswerMatch(StrEnum):
    """How an incoming message was found to answer one of our replies (migration 0005)."""

    MESSAGE_ID = "message_id"
    SUBJECT = "subject"
    BODY = "body"
    RETURN_PAGE = "return_page"


class AnswerOutcome(StrEnum):
    MERGED = "merged"
    HELD = "held"
    UNCHANGED = "unchanged"


# -- the sets that group them -------------------------------------------------------------------

# Channels whose submission is an RFC 5322 message (answered by mail, headers to parse).
MAIL_CHANNELS: frozenset[Channel] = frozenset({Channel.IMAP, Channel.SMTP, Channel.LMTP})
# Submissions the pipeline has still to extract or answer (the sweep's "unfinished").
SUBMISSION_PENDING: frozenset[SubmissionState] = frozenset({SubmissionState.RECEIVED, SubmissionState.EXTRACTED})
# Submissions not finished in any sense (`coc-intake status`: the oldest waiting one).
SUBMISSION_UNFINISHED: frozenset[SubmissionState] = frozenset(
    {SubmissionState.RECEIVED, SubmissionState.EXTRACTED, SubmissionState.NEEDS_REVIEW, SubmissionState.FAILED})
# Submissions staff may close or enter a request for by hand.
SUBMISSION_FOR_STAFF: frozenset[SubmissionState] = frozenset({SubmissionState.NEEDS_REVIEW, SubmissionState.FAILED})
# Request states in which nobody has decided yet (a sender-trust flag there holds detailed replies;
# staff may correct, accept, reject, merge).
OPEN_STATES: frozenset[RequestState] = frozenset(
    {RequestState.RECEIVED, RequestState.EXTRACTED, RequestState.NEEDS_REVIEW, RequestState.CORRECTED})
# Open, or accepted by the gateway or a person but not yet decided by a supervisor.
DECIDABLE_STATES: frozenset[RequestState] = OPEN_STATES | {RequestState.ACCEPTED}
# Request states a reprocess may overwrite (nobody has corrected, approved or rejected them).
REPROCESSABLE_STATES: frozenset[RequestState] = frozenset({RequestState.ACCEPTED, RequestState.NEEDS_REVIEW})
# Outbox rows a sender may take (due now or later).
OUTBOX_DUE: frozenset[OutboxState] = frozenset({OutboxState.QUEUED, OutboxState.FAILED})
# Outbox rows not finished (`sending` included: a sender has it).
OUTBOX_UNFINISHED: frozenset[OutboxState] = OUTBOX_DUE | {OutboxState.SENDING}

# The tuples of stored values, in declaration order (CHECK constraints, status listings).
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
SUBMISSION_STATES: tuple[str, ...] = tuple(s.value for s in SubmissionState)
REQUEST_STATES: tuple[str, ...] = tuple(s.value for s in RequestState)
OUTBOX_STATES: tuple[str, ...] = tuple(s.value for s in OutboxState)
REPLY_KINDS: tuple[str, ...] = tuple(k.value for k in ReplyKind)
REPLY_CHANNELS: tuple[str, ...] = tuple(c.value for c in ReplyChannel)
ANSWER_MATCHES: tuple[str, ...] = tuple(m.value for m in AnswerMatch)
ANSWER_OUTCOMES: tuple[str, ...] = tuple(o.value for o in AnswerOutcome)


def sorted_values(states: frozenset[str] | set[str]) -> list[str]:
    """A set of states as a sorted list of plain strings (SQL `IN`, messages): stable and readable."""
    return sorted(str(s) for s in states)
