"""A submission with many requests (a mail with several workers, a sheet of rows) as one batch:
its requests side by side, and a correction of the fields they share (the employer, its EIN and
address) made once and applied to every open request, recorded in each one's audit trail.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from intake import fieldgroups
from intake.model import max_length
from intake.store import NotFound, Store
from intake.store.store import RequestRecord
from intake.web import review
from intake.web.context import Ctx, Staff, WebContext
from intake.web.users import Account, SessionInfo

COMMON_PATHS = ("employer.name", "employer.ein", "employer.address.street", "employer.address.city",
                "employer.address.state", "employer.address.postal_code")
EDITABLE = (*review.OPEN_STATES, "accepted")


@dataclass(frozen=True)
class CommonField:
    """A shared field: the value most of the requests hold, and how many other values there are."""

    path: str
    label: str
    value: str
    others: int
    max_length: int | None


def common_fields(recs: list[RequestRecord], account: Account) -> list[CommonField]:
    out = []
    for path in COMMON_PATHS:
        values = Counter(review.shown_value(path, review.flat_values(r.request).get(path, ""), account) for r in recs)
        value = values.most_common(1)[0][0] if values else ""
        out.append(CommonField(path, fieldgroups.full_label(path), value, len(values) - 1,
                               max_length(path)))
    return out


def apply_common(store: Store, recs: list[RequestRecord], changes: dict[str, str], account: Account) -> list[str]:
    """Apply the changed shared fields to every open request; the references left alone (and why)."""
    skipped = []
    for rec in recs:
        if rec.state not in EDITABLE:
            skipped.append(f"{rec.reference} ({rec.state.replace('_', ' ')})")
            continue
        try:
            review.correct(store, rec, changes, account, kind="batch")
        except review.ActionError as exc:
            skipped.append(f"{rec.reference} ({exc})")
    return skipped


def requests_of(ctx: WebContext, sid: int) -> list[RequestRecord]:
    try:
        ctx.store.get_submission(sid)
    except NotFound:
        raise HTTPException(404, "no such submission") from None
    recs = ctx.store.requests_of(sid)
    if not recs:
        raise HTTPException(404, "nothing was read from this submission: it has no requests")
    return recs


def batch_page(ctx: WebContext, request: Request, info: SessionInfo, sid: int, *, message: str = "",
               status: int = 200, error: str = "") -> Response:
    recs = requests_of(ctx, sid)
    sub = ctx.store.get_submission(sid)
    rows: list[dict[str, Any]] = [{"rec": r, "blocking": len(review.blocking(r.problems_json()))} for r in recs]
    return ctx.page(request, "batch.html.j2", info, status=status, sub=sub, rows=rows,
                    common=common_fields(recs, info.account), message=message, error=error,
                    editable=any(r.state in EDITABLE for r in recs))


router = APIRouter(include_in_schema=False)


@router.get("/submissions/{sid}/batch")
def show_batch(request: Request, ctx: Ctx, info: Staff, sid: int, done: str = "") -> Response:
    return batch_page(ctx, request, info, sid, message="The correction was applied to every open request "
                                                       "of the submission." if done == "batch" else "")


@router.post("/submissions/{sid}/batch")
async def correct_batch(request: Request, ctx: Ctx, info: Staff, sid: int) -> Response:
    form = await ctx.checked_form(request, info)
    recs = requests_of(ctx, sid)
    changes = {}
    for path in COMMON_PATHS:
        new, was = form.get(f"f:{path}"), form.get(f"was:{path}")
        everywhere = bool(form.get(f"all:{path}"))  # also where another value is held
        if isinstance(new, str) and isinstance(was, str) and (new.strip() != was.strip() or everywhere):
            changes[path] = new
    if not changes:
        return batch_page(ctx, request, info, sid, message="Nothing was changed.")
    skipped = apply_common(ctx.store, recs, changes, info.account)
    if skipped:
        return batch_page(ctx, request, info, sid, message="Applied, except to " + "; ".join(skipped) + ".")
    return RedirectResponse(f"/submissions/{sid}/batch?done=batch", status_code=303)
