"""A submission nothing was read from (or whose requests staff look at as one): its page, its page
images (supervisors only: nothing was read, so nothing can be masked), entering a request by hand,
closing it as nothing to do.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from intake.store import StateConflict
from intake.web import review, trustcheck
from intake.web.context import Ctx, Staff

router = APIRouter(include_in_schema=False)


@router.get("/submissions/{sid}")
def show_submission(request: Request, ctx: Ctx, info: Staff, sid: int, error: str = "") -> Response:
    store = ctx.store
    sub = trustcheck.recheck_sender(store, ctx.settings, ctx.get_submission(sid))
    parts = ctx.parts_of(sub)
    events = store.events_of(submission_id=sid)
    return ctx.page(request, "submission.html.j2", info, sub=sub, parts=parts, events=events,
                    requests=store.requests_of(sid), sender=sub.sender or "")


@router.get("/submissions/{sid}/parts/{part}/pages/{pageno}.png")
def submission_image(ctx: Ctx, info: Staff, sid: int, part: int, pageno: int) -> Response:
    if not info.account.sees_full_ssn:
        # Nothing was read, so nothing can be masked: only those who may see SSNs see the pages.
        raise HTTPException(403, "only a supervisor sees the pages of an unread submission")
    sub = ctx.get_submission(sid)
    parts = ctx.parts_of(sub)
    if not 0 <= part < len(parts) or not parts[part].is_image:
        raise HTTPException(404, "no such page")
    return ctx.page_png(sub, parts[part], pageno, [])


@router.post("/submissions/{sid}/request")
async def enter_request(request: Request, ctx: Ctx, info: Staff, sid: int) -> Response:
    await ctx.checked_form(request, info)
    sub = ctx.get_submission(sid)
    if sub.state not in ("needs_review", "failed"):
        raise HTTPException(409, "this submission is not waiting for staff")
    empty, problems = review.check({})
    rec = ctx.store.add_manual_request(sid, empty, problems, actor=info.account.name)
    return RedirectResponse(f"/requests/{rec.id}", status_code=303)


@router.post("/submissions/{sid}/close")
async def close_submission(request: Request, ctx: Ctx, info: Staff, sid: int) -> Response:
    form = await ctx.checked_form(request, info)
    ctx.get_submission(sid)
    reason = " ".join(str(form.get("reason") or "").split())[:1000] or "closed by staff: nothing to do"
    try:
        ctx.store.close_submission(sid, actor=info.account.name, reason=reason)
    except StateConflict:
        raise HTTPException(409, "this submission is not waiting for staff") from None
    return RedirectResponse("/", status_code=303)
