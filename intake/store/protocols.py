"""What each consumer of the store uses of it, as narrow Protocols (as `intake.sources.common.StoreLike`
is for the sources).

A stage, the outbox sender or the answer handling is typed against the few methods it calls, not
the `Store` facade of every table group: what a consumer may touch is read here at a glance, and a
test may hand it anything with those methods. The real `Store` satisfies every one of them (mypy
checks it wherever a `Store` is passed, e.g. `intake.pipeline.Context`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from intake.store.conversation import AnswerLink, AnswerRecord, RequestUpdate
from intake.store.records import Incoming, OutboxItem, Reprocessed, RequestRecord, SubmissionRecord

if TYPE_CHECKING:  # the extraction's result type, named in annotations only
    from intake.extract import SubmissionResult


class EventStore(Protocol):
    """The audit trail, as every stage writes it (a `no_reply`, a note)."""

    def add_event(self, *, actor: str, kind: str, submission_id: int | None = ..., request_id: int | None = ...,
                  field: str | None = ..., old: str | None = ..., new: str | None = ...) -> int: ...


class OutboxStore(Protocol):
    """The outbox sender (`intake.pipeline.send`, the daemon's outbox loop) and the fax job follower
    (`intake.faxout`): the conditional moves of a reply from due to sent."""

    def due_replies(self, now: datetime | None = ..., limit: int = ...) -> list[OutboxItem]: ...

    def get_reply(self, outbox_id: int) -> OutboxItem: ...

    def mark_sending(self, outbox_id: int, now: datetime | None = ...) -> bool: ...

    def take_due(self, limit: int, now: datetime | None = ...) -> list[OutboxItem]: ...

    def mark_handed_over(self, outbox_id: int, now: datetime | None = ...) -> bool: ...

    def mark_sent(self, outbox_id: int, now: datetime | None = ...) -> bool: ...

    def mark_sent_many(self, outbox_ids: Sequence[int], now: datetime | None = ...) -> int: ...

    def mark_permanent(self, outbox_id: int, error: str) -> bool: ...

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: datetime) -> bool: ...

    def mark_fax_handed_over(self, outbox_id: int, transport: str, job: str | None, state: str | None,
                             now: datetime | None = ...) -> bool: ...

    def mark_fax_handing_over(self, outbox_id: int, transport: str, job: str | None,
                              now: datetime | None = ...) -> bool: ...

    def requeue_sending(self, older_than: datetime, now: datetime | None = ...) -> int: ...

    def fax_jobs_to_follow(self, transport: str = ..., limit: int = ...) -> list[OutboxItem]: ...

    def fax_job_failed(self, outbox_id: int, job: str, error: str, retry_at: datetime | None) -> bool: ...

    def set_fax_state(self, outbox_id: int, job: str, state: str) -> bool: ...


class ReplyStore(EventStore, Protocol):
    """The reply stage (`intake.pipeline.acknowledge`): what it reads of a submission and queues."""

    def get_submission(self, submission_id: int) -> SubmissionRecord: ...

    def get_request(self, request_id: int) -> RequestRecord: ...

    def requests_of(self, submission_id: int) -> list[RequestRecord]: ...

    def answered_by(self, submission_id: int) -> list[AnswerRecord]: ...

    def reply_decided(self, submission_id: int) -> bool: ...

    def replies_since(self, recipient: str, since: datetime) -> int: ...

    def queue_reply(self, submission_id: int, kind: str, channel: str, recipient: str, message: bytes, *,
                    request_id: int | None = ..., generation: int = ..., now: datetime | None = ...,
                    actor: str = ..., done: bool = ...) -> bool: ...

    def mark_done(self, submission_id: int, *, expected: Collection[str] = ..., actor: str = ...) -> None: ...


class ExtractStore(EventStore, Protocol):
    """The extract stage (`intake.pipeline.extract`, `intake.faxintake`) and the sweep: the moves of
    a submission from received to extracted (or to staff)."""

    def get_submission(self, submission_id: int) -> SubmissionRecord: ...

    def store_submission(self, inc: Incoming) -> tuple[int, bool]: ...

    def begin_attempt_loaded(self, submission_id: int) -> tuple[int, SubmissionRecord]: ...

    def submission_state(self, submission_id: int) -> str: ...

    def submissions_in(self, states: Collection[str], limit: int | None = ...) -> list[int]: ...

    def record_sender_auth(self, submission_id: int, verdict: Mapping[str, Any]) -> dict[str, Any]: ...

    def set_fax_sender(self, submission_id: int, number: str, how: str) -> bool: ...

    def mark_extracted(self, submission_id: int, result: SubmissionResult, *,
                       expected: Collection[str] = ..., actor: str = ...,
                       reason: str | None = ...,
                       sender_auth: Mapping[str, Any] | None = ...,
                       dumped: Mapping[str, Any] | None = ...) -> list[RequestRecord]: ...

    def mark_needs_review(self, submission_id: int, reason: str, *, expected: Collection[str] = ...,
                          actor: str = ...) -> None: ...

    def mark_done(self, submission_id: int, *, expected: Collection[str] = ..., actor: str = ...) -> None: ...

    def replace_extraction(self, submission_id: int, new: SubmissionResult, *,
                           summarize: Callable[[Mapping[str, Any]], str], actor: str = ...) -> Reprocessed: ...


class AnswerStore(EventStore, Protocol):
    """The answers to our replies (`intake.answers`): the thread they belong to and the merge."""

    def get_submission(self, submission_id: int) -> SubmissionRecord: ...

    def get_request(self, request_id: int) -> RequestRecord: ...

    def references_exist(self, references: Collection[str]) -> dict[str, int]: ...

    def replies_with_message_ids(self, message_ids: Sequence[str]) -> list[tuple[int, int | None]]: ...

    def request_ids_of(self, submission_id: int) -> list[int]: ...

    def replies_of(self, submission_id: int) -> list[OutboxItem]: ...

    def replies_of_request(self, request_id: int) -> list[OutboxItem]: ...

    def answers_to(self, request_id: int) -> list[AnswerRecord]: ...

    def record_answer(self, submission_id: int, result: SubmissionResult | None, links: Sequence[AnswerLink],
                      updates: Sequence[RequestUpdate], *, state: str, reason: str | None = ...,
                      actor: str = ...) -> None: ...


class PipelineStore(ExtractStore, ReplyStore, AnswerStore, OutboxStore, Protocol):
    """Everything the stages of one pass use together (`intake.pipeline.Context.store`)."""
