"""Requests: the rows an extraction (or a person) makes from a submission, and their states.

There is one row builder (`_add_requests`) for every way a request comes to be: an extraction
(`mark_extracted`), a request staff enter by hand (`add_manual_request`) and a request a reprocess
finds anew (`replace_extraction`): one reference format, one status -> state mapping, one
next-number query.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.model import CertificateRequest, Problem
from intake.store import hotpath
from intake.store.core import aad
from intake.store.hotpath import core
from intake.store.models import Event, Outbox, Request, Submission
from intake.store.records import (
    NewRequest,
    NotFound,
    OutboxItem,
    RequestRecord,
    StateConflict,
    SubmissionRecord,
    copy_record,
    jsonable,
    now_utc,
    search_columns,
    typed_request,
)
from intake.store.states import REQUEST_STATES, RequestState, SubmissionState
from intake.store.submissions import SubmissionStore, kept_verdict, sender_auth_event
from parsers.pii import mask_ssns

if TYPE_CHECKING:  # the extraction's result type, named in annotations only
    from intake.extract import RequestResult, SubmissionResult

_S = SubmissionState


class RequestStore(SubmissionStore):
    """Requests of submissions: made, read, moved and corrected."""

    # -- the one row builder ------------------------------------------------------------------

    def _next_seq(self, s: Session, submission_id: int) -> int:
        return int(core(s).execute(hotpath.NEXT_SEQ, {"sid": submission_id}).scalar() or 0)

    def _new_row(self, submission_id: int, seq: int, item: NewRequest, now: datetime) -> dict[str, Any]:
        """The columns of one new request row, sealed (no database needed: built before the write
        lock where the caller knows its `seq`)."""
        if item.state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {item.state!r}")
        return {"submission_id": submission_id, "seq": seq, "state": item.state,
                "confidence": dict(item.confidence), "created_at": now, "updated_at": now,
                **search_columns(item.fields),
                **self._seal_request(submission_id, seq, fields=item.fields, problems=item.problems,
                                     provenance=item.provenance)}

    def _add_requests(self, s: Session, submission_id: int, received_at: datetime, items: Sequence[NewRequest], *,
                      actor: str, first_seq: int | None = None,
                      rows: Sequence[dict[str, Any]] | None = None) -> list[Request]:
        """Insert one row per item (sealed, with its search columns, reference and `created` event);
        `received_at`: the submission's, whose year the references carry. `rows`: the items' rows
        built already (`_new_row`) for sequence numbers from 0, used when the submission has no
        request yet (else built again here, numbered after the ones it has)."""
        seq = self._next_seq(s, submission_id) if first_seq is None else first_seq
        if rows is None or seq != 0:
            now = now_utc()
            rows = [self._new_row(submission_id, seq + i, item, now) for i, item in enumerate(items)]
        made: list[Request] = []
        conn = core(s)
        for values in rows:
            # Core, as the ORM's flush would (an INSERT, then the reference its id makes), without
            # its unit of work; the row object returned is detached, for the caller's record.
            inserted = conn.execute(hotpath.INSERT_REQUEST, values).inserted_primary_key
            assert inserted is not None
            request_id = int(inserted[0])
            reference = f"{self.reference_prefix}-{received_at.year}-{request_id:06d}"
            conn.execute(hotpath.SET_REFERENCE, {"rid": request_id, "reference": reference})
            made.append(Request(id=request_id, reference=reference, **values))
        if made:
            hotpath.add_events(s, *({"submission_id": submission_id, "request_id": req.id, "actor": actor,
                                     "kind": "created", "new": req.state} for req in made))
        return made

    def _part_rows(self, submission_id: int, result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [self._part_row(submission_id, seq, part) for seq, part in enumerate((result or {}).get("parts") or [])]

    def _replace_parts(self, s: Session, submission_id: int, result: Mapping[str, Any] | None, *,
                       rows: list[dict[str, Any]] | None = None) -> None:
        # One DELETE and one INSERT of all parts, as Core (nothing hangs off a part row, and the
        # session never reads them back). `rows`: `_part_rows`, sealed before the write lock.
        conn = core(s)
        conn.execute(hotpath.DELETE_PARTS, {"sid": submission_id})
        rows = self._part_rows(submission_id, result) if rows is None else rows
        if rows:
            conn.execute(hotpath.INSERT_PART, rows)

    # -- made by an extraction or by hand ------------------------------------------------------

    def mark_extracted(
        self,
        submission_id: int,
        result: SubmissionResult,
        *,
        expected: Collection[str] = (_S.RECEIVED, _S.FAILED),
        actor: str = "pipeline",
        reason: str | None = None,
        sender_auth: Mapping[str, Any] | None = None,
        dumped: Mapping[str, Any] | None = None,
    ) -> list[RequestRecord]:
        """Record an extraction: parts, one request row per request found, events; one transaction.

        `result` is the extraction's `SubmissionResult`, kept sealed; each of its requests becomes
        a row (see `NewRequest.of`). The submission becomes `extracted`, or `needs_review` when no
        request was found. Raises `StateConflict` if the submission was not in `expected`
        (extracted by someone else). Returns the records made (the reply stage uses them as they
        are). `sender_auth`: the sender verdict (`record_sender_auth`'s argument), kept in the same
        transaction. `dumped`: `result.model_dump(mode="json")` when the caller made it already (the
        pipeline keeps it for the reply stage: one dump of the result per extraction).
        """
        stored = dict(dumped) if dumped is not None else result.model_dump(mode="json")
        items = [NewRequest.of(r, dumped=d) for r, d in zip(result.requests, stored["requests"], strict=True)]
        new_state = _S.EXTRACTED if items else _S.NEEDS_REVIEW
        if not items and reason is None:
            reason = "no request found in the submission"
        # Sealed and masked before the write lock is taken: the process's writers queue on it.
        extra: dict[str, Any] = {"result": self._seal("json", stored, _result_aad(submission_id))}
        # The rows too, numbered from 0 as a submission waiting for its extraction has no request.
        now = now_utc()
        rows = [self._new_row(submission_id, seq, item, now) for seq, item in enumerate(items)]
        part_rows = self._part_rows(submission_id, stored)
        verdict = kept_verdict(sender_auth) if sender_auth is not None else None
        if verdict is not None:
            extra["sender_auth"] = verdict  # in the state move's UPDATE: one statement less
        with self._write(redone=True) as s:
            # The state and the received time (the references' year) in one look, not the whole row
            # with its raw message.
            found = core(s).execute(hotpath.SUBMISSION_STATE_RECEIVED, {"sid": submission_id}).one_or_none()
            if found is None:
                raise NotFound(f"no submission {submission_id}")
            old, received_at = found
            self._move_submission(s, submission_id, new_state, expected=expected, actor=actor, reason=reason,
                                  extra=extra, old=old)
            if verdict is not None:
                hotpath.add_events(s, sender_auth_event(submission_id, verdict))
            self._replace_parts(s, submission_id, stored, rows=part_rows)
            made = self._add_requests(s, submission_id, received_at, items, actor=actor, rows=rows)
            s.flush()
        # The records (typed requests, validated) are made after the commit, outside the write lock.
        return [_clear_record(r, item, res) for r, item, res in zip(made, items, result.requests, strict=True)]

    def add_manual_request(self, submission_id: int, request: CertificateRequest, problems: Sequence[Problem], *,
                           actor: str) -> RequestRecord:
        """A request staff enter by hand for a submission nothing was read from; in `needs_review`."""
        item = NewRequest.manual(request, problems)
        with self._write() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            (req,) = self._add_requests(s, sub.id, sub.received_at, [item], actor=actor)
            s.flush()
            return _clear_record(req, item)

    # -- read ------------------------------------------------------------------------------------

    def requests_of(self, submission_id: int) -> list[RequestRecord]:
        with self._read() as s:
            rows = s.scalars(select(Request).where(Request.submission_id == submission_id).order_by(Request.seq))
            return [self._request_record(r) for r in rows]

    def get_request(self, request_id: int) -> RequestRecord:
        with self._read() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            return self._request_record(r)

    def find_request(self, reference: str) -> RequestRecord | None:
        with self._read() as s:
            r = s.scalar(select(Request).where(Request.reference == reference.strip().upper()))
            return None if r is None else self._request_record(r)

    def request_submission(self, request_id: int) -> tuple[RequestRecord, SubmissionRecord]:
        """A request and its submission, read in one transaction."""
        with self._read() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            sub = s.get(Submission, r.submission_id)
            if sub is None:
                raise NotFound(f"no submission {r.submission_id}")
            return self._request_record(r), self._submission_record(sub)

    def replies_of_request(self, request_id: int) -> list[OutboxItem]:
        """Replies queued for this request itself (staff decisions), oldest first."""
        with self._read() as s:
            rows = s.scalars(select(Outbox).where(Outbox.request_id == request_id).order_by(Outbox.id))
            return [copy_record(OutboxItem, o) for o in rows]

    def requests_for_export(self, states: Collection[str], *, exported: bool | None = None,
                            limit: int = 500) -> list[RequestRecord]:
        """Requests in `states` for the certificate system; `exported` filters on an `exported` event."""
        exported_ids = select(Event.request_id).where(Event.kind == "exported", Event.request_id.is_not(None))
        q = select(Request).where(Request.state.in_(sorted(states))).order_by(Request.id).limit(limit)
        if exported is True:
            q = q.where(Request.id.in_(exported_ids))
        elif exported is False:
            q = q.where(Request.id.not_in(exported_ids))
        with self._read() as s:
            return [self._request_record(r) for r in s.scalars(q)]

    def possible_duplicates(self, request_id: int) -> list[RequestRecord]:
        """Other open or finished requests for the same SSN and country whose dates overlap.

        Candidates are found by the SSN's last four digits and the country (indexed), then the full
        SSN and the periods are compared here.
        """
        me = self.get_request(request_id)
        ssn = me.request.worker.ssn
        if not ssn or not me.ssn_last4 or not me.country:
            return []
        start, end = me.request.assignment.start_date, me.request.assignment.end_date
        out: list[RequestRecord] = []
        with self._read() as s:
            rows = s.scalars(select(Request).where(
                Request.ssn_last4 == me.ssn_last4, Request.country == me.country, Request.id != request_id,
                Request.state.not_in([RequestState.NOT_A_REQUEST])))
            for r in rows:
                rec = self._request_record(r)
                if re.sub(r"\D", "", rec.request.worker.ssn or "") != re.sub(r"\D", "", ssn):
                    continue
                o_start, o_end = rec.request.assignment.start_date, rec.request.assignment.end_date
                if start and end and o_start and o_end and not (o_start <= end and start <= o_end):
                    continue
                out.append(rec)
        return out

    # -- moved and corrected by staff -----------------------------------------------------------

    def set_request_state(self, request_id: int, new_state: str, *, actor: str,
                          expected: Collection[str] | None = None, reason: str | None = None) -> str:
        """Move a request (staff review); returns the old state. One transaction with its event."""
        if new_state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        # Typed by staff (a rejection's reason may quote the SSN) and kept in clear: SSNs masked.
        reason = mask_ssns(reason) if reason else reason
        with self._write() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            old = r.state
            if expected is not None and old not in expected:
                raise StateConflict(f"request {request_id} is {old}, expected one of {sorted(expected)}")
            res = s.execute(update(Request).where(Request.id == request_id, Request.state == old)
                            .values(state=new_state, updated_at=now_utc()))
            if res.rowcount != 1:  # type: ignore[attr-defined]
                raise StateConflict(f"request {request_id} changed state concurrently")
            s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind="state",
                        field="state", old=old, new=new_state))
            if reason:
                s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind="reason",
                            field="reason", new=reason))
            return old

    def update_request(
        self,
        request_id: int,
        fields: CertificateRequest | Mapping[str, Any],
        problems: Sequence[Problem | Mapping[str, Any]],
        changes: Sequence[tuple[str, str | None, str | None]],
        *,
        actor: str,
        new_state: str | None = None,
        expected_states: Collection[str] | None = None,
        kind: str = "field",
    ) -> RequestRecord:
        """Staff corrected a request: new fields and problems, one event per changed field, and
        optionally a state move, all in one transaction. `changes` are (path, old, new), already
        masked by the caller; nothing is overwritten without its event.
        """
        if new_state is not None and new_state not in REQUEST_STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        with self._write() as s:
            r = s.get(Request, request_id)
            if r is None:
                raise NotFound(f"no request {request_id}")
            if expected_states is not None and r.state not in expected_states:
                raise StateConflict(f"request {request_id} is {r.state}, expected one of {sorted(expected_states)}")
            clear = jsonable(fields if isinstance(fields, CertificateRequest) else dict(fields))
            for key, value in self._seal_request(r.submission_id, r.seq, fields=clear,
                                                 problems=jsonable(list(problems))).items():
                setattr(r, key, value)
            for key, value in search_columns(clear).items():
                setattr(r, key, value)
            r.updated_at = now_utc()
            for path, old, new in changes:
                s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind=kind,
                            field=path, old=old, new=new))
            if new_state is not None and new_state != r.state:
                s.add(Event(submission_id=r.submission_id, request_id=request_id, actor=actor, kind="state",
                            field="state", old=r.state, new=new_state))
                r.state = new_state
            s.flush()
            return self._request_record(r)


def _clear_record(r: Request, item: NewRequest, made_from: RequestResult | None = None) -> RequestRecord:
    """The record of a row just written, from the clear values it was made of (nothing decrypted).
    `made_from`: the typed request the row was dumped from, taken as it is (not validated again)."""
    typed = (typed_request(item.fields, item.problems) if made_from is None
             else {"request": made_from.request.model_copy(), "problems": list(made_from.problems)})
    return copy_record(RequestRecord, r, reference=r.reference or "", provenance=item.provenance, **typed)


def _result_aad(submission_id: int) -> str:
    return aad("submissions.result", submission_id)
