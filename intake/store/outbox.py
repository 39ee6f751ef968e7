"""The outbox table: rendered replies, queued once, taken by one sender, settled once.

`intake.outbox` is the transport (SMTP, `.eml` files, back-off); this module is only the rows and
their conditional moves: the unique `reply_key` makes a second queueing impossible, `mark_sending`
lets one sender have a reply, `mark_handed_over` (committed just before the final dot) makes a crash
after the relay took it count as sent, never as a second copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.store import hotpath
from intake.store.clear import masked
from intake.store.engine import commit_without_flush
from intake.store.hotpath import core
from intake.store.models import Outbox
from intake.store.records import NotFound, OutboxItem, StateConflict, copy_record, header_message_id, now_utc
from intake.store.states import (
    OUTBOX_DUE,
    OUTBOX_UNFINISHED,
    REPLY_CHANNELS,
    REPLY_KINDS,
    OutboxState,
    ReplyChannel,
    SubmissionState,
    sorted_values,
)
from intake.store.submissions import SubmissionStore

_O = OutboxState


def _outbox_item(o: Outbox) -> OutboxItem:
    return copy_record(OutboxItem, o)


class OutboxStore(SubmissionStore):
    """Queue, take, settle and follow replies."""

    def queue_reply(
        self,
        submission_id: int,
        kind: str,
        channel: str,
        recipient: str,
        message: bytes,
        *,
        request_id: int | None = None,
        generation: int = 0,
        now: datetime | None = None,
        actor: str = "replies",
        done: bool = False,
    ) -> bool:
        """Queue a rendered reply; False if this (submission, request, kind, generation) is queued already.

        The unique `reply_key` makes a second queueing impossible, also from a concurrent process; a
        second queueing costs one failed insert (its transaction rolled back), no look-up first.
        `done`: the submission's last reply, so in the same transaction it moves from `extracted` to
        `done` (if it is still `extracted`; see `mark_done`).
        """
        if kind not in REPLY_KINDS:
            raise ValueError(f"unknown reply kind {kind!r}")
        if channel not in REPLY_CHANNELS:
            raise ValueError(f"unknown reply channel {channel!r}")
        key = f"s{submission_id}:r{request_id if request_id is not None else '-'}:{kind}:{generation}"
        when = now_utc(now)
        message_id = header_message_id(message) if channel == ReplyChannel.EMAIL else None  # before the lock
        try:
            with self._write() as s:
                s.connection().execute(hotpath.INSERT_REPLY, {
                    "submission_id": submission_id, "request_id": request_id, "kind": kind,
                    "generation": generation, "reply_key": key, "channel": channel, "recipient": recipient,
                    "message": message, "state": _O.QUEUED, "attempts": 0, "next_attempt_at": when,
                    "created_at": when, "message_id": message_id})
                hotpath.add_events(s, {"submission_id": submission_id, "request_id": request_id, "actor": actor,
                                       "kind": "reply_queued", "field": kind, "new": f"{channel} to {recipient}"})
                if done:
                    self._finish(s, submission_id)
            return True
        except IntegrityError:
            with self._read() as s:
                if s.scalar(select(Outbox.id).where(Outbox.reply_key == key)) is not None:
                    return False
            raise

    def _finish(self, s: Session, submission_id: int) -> None:
        """`extracted` -> `done` inside an open transaction, keeping the reason; nothing if it moved on."""
        state, reason = core(s).execute(hotpath.SUBMISSION_STATE_REASON, {"sid": submission_id}).one()
        if state == SubmissionState.EXTRACTED:
            # A concurrent move (nothing written yet when it raises) leaves the submission to its mover.
            with contextlib.suppress(StateConflict):
                self._move_submission(s, submission_id, SubmissionState.DONE,
                                      expected=(SubmissionState.EXTRACTED,), actor="pipeline", reason=reason,
                                      old=state)

    def replies_since(self, recipient: str, since: datetime) -> int:
        """Replies queued to `recipient` (case-insensitive) since `since`: the per-sender rate limit."""
        with self._read() as s:
            n = s.connection().execute(hotpath.REPLIES_SINCE,
                                       {"recipient": recipient.lower(), "since": now_utc(since)}).scalar()
            return int(n or 0)

    def get_reply(self, outbox_id: int) -> OutboxItem:
        with self._read() as s:
            o = s.get(Outbox, outbox_id)
            if o is None:
                raise NotFound(f"no outbox item {outbox_id}")
            return _outbox_item(o)

    def replies_of(self, submission_id: int) -> list[OutboxItem]:
        with self._read() as s:
            rows = s.scalars(select(Outbox).where(Outbox.submission_id == submission_id).order_by(Outbox.id))
            return [_outbox_item(o) for o in rows]

    def due_replies(self, now: datetime | None = None, limit: int = 100) -> list[OutboxItem]:
        """Replies to send now: queued, or failed temporarily and due for another try."""
        q = (select(Outbox)
             .where(Outbox.state.in_(sorted_values(OUTBOX_DUE)), Outbox.next_attempt_at <= now_utc(now))
             .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
        with self._read() as s:
            return [_outbox_item(o) for o in s.scalars(q)]

    def _move_reply(self, outbox_id: int, values: dict[str, Any]) -> bool:
        """Conditional move of a reply that is not finished; an attempt is counted unless a
        `mark_sending` already counted it."""
        with self._write() as s:
            res = s.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.state.in_(sorted_values(OUTBOX_UNFINISHED)))
                .values(attempts=Outbox.attempts + case((Outbox.state == _O.SENDING, 0), else_=1),
                        **{k: masked(v) if k == "last_error" else v for k, v in values.items()})
            )
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def mark_sending(self, outbox_id: int, now: datetime | None = None) -> bool:
        """Take a due reply for sending; False if another sender took it (or it is finished).

        Only the caller that got True may hand the message to the relay, so two outbox workers never
        send the same reply.
        """
        with self._write(redone=True) as s:
            res = s.execute(update(Outbox)
                            .where(Outbox.id == outbox_id, Outbox.state.in_(sorted_values(OUTBOX_DUE)))
                            .values(state=_O.SENDING, sending_at=now_utc(now), attempts=Outbox.attempts + 1))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def take_due(self, limit: int, now: datetime | None = None) -> list[OutboxItem]:
        """Take up to `limit` due replies for sending in one transaction (`mark_sending` for each):
        the ones returned are `sending` and this caller's alone; another sender's are skipped.

        Each row still moves by its own conditional update, so two processes taking at once never
        both get a reply; only the commit is shared (one instead of one per reply).
        """
        when = now_utc(now)
        q = (select(Outbox)
             .where(Outbox.state.in_(sorted_values(OUTBOX_DUE)), Outbox.next_attempt_at <= when)
             .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
        taken: list[OutboxItem] = []
        due = sorted_values(OUTBOX_DUE)
        with self._write(redone=True) as s:
            for o in list(s.scalars(q)):
                item = _outbox_item(o)
                res = core(s).execute(hotpath.TAKE_REPLY, {"oid": item.id, "due": due, "sending": _O.SENDING,
                                                           "when": when})
                if res.rowcount == 1:
                    taken.append(item)
        return taken

    def mark_sent_many(self, outbox_ids: Sequence[int], now: datetime | None = None) -> int:
        """`mark_sent` for several replies in one transaction (a batch the relay accepted); returns
        how many moved (a finished one is left as it is, never sent twice)."""
        if not outbox_ids:
            return 0
        with self._write() as s:
            res = s.execute(
                update(Outbox)
                .where(Outbox.id.in_(list(outbox_ids)), Outbox.state.in_(sorted_values(OUTBOX_UNFINISHED)))
                .values(attempts=Outbox.attempts + case((Outbox.state == _O.SENDING, 0), else_=1),
                        state=_O.SENT, sent_at=now_utc(now), last_error=None)
                .execution_options(synchronize_session=False))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def mark_handed_over(self, outbox_id: int, now: datetime | None = None) -> bool:
        """The whole message is with the relay but for the final dot: from here on it counts as sent.

        Committed just before the dot goes out, so a crash after the relay took the message can never
        make a second copy (see `requeue_sending`); only a crash in the instant between this commit
        and the dot's write could lose the reply, never duplicate it. The commit does not wait for the
        disk flush (`commit_without_flush`): that wait was a window of milliseconds in which a SIGKILL
        lost the reply (about one kill in twenty in `bench/faults.py`).
        """
        with commit_without_flush(self.engine, self.write_lock) as conn:
            res = conn.execute(hotpath.HAND_OVER, {"oid": outbox_id, "sending": _O.SENDING, "now": now_utc(now)})
            return bool(res.rowcount == 1)

    def requeue_sending(self, older_than: datetime, now: datetime | None = None) -> int:
        """Replies left in `sending` since before `older_than` (a sender crashed) are settled.

        One that was handed over (`sent_at` set: only the relay's answer was missing) is `sent`; the
        others are due again. At start-up, with one sender, every `sending` row is such a leftover:
        pass `now`.
        """
        with self._write() as s:
            stale = (Outbox.state == _O.SENDING, Outbox.sending_at < now_utc(older_than))
            s.execute(update(Outbox).where(*stale, Outbox.sent_at.is_not(None)).values(state=_O.SENT))
            res = s.execute(update(Outbox).where(*stale, Outbox.sent_at.is_(None))
                            .values(state=_O.QUEUED, next_attempt_at=now_utc(now),
                                    last_error="sender stopped while sending"))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def mark_sent(self, outbox_id: int, now: datetime | None = None) -> bool:
        """The relay accepted the reply; False if it was already sent or given up (never twice)."""
        return self._move_reply(outbox_id, {"state": _O.SENT, "sent_at": now_utc(now), "last_error": None})

    def mark_retry(self, outbox_id: int, error: str, next_attempt_at: datetime) -> bool:
        """A temporary failure (4xx, connection refused): try again at `next_attempt_at`."""
        return self._move_reply(outbox_id, {"state": _O.FAILED, "last_error": error[:2000],
                                            "next_attempt_at": now_utc(next_attempt_at), "sent_at": None})

    def mark_permanent(self, outbox_id: int, error: str) -> bool:
        """A permanent failure (5xx, or retried for too long): left for staff."""
        return self._move_reply(outbox_id, {"state": _O.PERMANENT_FAILURE, "last_error": error[:2000],
                                            "sent_at": None})

    # -- fax jobs (intake.faxout) ---------------------------------------------------------------

    def mark_fax_handed_over(self, outbox_id: int, transport: str, job: str | None, state: str | None,
                             now: datetime | None = None) -> bool:
        """A fax reply is with its transport (a file, a HylaFAX job, a mail): `sent`, with the job
        to follow; False if it was already settled."""
        return self._move_reply(outbox_id, {"state": _O.SENT, "sent_at": now_utc(now), "last_error": None,
                                            "fax_transport": transport, "fax_job": job, "fax_state": state})

    def mark_fax_handing_over(self, outbox_id: int, transport: str, job: str | None,
                              now: datetime | None = None) -> bool:
        """A fax reply is one step from its transport (before HylaFAX's `JSUBM`, a mail's final dot,
        a file's rename): from here on it counts as sent, with its job kept to follow.

        The fax counterpart of `mark_handed_over`: a sender killed after the transport took the fax
        but before `mark_fax_handed_over` leaves a `sending` row with `sent_at` set, which
        `requeue_sending` settles as `sent` (and `fax_jobs_to_follow` then follows its job) instead
        of dialling the employer a second time.
        """
        with self._write() as s:
            res = s.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.state == _O.SENDING)
                            .values(sent_at=now_utc(now), fax_transport=transport, fax_job=job))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def fax_jobs_to_follow(self, transport: str = "hylafax", limit: int = 200) -> list[OutboxItem]:
        """Fax replies handed to a fax server whose job has not finished (done or failed) yet."""
        q = (select(Outbox).where(Outbox.state == _O.SENT, Outbox.fax_transport == transport,
                                  Outbox.fax_job.is_not(None),
                                  or_(Outbox.fax_state.is_(None), Outbox.fax_state.not_in(["done", "failed"])))
             .order_by(Outbox.id).limit(limit))
        with self._read() as s:
            return [_outbox_item(o) for o in s.scalars(q)]

    def set_fax_state(self, outbox_id: int, job: str, state: str) -> bool:
        """The fax server's latest word on a job; `done` ends the following."""
        with self._write() as s:
            res = s.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.fax_job == job)
                            .values(fax_state=state[:32]))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def fax_job_failed(self, outbox_id: int, job: str, error: str, retry_at: datetime | None) -> bool:
        """The fax server gave the job up: due again at `retry_at` (a new job), or, None, left for
        staff as `permanent_failure` like a bounced mail."""
        values: dict[str, Any] = {"fax_state": "failed", "last_error": error[:2000], "sent_at": None}
        if retry_at is None:
            values["state"] = _O.PERMANENT_FAILURE
        else:
            values.update(state=_O.FAILED, next_attempt_at=now_utc(retry_at))
        with self._write() as s:
            res = s.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.state == _O.SENT,
                                                 Outbox.fax_job == job).values(**values))
            return bool(res.rowcount == 1)  # type: ignore[attr-defined]
