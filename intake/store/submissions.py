"""Submissions: what the sources store (before they acknowledge), the IMAP and source bookkeeping,
and the conditional state moves of a submission through the pipeline.

A duplicate is refused by the unique keys (`content_key`, the IMAP identity), so concurrent writers
of one message make one row; a state move names the states it expects and raises `StateConflict`
when someone else moved the row first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.store import hotpath
from intake.store.clear import masked, masked_strings
from intake.store.core import StoreCore, aad
from intake.store.hotpath import core
from intake.store.models import Event, ImapSeen, Request, SourceState, Submission
from intake.store.records import (
    Incoming,
    NotFound,
    StateConflict,
    SubmissionRecord,
    as_dict,
    content_key,
    header_message_id,
    normalise_message_id,
    now_utc,
    sha256_hex,
)
from intake.store.states import (
    MAIL_CHANNELS,
    SUBMISSION_FOR_STAFF,
    SUBMISSION_STATES,
    Channel,
    SubmissionState,
)
from parsers.pii import mask_ssns

_S = SubmissionState
# Where a give-up or a staff hand-over may come from: any state but `done`.
_NOT_DONE = (_S.RECEIVED, _S.EXTRACTED, _S.NEEDS_REVIEW, _S.FAILED)



def kept_verdict(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The sender verdict as the store keeps it (`SubmissionRecord.sender_auth`): plain JSON, with
    anything that reads as an SSN masked."""
    kept: dict[str, Any] = masked_strings(as_dict(dict(verdict)) or {})
    return kept


