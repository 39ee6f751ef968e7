"""The store's side of the conversation: replies found by their Message-ID, answers linked to requests.

A mixin of `Store` (it uses its transactions and sealing), kept apart so that `store.py` does not
grow further. An answer is recorded in one transaction: the answering submission's own extraction,
its link to each request it answers, the merged fields of those requests with one event per value,
and the state moves; a crash before the commit leaves the answer `received`, to be read again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.core import aad
from intake.store.models import ANSWER_MATCHES, ANSWER_OUTCOMES, Answer, Event, Outbox, Request, SubmissionPart
from intake.store.records import jsonable, search_columns

if TYPE_CHECKING:  # the extraction's result type, named in annotations only
    from intake.extract import SubmissionResult

@dataclass(frozen=True)
class AnswerLink:
    """One request an answer answers: how it was found and what came of it."""

    request_id: int
    matched_by: str  # one of ANSWER_MATCHES
    outcome: str  # merged, held, unchanged
    reason: str | None = None


@dataclass(frozen=True)
class AnswerRecord:
    submission_id: int
    request_id: int
    matched_by: str
    outcome: str
    reason: str | None
    created_at: datetime


@dataclass
class RequestUpdate:
    """New fields, problems and provenance of a request an answer completed, and what changed."""

    request_id: int
    fields: dict[str, Any]
    problems: list[Any]
    provenance: dict[str, Any]
    confidence: dict[str, Any]
    state: str
    changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # masked by the caller


class _Store(Protocol):
    """What the mixin uses of `Store`."""

    def _write(self) -> AbstractContextManager[Session]: ...
    def _read(self) -> AbstractContextManager[Session]: ...
    def _seal(self, kind: Any, value: Any, aad: str) -> Any: ...
    def _seal_request(self, submission_id: int, seq: int, **values: Any) -> dict[str, Any]: ...
    def _move_submission(self, s: Session, submission_id: int, new_state: str, *, expected: Collection[str] | None,
                         actor: str, reason: str | None = None, extra: Mapping[str, Any] | None = None) -> str: ...
    def _part_row(self, submission_id: int, seq: int, part: Mapping[str, Any]) -> dict[str, Any]: ...
    def _answers(self, q: Any) -> list[AnswerRecord]: ...


class ConversationStore:
    """Methods `Store` gets for threading answers (see the module docstring)."""

    def replies_with_message_ids(self: _Store, message_ids: Sequence[str]) -> list[tuple[int, int | None]]:
        """(submission id, request id or None) of our replies whose Message-ID is one of `message_ids`."""
        ids = [m for m in dict.fromkeys(message_ids) if m][:50]
        if not ids:
            return []
        with self._read() as s:
            rows = s.execute(select(Outbox.submission_id, Outbox.request_id).where(Outbox.message_id.in_(ids))
                             .order_by(Outbox.id))
            return [(int(a), None if b is None else int(b)) for a, b in rows]

    def references_exist(self: _Store, references: Collection[str]) -> dict[str, int]:
        """{reference: request id} of the given references that name a request."""
        refs = sorted({r.strip().upper() for r in references if r})[:50]
        if not refs:
            return {}
        with self._read() as s:
            rows = s.execute(select(Request.reference, Request.id).where(Request.reference.in_(refs)))
            return {str(ref): int(i) for ref, i in rows}

    def request_ids_of(self: _Store, submission_id: int) -> list[int]:
        with self._read() as s:
            return [int(i) for i in s.scalars(select(Request.id).where(Request.submission_id == submission_id)
                                              .order_by(Request.seq))]

    def record_answer(self: _Store, submission_id: int, result: SubmissionResult | None, links: Sequence[AnswerLink],
                      updates: Sequence[RequestUpdate], *, state: str, reason: str | None = None,
                      actor: str = "pipeline") -> None:
        """Record an answer in one transaction (see the module docstring).

        `state` is the answering submission's next state: `extracted` when it was merged (its reply
        is still to be queued), `needs_review` when it is held for staff.
        """
        stored = result.model_dump(mode="json") if result is not None else {}
        for link in links:
            if link.matched_by not in ANSWER_MATCHES or link.outcome not in ANSWER_OUTCOMES:
                raise ValueError(f"bad answer link {link!r}")
        with self._write() as s:
            sealed = self._seal("json", stored, aad("submissions.result", submission_id))
            self._move_submission(s, submission_id, state, expected=("received", "failed"), actor=actor,
                                  reason=reason, extra={"result": sealed})
            for seq, part in enumerate(stored.get("parts") or []):
                s.add(SubmissionPart(**self._part_row(submission_id, seq, part)))
            for link in links:
                s.add(Answer(submission_id=submission_id, request_id=link.request_id, matched_by=link.matched_by,
                             outcome=link.outcome, reason=link.reason))
                r = s.get(Request, link.request_id)
                assert r is not None
                s.add(Event(submission_id=r.submission_id, request_id=link.request_id, actor=actor,
                            kind=f"answer_{link.outcome}", field="answer",
                            new=f"submission {submission_id}, found by {link.matched_by.replace('_', '-')}"
                                + (f": {link.reason}" if link.reason else "")))
            for up in updates:
                r = s.get(Request, up.request_id)
                assert r is not None
                clear = jsonable(dict(up.fields))
                for key, value in self._seal_request(r.submission_id, r.seq, fields=clear,
                                                     problems=jsonable(list(up.problems)),
                                                     provenance=jsonable(dict(up.provenance))).items():
                    setattr(r, key, value)
                r.confidence = dict(up.confidence)
                for key, value in search_columns(clear).items():
                    setattr(r, key, value)
                for path, old, new in up.changes:
                    s.add(Event(submission_id=r.submission_id, request_id=r.id, actor=actor, kind="answer_value",
                                field=path, old=old, new=new))
                if up.state != r.state:
                    s.add(Event(submission_id=r.submission_id, request_id=r.id, actor=actor, kind="state",
                                field="state", old=r.state, new=up.state))
                    r.state = up.state

    def _answers(self: _Store, q: Any) -> list[AnswerRecord]:
        with self._read() as s:
            return [AnswerRecord(a.submission_id, a.request_id, a.matched_by, a.outcome, a.reason, a.created_at)
                    for a in s.scalars(q)]

    def answers_to(self: _Store, request_id: int) -> list[AnswerRecord]:
        """Every message that answered this request, oldest first (the review page's conversation)."""
        return self._answers(select(Answer).where(Answer.request_id == request_id).order_by(Answer.submission_id))

    def answered_by(self: _Store, submission_id: int) -> list[AnswerRecord]:
        """The requests this submission answered (empty for a submission that is not an answer)."""
        return self._answers(select(Answer).where(Answer.submission_id == submission_id)
                             .order_by(Answer.request_id))
