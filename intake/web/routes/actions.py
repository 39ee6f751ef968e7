"""What staff do to one request: check the form as typed, save corrections, accept, approve,
reject, set aside as not a request, merge a duplicate. Every post carries the session's CSRF
token; the rules of each action (roles, four eyes, states) are `intake.web.review`'s.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from intake.store import NotFound
from intake.store.store import RequestRecord
from intake.web import redaction, review, trail
from intake.web.context import Ctx, Staff, WebContext, submitted
from intake.web.routes.request import request_page
from intake.web.users import SessionInfo

router = APIRouter(include_in_schema=False)

Action = Callable[[RequestRecord, FormData], object]


@router.post("/requests/{rid}/check")
async def check_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    form = await ctx.checked_form(request, info)
    rec = ctx.get_record(rid)
    values_sent = submitted(form)
    overlong = review.too_long(rec, values_sent)
    if overlong:  # refused: the form cannot be saved like this (the page's maxlength stops typing sooner)
        shown = [review.safe_problem(p.model_dump(mode="json"), info.account) for p in overlong]
        return JSONResponse({"detail": " ".join(p["message"] for p in shown), "problems": shown,
                             "blocking": len(shown)}, status_code=422)
    values = review.merged_values(rec, values_sent, info.account)
    _, problems = review.check(values)
    # Never "kept because unchanged" for an SSN a reviewer typed: that would tell a right guess.
    changed = review.changed_paths(rec, values_sent, info.account)
    kept = [p for p in rec.problems_json() if p.get("code") in review.KEPT_CODES
            and p.get("field") not in changed]
    out = kept + [p.model_dump(mode="json") for p in problems]
    return JSONResponse({"problems": [review.safe_problem(p, info.account) for p in out],
                         "blocking": len(review.blocking(out))})


@router.post("/requests/{rid}/save")
async def save_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    form = await ctx.checked_form(request, info)
    rec = ctx.get_record(rid)
    sent_version = str(form.get("version") or "")
    if sent_version and sent_version != trail.version_of(ctx.store, rid):
        return request_page(ctx, request, info, rec, status=409,
                            error="Someone else changed this request while you edited it; your changes were "
                                  "not saved. Check the audit trail and correct again.")
    try:
        new = review.correct(ctx.store, rec, submitted(form), info.account)
    except review.ActionError as exc:
        return request_page(ctx, request, info, rec, status=exc.status, error=str(exc))
    done = "saved" if new is not rec else "unchanged"
    return RedirectResponse(f"/requests/{rid}?done={done}", status_code=303)


async def _act(ctx: WebContext, request: Request, info: SessionInfo, rid: int, done: str,
               action: Action) -> Response:
    form = await ctx.checked_form(request, info)
    rec = ctx.get_record(rid)
    try:
        action(rec, form)
    except review.ActionError as exc:
        return request_page(ctx, request, info, ctx.get_record(rid), status=exc.status, error=str(exc))
    return RedirectResponse(f"/requests/{rid}?done={done}", status_code=303)


@router.post("/requests/{rid}/accept")
async def accept_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    return await _act(ctx, request, info, rid, "accepted",
                      lambda rec, form: review.accept(ctx.store, ctx.settings, rec, info.account))


@router.post("/requests/{rid}/approve")
async def approve_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    return await _act(ctx, request, info, rid, "approved",
                      lambda rec, form: review.approve(ctx.store, ctx.settings, rec, info.account))


@router.post("/requests/{rid}/reject")
async def reject_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    return await _act(ctx, request, info, rid, "rejected",
                      lambda rec, form: review.reject(ctx.store, ctx.settings, rec, info.account,
                                                      str(form.get("reason") or "")))


@router.post("/requests/{rid}/not-a-request")
async def set_aside(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    return await _act(ctx, request, info, rid, "set_aside",
                      lambda rec, form: review.not_a_request(ctx.store, rec, info.account,
                                                             str(form.get("reason") or "")))


@router.post("/requests/{rid}/merge")
async def merge_request(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    def _merge(rec: RequestRecord, form: FormData) -> None:
        try:
            other = ctx.store.get_request(int(str(form.get("other") or "0")))
        except (NotFound, ValueError):
            raise review.ActionError("no such request to merge", status=400) from None
        if (redaction.ssn_guessed(ctx.store, ctx.users, info, rec)
                or redaction.ssn_guessed(ctx.store, ctx.users, info, other)):
            raise review.ActionError("a reviewer typed the SSN of one of these requests: a supervisor "
                                     "merges them", status=403)
        review.merge(ctx.store, rec, other, info.account)

    return await _act(ctx, request, info, rid, "merged", _merge)
