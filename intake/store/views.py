"""Operator views over several tables: counts per state (`coc-intake status`, `/metrics`), the
oldest waiting item of each kind, and the staff queue of the review page with its search."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from intake.store.core import StoreCore
from intake.store.models import Outbox, Request, Submission
from intake.store.records import LAST4, QueueRow, Waiting, now_utc
from intake.store.states import (
    OPEN_STATES,
    OUTBOX_STATES,
    OUTBOX_UNFINISHED,
    REQUEST_STATES,
    SUBMISSION_STATES,
    SUBMISSION_UNFINISHED,
    sorted_values,
)

MAX_REFERENCE_DIGITS = 12  # a search of digits alone up to this long may be a reference number
EIN_DIGITS = 9


class ViewStore(StoreCore):
    """Read-only views for operators and the staff queue."""

    def counts_by_state(self) -> dict[str, dict[str, int]]:
        """{"submissions": {state: n}, "requests": {...}, "replies": {...}}, every known state listed."""
        out: dict[str, dict[str, int]] = {}
        tables: Iterable[tuple[str, Any, tuple[str, ...]]] = (
            ("submissions", Submission, SUBMISSION_STATES),
            ("requests", Request, REQUEST_STATES),
            ("replies", Outbox, OUTBOX_STATES),
        )
        with self._read() as s:
            for name, model, states in tables:
                counts = dict.fromkeys(states, 0)
                for state, n in s.execute(select(model.state, func.count()).group_by(model.state)):
                    counts[str(state)] = int(n)
                out[name] = counts
        return out

    def oldest_waiting(self) -> list[Waiting]:
        """The oldest unfinished submission, request awaiting staff, and reply not yet sent."""
        unfinished: tuple[tuple[str, Any, Any, list[str]], ...] = (
            ("submission", Submission, Submission.received_at, sorted_values(SUBMISSION_UNFINISHED)),
            ("request", Request, Request.created_at, sorted_values(OPEN_STATES)),
            ("reply", Outbox, Outbox.created_at, sorted_values(OUTBOX_UNFINISHED)),
        )
        out: list[Waiting] = []
        with self._read() as s:
            for what, model, since, states in unfinished:
                row = s.execute(select(model.id, model.state, since).where(model.state.in_(states))
                                .order_by(since, model.id).limit(1)).first()
                if row is not None:
                    out.append(Waiting(what, int(row[0]), str(row[1]), row[2]))
        return out

    def queue(  # noqa: C901 - one condition per filter of the queue page, each a line
        self,
        *,
        states: Collection[str] | None = None,
        channels: Collection[str] | None = None,
        problem_code: str | None = None,
        country: str | None = None,
        received_from: datetime | None = None,
        received_to: datetime | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[QueueRow]:
        """Requests for the staff queue: those needing review first, then oldest first.

        `search` matches a reference (in full, or its number alone: `000007`), a worker or employer
        name (substring, any case; several words each in either name: `Kevin Brooks`), the last four
        digits of an SSN, or an EIN. `problem_code` is filtered here in Python because
        the problems are JSON (portable across SQLite and PostgreSQL); the queue is small.
        """
        review_first = case((Request.state.in_(sorted_values(OPEN_STATES)), 0), else_=1)
        q = (
            select(Request, Submission.channel, Submission.received_at, Submission.sender)
            .join(Submission, Submission.id == Request.submission_id)
            .order_by(review_first, Submission.received_at, Request.id)
        )
        if states:
            q = q.where(Request.state.in_(sorted(states)))
        if channels:
            q = q.where(Submission.channel.in_(sorted(channels)))
        if country:
            q = q.where(Request.country == country.strip().upper())
        if received_from is not None:
            q = q.where(Submission.received_at >= now_utc(received_from))
        if received_to is not None:
            q = q.where(Submission.received_at < now_utc(received_to))
        term = (search or "").strip()
        if term:
            q = q.where(_search_condition(term))
        if not problem_code:  # the page's rows only, not every row of the store decoded and dropped
            q = q.offset(offset).limit(limit)
            offset = 0
        out: list[QueueRow] = []
        skipped = 0
        with self._read() as s:
            for req, channel, received_at, sender in s.execute(q):
                rec = self._request_record(req)
                if problem_code and not any(p.code == problem_code for p in rec.problems):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                out.append(QueueRow(rec, str(channel), received_at, sender))
                if len(out) >= limit:
                    break
        return out


def _search_condition(term: str) -> Any:
    """What the queue's search box matches (see `ViewStore.queue`)."""
    like = f"%{term.lower()}%"
    digits = re.sub(r"\D", "", term)
    conds = [
        Request.reference == term.upper(),
        func.lower(Request.worker_name).like(like),
        func.lower(Request.employer_name).like(like),
    ]
    words = re.findall(r"[^\s,;]+", term.lower())
    if len(words) > 1:  # "Kevin Brooks": every word in the worker's or the employer's name
        conds.append(and_(*[or_(func.lower(Request.worker_name).like(f"%{w}%"),
                                func.lower(Request.employer_name).like(f"%{w}%")) for w in words]))
    if term.isdigit() and len(term) <= MAX_REFERENCE_DIGITS:  # a reference's number alone: 000007 (or 7)
        conds.append(Request.reference.like(f"%-{term.zfill(6)}"))
    if len(digits) == LAST4:
        conds.append(Request.ssn_last4 == digits)
    if len(digits) == EIN_DIGITS:
        conds.append(Request.employer_ein == f"{digits[:2]}-{digits[2:]}")
    if re.fullmatch(r"\d{2}-\d{7}", term):
        conds.append(Request.employer_ein == term)
    return or_(*conds)
