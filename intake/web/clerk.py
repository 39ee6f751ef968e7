"""The clerk's routes beside the review page's core (issue 16): confirm a value, claim a request,
presence heartbeats; and what the request page shows of them (`page_context`).

`router` is included by `intake.web.app.create_app`; its routes take the app's `WebContext` and
session checks (`intake.web.context`), so every rule of the staff pages (login, CSRF token on every
post, roles) holds here unchanged.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from intake.settings import Settings
from intake.store import Store
from intake.store.claims import assignees
from intake.store.store import RequestRecord, SubmissionRecord
from intake.web import clerkops, formview, mailhtml, review, spans
from intake.web.context import Ctx, Staff, submitted
from intake.web.pages import SourcePart
from intake.web.presence import Presence
from intake.web.users import SessionInfo
from parsers.pii import mask_ssns

ASSIGNED_FILTERS = ("me", "nobody")


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def page_context(store: Store, settings: Settings, rec: RequestRecord, sub: SubmissionRecord, info: SessionInfo,
                 events: list[Any], presence: Presence, parts: list[SourcePart]) -> dict[str, Any]:
    """What the request page shows beyond the core: the grouped form, the problems first, the reply
    each decision sends, who has the request and who else looks at it."""
    views = review.field_views(rec, info.account)
    confirmed = formview.confirmed_paths(events)
    groups = formview.form_groups(views, rec.request.request_type, confirmed)
    presence.touch(rec.id, info.account.name)
    others = presence.others(rec.id, info.account.name)
    text_spans = spans_of(rec, parts, views, info)
    siblings = store.requests_of(sub.id)
    position = next((i + 1 for i, r in enumerate(siblings) if r.id == rec.id), 1)
    return {"groups": groups, "problem_links": formview.problem_links(groups),
            "previews": clerkops.previews(store, settings, rec, sub, info.account),
            "assignee": assignees(store, [rec.id]).get(rec.id),
            "others": others.viewing, "editing_others": others.editing,
            "siblings": siblings, "position": position, "row_keys": row_keys(rec), "spans": text_spans,
            "span_paths": {p for segs in text_spans.values() for _, p in segs if p},
            "mail_html": Markup(html) if sub.channel in review.MAIL_CHANNELS and (html := mailhtml.html_body(sub.raw))
            else None}


def spans_of(rec: RequestRecord, parts: list[SourcePart], views: list[review.FieldView],
             info: SessionInfo) -> dict[int, list[spans.Segment]]:
    """The text parts' texts cut into the spans fields were read from, by part index: at the
    offsets the readers recorded, cut from the text as stored and masked afterwards for a reviewer."""
    stored = review.flat_values(rec.fields)
    shown = {v.path for v in views if v.value}
    mask = None if info.account.sees_full_ssn else mask_ssns
    out = {}
    for part in parts:
        if part.is_image or not part.text or "\t" in part.text:
            continue
        wanted = [spans.Wanted(path, stored.get(path, ""), str(prov.get("label") or ""), _span(prov.get("span")))
                  for path, prov in (rec.provenance or {}).items()
                  if isinstance(prov, dict) and not prov.get("box") and prov.get("part") == part.name
                  and path in shown and stored.get(path)]
        if wanted:
            segs = spans.segments(part.text, wanted, mask)
            if any(p for _, p in segs):
                out[part.index] = segs
    return out


def _span(value: object) -> tuple[int, int] | None:
    """A stored span (a JSON list of two offsets), or None."""
    if isinstance(value, list | tuple) and len(value) == len(("start", "end")) and \
            all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    return None


def row_keys(rec: RequestRecord) -> list[str]:
    """What picks the request's row out of its sheet's rows: the worker's first and last name."""
    worker = rec.request.worker
    return [name.lower() for name in (worker.first_name, worker.last_name) if name]


def done(request: Request, rid: int, what: str, **data: Any) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": True, **data})
    return RedirectResponse(f"/requests/{rid}?done={what}", status_code=303)


def refused(request: Request, rid: int, exc: review.ActionError) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    raise HTTPException(exc.status, str(exc))


router = APIRouter(include_in_schema=False)


@router.post("/requests/{rid}/confirm")
async def confirm(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    """"Value is right": without script the button posts the whole form, whose edits are saved first."""
    form = await ctx.checked_form(request, info)
    path = str(form.get("confirm") or form.get("path") or "")
    try:
        if any(k.startswith("f:") for k in form):
            review.correct(ctx.store, ctx.get_record(rid), submitted(form), info.account)
        clerkops.confirm_value(ctx.store, ctx.get_record(rid), path, info.account)
    except review.ActionError as exc:
        return refused(request, rid, exc)
    return done(request, rid, "confirmed", path=path)


@router.post("/requests/{rid}/claim")
async def claim(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    form = await ctx.checked_form(request, info)
    clerkops.claim(ctx.store, ctx.get_record(rid), info.account, take=str(form.get("take") or "") == "1")
    return done(request, rid, "claimed")


@router.post("/requests/{rid}/presence")
async def heartbeat(request: Request, ctx: Ctx, info: Staff, rid: int) -> Response:
    """The open page says it is still open (every 20 s), or that it is being closed (`leave`)."""
    form = await ctx.checked_form(request, info)
    ctx.get_record(rid)
    presence = ctx.presence
    if form.get("leave"):
        presence.leave(rid, info.account.name)
    else:
        presence.touch(rid, info.account.name, editing=bool(form.get("editing")))
    others = presence.others(rid, info.account.name)
    return JSONResponse({"others": others.viewing, "editing": others.editing})


def not_taken(store: Store, ids: list[int], name: str, *, keep: int) -> list[int]:
    """The requests not assigned to another clerk (Next request skips those), and `keep` (where one is)."""
    who = assignees(store, ids)
    return [i for i in ids if i == keep or who.get(i) in (None, name)]


def filter_assigned(store: Store, rows: list[Any], assigned: str, name: str) -> tuple[list[Any], dict[int, str]]:
    """Queue rows assigned to this clerk (`me`) or to nobody, and every row's assignee."""
    who = assignees(store, [r.request.id for r in rows])
    if assigned == "me":
        rows = [r for r in rows if who.get(r.request.id) == name]
    elif assigned == "nobody":
        rows = [r for r in rows if r.request.id not in who]
    return rows, who
