"""A new extraction of a stored submission (`coc-intake reprocess`) replacing the old one.

Only requests nobody has touched are overwritten; the old result goes into the audit trail first.
New requests are made by the one row builder of `intake.store.requests`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from intake.store.core import aad
from intake.store.events import EventStore, staff_touched_query
from intake.store.models import Event, Request, Submission
from intake.store.records import NewRequest, NotFound, Reprocessed, now_utc, search_columns
from intake.store.requests import RequestStore
from intake.store.states import REPROCESSABLE_STATES, SUBMISSION_FOR_STAFF, SubmissionState

if TYPE_CHECKING:  # the extraction's result type, named in annotations only
    from intake.extract import SubmissionResult


class ReprocessStore(RequestStore, EventStore):
    """`replace_extraction`, on the requests and the trail."""

    def replace_extraction(
        self,
        submission_id: int,
        new: SubmissionResult,
        *,
        summarize: Callable[[Mapping[str, Any]], str],
        actor: str = "reprocess",
    ) -> Reprocessed:
        """A new extraction of a stored submission replaces the old one, in one transaction.

        The old result goes into the audit trail first (`summarize` turns a request's fields into
        masked text: never a full SSN). Requests staff have not touched (state `accepted` or
        `needs_review`, no event by a person) get the new fields; the others are left alone. New
        requests are matched to old ones by the SSN's last four digits, then by position, so a
        request stays one request; new ones found now are added, old ones not found again are kept.
        A submission that had no request and now has some is `done` (its reply was decided).
        """
        result = new.model_dump(mode="json")
        items = [NewRequest.of(x) for x in new.requests]
        now = now_utc()
        with self._write() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            old_result = self._unseal("json", sub.result, aad("submissions.result", submission_id),
                                      submission_id) or {}
            # Rows locked first (PostgreSQL; SQLite's write transaction is exclusive already), then
            # the staff events read: a correction committed meanwhile is seen and its request kept.
            old_reqs = list(s.scalars(select(Request).where(Request.submission_id == submission_id)
                                      .order_by(Request.seq).with_for_update()))
            touched = {int(i) for i in s.scalars(staff_touched_query(submission_id).distinct()) if i is not None}
            old_fields = {r.id: self._request_values(r)["fields"] or {} for r in old_reqs}
            old_summary = "; ".join(summarize(old_fields[r.id]) for r in old_reqs) or "no request"
            new_summary = "; ".join(summarize(i.fields) for i in items) or "no request"
            n_old_parts = len(old_result.get("parts") or [])
            s.add(Event(submission_id=submission_id, actor=actor, kind="reprocessed", field="result",
                        old=f"{len(old_reqs)} request(s), {n_old_parts} part(s): {old_summary}"[:4000],
                        new=f"{len(items)} request(s): {new_summary}"[:4000]))
            sub.result = self._seal("json", result, aad("submissions.result", submission_id))
            sub.updated_at = now
            self._replace_parts(s, submission_id, result)
            pairs, free = _match(items, old_reqs)
            out = Reprocessed()
            out.unmatched.extend(r.id for r in free)
            fresh: list[NewRequest] = []
            for i, item in enumerate(items):
                old = pairs.get(i)
                if old is None:
                    fresh.append(item)
                    continue
                if old.id in touched or old.state not in REPROCESSABLE_STATES:
                    out.kept.append(old.id)
                    continue
                s.add(Event(submission_id=submission_id, request_id=old.id, actor=actor, kind="reprocessed",
                            field="fields", old=summarize(old_fields[old.id])[:4000],
                            new=summarize(item.fields)[:4000]))
                if item.state != old.state:
                    s.add(Event(submission_id=submission_id, request_id=old.id, actor=actor, kind="state",
                                field="state", old=old.state, new=item.state))
                for key, value in self._seal_request(old.submission_id, old.seq, fields=item.fields,
                                                     problems=item.problems, provenance=item.provenance).items():
                    setattr(old, key, value)
                old.confidence = dict(item.confidence)
                old.state = item.state
                old.updated_at = now
                for key, value in search_columns(item.fields).items():
                    setattr(old, key, value)
                out.replaced.append(old.id)
            next_seq = max((r.seq for r in old_reqs), default=-1) + 1
            out.added.extend(r.id for r in self._add_requests(s, sub.id, sub.received_at, fresh, actor=actor,
                                                                 first_seq=next_seq))
            if items and sub.state in SUBMISSION_FOR_STAFF:
                self._move_submission(s, submission_id, SubmissionState.DONE, expected=None, actor=actor,
                                      reason=sub.reason)
            s.flush()
            return out


def _match(items: Sequence[NewRequest], old_reqs: list[Request]) -> tuple[dict[int, Request], list[Request]]:
    """New requests paired with old ones: same SSN last four first, then by position among the rest."""
    pairs: dict[int, Request] = {}
    free = list(old_reqs)
    for i, item in enumerate(items):
        last4 = search_columns(item.fields)["ssn_last4"]
        hit = next((r for r in free if last4 and r.ssn_last4 == last4), None)
        if hit is not None:
            pairs[i] = hit
            free.remove(hit)
    for i in range(len(items)):
        if i not in pairs and free:
            pairs[i] = free.pop(0)
    return pairs, free