def sender_auth_event(submission_id: int, verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The trail's line for a kept sender verdict (`record_sender_auth`, `mark_extracted`), for
    `hotpath.add_events`."""
    return {"submission_id": submission_id, "actor": "pipeline", "kind": "sender_auth", "field": "sender_auth",
            "new": str(verdict.get("reason") or "")[:1000]}


@dataclass(frozen=True)
class _Identity:
    """What a received message is known by (its duplicate identity) and the columns derived from
    its bytes, computed once per message before any transaction."""

    channel: Channel
    imap_id: tuple[str | None, int | None, int | None] | None  # (folder, UIDVALIDITY, UID) when from IMAP
    message_id: str | None
    key: str
    body_hash: str | None
    sha: str
    received_at: datetime

    @classmethod
    def of(cls, inc: Incoming) -> _Identity:
        channel = Channel(inc.channel)
        imap_id = (inc.imap_folder, inc.imap_uidvalidity, inc.imap_uid)
        has_imap = None not in imap_id
        if channel == Channel.IMAP and not has_imap:
            raise ValueError("an IMAP submission needs folder, uidvalidity and uid")
        message_id = None
        if channel in MAIL_CHANNELS:
            message_id = normalise_message_id(inc.message_id) if inc.message_id else header_message_id(inc.raw)
        key, bh = content_key(channel, inc.raw, message_id)
        return cls(channel, imap_id if has_imap else None, message_id, key, bh, sha256_hex(inc.raw),
                   now_utc(inc.received_at))


class SubmissionStore(StoreCore):
    """Intake, source bookkeeping and the states of a submission."""

    # -- intake -------------------------------------------------------------------------------

    def store_submission(self, inc: Incoming) -> tuple[int, bool]:
        """Store what a source received; committed before it returns.

        Returns (submission id, created). A duplicate returns (existing id, False): same IMAP
        (folder, UIDVALIDITY, UID); same Message-ID with the same body hash; same fax file hash.
        """
        new = _Identity.of(inc)
        existing = self._find_duplicate(new.key, new.imap_id)
        if existing is None:
            # Sealed before the write lock is taken: the process's writers queue on it.
            sealed_raw = self._seal("bytes", inc.raw, aad("submissions.raw", new.key))
            try:
                with self._write() as s:
                    return self._insert_submission(s, inc, new, sealed_raw), True
            except IntegrityError:
                # Lost a race against a concurrent writer of the same message: read the winner.
                existing = self._find_duplicate(new.key, new.imap_id)
                if existing is None:
                    raise
        if new.imap_id is not None:
            self._note_imap(existing, inc)
        return existing, False

    def store_submissions(self, incs: Sequence[Incoming]) -> list[tuple[int, bool]]:
        """`store_submission` for messages a source fetched together (an IMAP batch): the new ones
        in one transaction, so one commit (one wait for the disk) for all, committed before this
        returns as each would be alone. A batch meeting a concurrent writer of one of its messages
        (a unique key) is stored one message at a time instead, as `store_submission` does."""
        identities = [_Identity.of(inc) for inc in incs]
        results: list[tuple[int, bool] | None] = [None] * len(incs)
        fresh: list[int] = []
        for i, (inc, new) in enumerate(zip(incs, identities, strict=True)):
            existing = self._find_duplicate(new.key, new.imap_id)
            if existing is None:
                fresh.append(i)
                continue
            if new.imap_id is not None:
                self._note_imap(existing, inc)
            results[i] = (existing, False)
        sealed = {i: self._seal("bytes", incs[i].raw, aad("submissions.raw", identities[i].key)) for i in fresh}
        try:
            with self._write() as s:
                made: dict[str, int] = {}  # content key -> id, for a message twice in one batch
                for i in fresh:
                    inc, new = incs[i], identities[i]
                    if new.key in made:
                        s.connection().execute(hotpath.INSERT_IMAP_SEEN, {
                            "folder": inc.imap_folder, "uidvalidity": inc.imap_uidvalidity, "uid": inc.imap_uid,
                            "submission_id": made[new.key]})
                        results[i] = (made[new.key], False)
                        continue
                    made[new.key] = self._insert_submission(s, inc, new, sealed[i])
                    results[i] = (made[new.key], True)
        except IntegrityError:
            return [self.store_submission(inc) for inc in incs]
        return [r for r in results if r is not None]

    def _insert_submission(self, s: Session, inc: Incoming, new: _Identity, sealed_raw: Any) -> int:
        """The rows of one new submission (its IMAP identity and `received` event), as Core inserts
        (the ORM's unit of work cost more than the statements here); returns its id."""
        conn = s.connection()
        imap = new.imap_id is not None
        inserted = conn.execute(hotpath.INSERT_SUBMISSION, {
            "channel": new.channel,
            "sender": inc.sender,
            "recipients": list(inc.recipients),
            "received_at": new.received_at,
            "raw": sealed_raw,
            "size": len(inc.raw),
            "sha256": new.sha,
            "message_id": new.message_id,
            "body_hash": new.body_hash,
            "content_key": new.key,
            "imap_folder": inc.imap_folder if imap else None,
            "imap_uidvalidity": inc.imap_uidvalidity if imap else None,
            "imap_uid": inc.imap_uid if imap else None,
            "fax_filename": inc.fax_filename,
            "fax_sha256": new.sha if new.channel == Channel.FAX else None,
            "client_ip": inc.client_ip,
            "helo": masked(inc.helo),
            "state": _S.RECEIVED,
            "attempts": 0,
        }).inserted_primary_key
        assert inserted is not None
        sid = int(inserted[0])
        if imap:
            conn.execute(hotpath.INSERT_IMAP_SEEN, {"folder": inc.imap_folder, "uidvalidity": inc.imap_uidvalidity,
                                                    "uid": inc.imap_uid, "submission_id": sid})
        hotpath.add_events(s, {"submission_id": sid, "actor": new.channel, "kind": "received", "field": "state",
                               "new": _S.RECEIVED})
        return sid

    def _find_duplicate(self, key: str, imap_id: tuple[str | None, int | None, int | None] | None) -> int | None:
        with self._read() as s:
            conn = s.connection()
            if imap_id is not None:
                folder, uidvalidity, uid = imap_id
                hit = conn.execute(hotpath.IMAP_SEEN,
                                   {"folder": folder, "uidvalidity": uidvalidity, "uid": uid}).scalar()
                if hit is not None:
                    return int(hit)
            hit = conn.execute(hotpath.BY_CONTENT_KEY, {"key": key}).scalar()
            return int(hit) if hit is not None else None

    def _note_imap(self, submission_id: int, inc: Incoming) -> None:
        """Remember that this IMAP UID is a copy of a stored submission, so it is not fetched again."""
        try:
            with self._write() as s:
                known = s.get(ImapSeen, (inc.imap_folder, inc.imap_uidvalidity, inc.imap_uid))
                if known is None:
                    s.add(ImapSeen(folder=inc.imap_folder, uidvalidity=inc.imap_uidvalidity, uid=inc.imap_uid,
                                   submission_id=submission_id))
        except IntegrityError:
            pass  # a concurrent writer recorded it first

    def imap_known(self, folder: str, uidvalidity: int, uids: list[int]) -> set[int]:
        """Which of `uids` (in this folder and UIDVALIDITY) are already stored."""
        found: set[int] = set()
        with self._read() as s:
            for i in range(0, len(uids), 500):
                chunk = uids[i : i + 500]
                rows = s.scalars(select(ImapSeen.uid).where(
                    ImapSeen.folder == folder, ImapSeen.uidvalidity == uidvalidity, ImapSeen.uid.in_(chunk)))
                found.update(int(u) for u in rows)
        return found

    def get_source_state(self, name: str) -> tuple[int | None, int | None] | None:
        """(uidvalidity, last uid) recorded for a source such as "imap:INBOX", or None."""
        with self._read() as s:
            row = s.get(SourceState, name)
            return None if row is None else (row.uidvalidity, row.last_uid)

    def set_source_state(self, name: str, uidvalidity: int | None, last_uid: int | None) -> None:
        for _ in range(3):  # an insert race on the first write of a new name
            try:
                with self._write() as s:
                    row = s.get(SourceState, name)
                    if row is None:
                        s.add(SourceState(name=name, uidvalidity=uidvalidity, last_uid=last_uid))
                    else:
                        row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now_utc()
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"could not record source state {name!r}")

    # -- submissions --------------------------------------------------------------------------

    def get_submission(self, submission_id: int) -> SubmissionRecord:
        with self._read() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            return self._submission_record(sub)

    def submission_state(self, submission_id: int) -> str:
        """The state of a submission alone (no raw message read, nothing decrypted)."""
        with self._read() as s:
            state = s.scalar(select(Submission.state).where(Submission.id == submission_id))
            if state is None:
                raise NotFound(f"no submission {submission_id}")
            return str(state)

    def record_sender_auth(self, submission_id: int, verdict: Mapping[str, Any]) -> dict[str, Any]:
        """Keep the sender verdict on the submission, with an event staff can read in the trail;
        returns what was kept (`SubmissionRecord.sender_auth` from now on)."""
        data = kept_verdict(verdict)
        with self._write(redone=True) as s:
            self._put_sender_auth(s, submission_id, data)
        return data

    def _put_sender_auth(self, s: Session, submission_id: int, data: dict[str, Any]) -> None:
        """`record_sender_auth` inside an open transaction (also `mark_extracted`'s, which records
        the verdict of the extract stage with its result: one transaction less per mail)."""
        res = core(s).execute(hotpath.UPDATE_SUBMISSION,
                              {"sid": submission_id, "sender_auth": data, "updated_at": now_utc()})
        if res.rowcount != 1:
            raise NotFound(f"no submission {submission_id}")
        hotpath.add_events(s, sender_auth_event(submission_id, data))

    def set_fax_sender(self, submission_id: int, number: str, how: str) -> bool:
        """A fax's number to answer, found after it was stored (its header line read by OCR); only
        where none was known, so a caller ID is never overwritten. True when it was set."""
        with self._write(redone=True) as s:
            res = s.execute(update(Submission)
                            .where(Submission.id == submission_id, Submission.channel == Channel.FAX,
                                   Submission.sender.is_(None))
                            .values(sender=number, updated_at=now_utc()))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return False
            s.add(Event(submission_id=submission_id, actor="pipeline", kind="caller_id", field="sender",
                        new=f"{number} ({how})"[:1000]))
            return True

    def submissions_in(self, states: Collection[str], limit: int | None = None) -> list[int]:
        """Ids of submissions in `states`, oldest first."""
        q = select(Submission.id).where(Submission.state.in_(sorted(states))).order_by(Submission.id)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as s:
            return [int(i) for i in s.scalars(q)]

    def pending_submissions(self, limit: int | None = None) -> list[int]:
        """Submissions stored but not yet extracted: what the pipeline (re)starts with."""
        return self.submissions_in((_S.RECEIVED,), limit)

    def submission_ids(self, *, states: Collection[str] | None = None, since: datetime | None = None,
                       until: datetime | None = None) -> list[int]:
        """Ids of submissions in `states` received in [since, until), oldest first (`coc-intake reprocess`)."""
        q = select(Submission.id).order_by(Submission.id)
        if states:
            q = q.where(Submission.state.in_(sorted(states)))
        if since is not None:
            q = q.where(Submission.received_at >= now_utc(since))
        if until is not None:
            q = q.where(Submission.received_at < now_utc(until))
        with self._read() as s:
            return [int(i) for i in s.scalars(q)]

    def submissions_without_requests(self, limit: int = 200) -> list[SubmissionRecord]:
        """Submissions sent to staff with no request read from them (unreadable, over a limit, no
        request found), oldest first: staff enter the request by hand or close them."""
        has_request = select(Request.submission_id)
        q = (select(Submission)
             .where(Submission.state.in_(sorted(SUBMISSION_FOR_STAFF)), Submission.id.not_in(has_request))
             .order_by(Submission.received_at, Submission.id).limit(limit))
        with self._read() as s:
            return [self._submission_record(x) for x in s.scalars(q)]

    def begin_attempt(self, submission_id: int) -> int:
        """Count one more extraction attempt; returns the count.

        Committed before the work starts, so a document that kills its worker (or the machine) again
        and again is seen on restart (`attempts >= max_attempts`) and sent to staff instead.
        """
        with self._write(redone=True) as s:
            _count_attempt(s, submission_id)
            return int(s.scalar(select(Submission.attempts).where(Submission.id == submission_id)) or 0)

    def begin_attempt_loaded(self, submission_id: int) -> tuple[int, SubmissionRecord]:
        """`begin_attempt` and the submission as it now is, in one transaction (the extract stage's
        first step: one load, one decryption of the raw message per attempt)."""
        with self._write(redone=True) as s:
            _count_attempt(s, submission_id)
            # A Core row, not an ORM object: nothing of it is written back, and the identity map's
            # bookkeeping cost more than the SELECT.
            row = core(s).execute(hotpath.SUBMISSION_ROW, {"sid": submission_id}).one()
        # Decrypted after the commit, outside the write lock.
        return int(row.attempts), self._submission_record(row)

    def _move_submission(self, s: Session, submission_id: int, new_state: str, *,
                         expected: Collection[str] | None, actor: str, reason: str | None = None,
                         extra: Mapping[str, Any] | None = None, old: str | None = None) -> str:
        """Conditional state move inside an open transaction; returns the old state. `old`: the
        state the caller read in this transaction already (not read again)."""
        if new_state not in SUBMISSION_STATES:
            raise ValueError(f"unknown submission state {new_state!r}")
        # A reason quotes file names and problem messages (an attachment may be named after the
        # SSN); it is stored in clear and shown to every reviewer, so SSNs in it are masked.
        reason = mask_ssns(reason) if reason else reason
        conn = core(s)
        if old is None:
            old = conn.execute(hotpath.SUBMISSION_STATE, {"sid": submission_id}).scalar()
        if old is None:
            raise NotFound(f"no submission {submission_id}")
        if expected is not None and old not in expected:
            raise StateConflict(f"submission {submission_id} is {old}, expected one of {sorted(expected)}")
        values: dict[str, Any] = {"state": new_state, "updated_at": now_utc(), "reason": reason}
        values.update(extra or {})
        res = conn.execute(hotpath.MOVE_SUBMISSION, {"sid": submission_id, "from_state": old, **values})
        if res.rowcount != 1:
            raise StateConflict(f"submission {submission_id} changed state concurrently")
        events = [{"submission_id": submission_id, "actor": actor, "kind": "state", "field": "state", "old": old,
                   "new": new_state}]
        if reason:
            events.append({"submission_id": submission_id, "actor": actor, "kind": "reason", "field": "reason",
                           "new": reason})
        hotpath.add_events(s, *events)
        return str(old)

    def mark_failed(self, submission_id: int, reason: str, *, actor: str = "pipeline") -> None:
        """Extraction gave up for good (the reason is for staff); from any unfinished state."""
        with self._write(redone=True) as s:
            self._move_submission(s, submission_id, _S.FAILED, expected=_NOT_DONE, actor=actor, reason=reason)

    def mark_needs_review(self, submission_id: int, reason: str, *,
                          expected: Collection[str] = (_S.RECEIVED, _S.FAILED), actor: str = "pipeline") -> None:
        """A document crashed, timed out or went over a limit: the whole submission goes to staff."""
        with self._write(redone=True) as s:
            self._move_submission(s, submission_id, _S.NEEDS_REVIEW, expected=expected, actor=actor, reason=reason)

    def mark_done(self, submission_id: int, *, expected: Collection[str] = (_S.EXTRACTED, _S.NEEDS_REVIEW),
                  actor: str = "pipeline") -> None:
        """Every reply for the submission is queued; nothing is left for the pipeline to do."""
        with self._write(redone=True) as s:
            old = s.scalar(select(Submission.reason).where(Submission.id == submission_id))
            self._move_submission(s, submission_id, _S.DONE, expected=expected, actor=actor, reason=old)

    def close_submission(self, submission_id: int, *, actor: str, reason: str) -> None:
        """Staff looked at a submission without a request and found nothing to do (state `done`)."""
        with self._write() as s:
            self._move_submission(s, submission_id, _S.DONE, expected=SUBMISSION_FOR_STAFF, actor=actor,
                                  reason=reason)

    def counts_by_channel_state(self) -> dict[tuple[str, str], int]:
        """{(channel, state): n} of the submissions, for `/metrics`."""
        with self._read() as s:
            rows = s.execute(select(Submission.channel, Submission.state, func.count())
                             .group_by(Submission.channel, Submission.state))
            return {(str(c), str(st)): int(n) for c, st, n in rows}


def _count_attempt(s: Session, submission_id: int) -> None:
    """One more extraction attempt on a submission waiting for it, in the caller's transaction."""
    res = core(s).execute(hotpath.COUNT_ATTEMPT, {"sid": submission_id, "waiting": _S.RECEIVED, "now": now_utc()})
    if res.rowcount != 1:
        raise StateConflict(f"submission {submission_id} is not waiting for extraction")
