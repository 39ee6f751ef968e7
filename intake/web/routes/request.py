"""One request's page (`/requests/{rid}`): the source beside the fields read from it, the boxes
they were read from, problems, duplicates, the conversation and the audit trail; its page images;
"next request" in the queue.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from intake.answers import conversation_of
from intake.store.store import RequestRecord
from intake.validate import mask_ssn
from intake.web import clerk, redaction, review, trail, trustcheck
from intake.web.context import Ctx, Staff, WebContext
from intake.web.pages import SourcePart
from intake.web.users import SessionInfo

DONE_MESSAGES = {
    "saved": "Corrections saved.",
    "unchanged": "Nothing was changed.",
    "accepted": "Accepted: the acknowledgement is queued if one was due.",
    "approved": "Approved.",
    "rejected": "Rejected: the requester is told the reason.",
    "set_aside": "Marked as not a request.",
    "merged": "The duplicate was merged into this request.",
    "confirmed": "The value was confirmed as read.",
    "claimed": "The assignment was changed.",
    "batch": "The correction was applied to every request of the submission.",
}

router = APIRouter(include_in_schema=False)


def provenance_boxes(rec: RequestRecord, parts: list[SourcePart]) -> list[dict[str, Any]]:
    """Where on the page images each field was read: its path, part index, page and box."""
    names = {p.name: p.index for p in parts}
    boxes = []
    for path, prov in (rec.provenance or {}).items():
        box = (prov or {}).get("box")
        if not box:
            continue
        idx = names.get(str(prov.get("part")))
        if idx is None and len(parts) == 1:
            idx = 0
        if idx is None:
            continue
        boxes.append({"path": path, "part": idx, "page": int(prov.get("page") or 1), **box})
    return boxes


def request_page(ctx: WebContext, request: Request, info: SessionInfo, rec: RequestRecord, *, status: int = 200,
                 error: str = "", done: str = "") -> HTMLResponse:
    """The request page as this viewer may see it (also the answer to a refused action, with `error`)."""
    store, users = ctx.store, ctx.users
    sub = store.get_submission(rec.submission_id)
    parts = ctx.parts_of(sub)
    events = trail.trail_of(store, rec)
    guessed = redaction.ssn_guessed(store, users, info, rec)
    duplicates = [] if guessed else store.possible_duplicates(rec.id)
    hidden_dups = redaction.ssn_guessed_of(store, users, info, [d.id for d in duplicates])
    duplicates = [d for d in duplicates if d.id not in hidden_dups]
    return ctx.page(request, "request.html.j2", info, status=status, rec=rec, sub=sub, parts=parts,
                    boxes=provenance_boxes(rec, parts),
                    locked=redaction.locked_parts(store, info, sub, parts),
                    general=review.request_problems(rec),
                    events=events, duplicates=duplicates, duplicates_hidden=guessed, error=error,
                    done=DONE_MESSAGES.get(done, ""),
                    conversation=conversation_of(store, rec),
                    version=trail.version_of(store, rec.id),
                    blocking=review.blocking(rec.problems_json()), open_states=review.OPEN_STATES,
                    can_approve=review.may_approve(store, ctx.settings, rec, info.account),
                    sender=sub.sender or "",
                    worker_ssn=mask_ssn(rec.request.worker.ssn or ""),
                    **clerk.page_context(store, ctx.settings, rec, sub, info, events, ctx.presence, parts))


@router.get("/requests/{rid}")
def show_request(request: Request, ctx: Ctx, info: Staff, rid: int, done: str = "") -> Response:
    rec = ctx.get_record(rid)
    sub = ctx.store.get_submission(rec.submission_id)
    if trustcheck.recheck_due(sub):  # the sender check ran out of time: try again now
        trustcheck.recheck_sender(ctx.store, ctx.settings, sub)
        rec = ctx.get_record(rid)
    return request_page(ctx, request, info, rec, done=done)


@router.get("/requests/{rid}/next")
def next_request(ctx: Ctx, info: Staff, rid: int) -> Response:
    rows = ctx.store.queue(states=review.OPEN_STATES, limit=500)
    ids = clerk.not_taken(ctx.store, [r.request.id for r in rows], info.account.name, keep=rid)
    later = ids[ids.index(rid) + 1:] if rid in ids else ids
    target = next((i for i in later if i != rid), None)
    return RedirectResponse(f"/requests/{target}" if target else "/", status_code=303)


@router.get("/requests/{rid}/parts/{part}/pages/{pageno}.png")
def page_image(ctx: Ctx, info: Staff, rid: int, part: int, pageno: int) -> Response:
    rec = ctx.get_record(rid)
    sub = ctx.store.get_submission(rec.submission_id)
    parts = ctx.parts_of(sub)
    if not 0 <= part < len(parts) or not parts[part].is_image:
        raise HTTPException(404, "no such page")
    hide = redaction.page_mask(ctx.store, info, sub, parts, part, pageno)
    if hide is None:
        raise HTTPException(403, "this document shows an SSN that could not be located on its pages: "
                                 "only a supervisor sees them")
    return ctx.page_png(sub, parts[part], pageno, hide)
