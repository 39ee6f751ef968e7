"""The public online request form, `/request`: our form as a web page, into the same pipeline.

No staff login. The page is built from the field list of the current edition of the PDF form
(`intake.online_fields`), checked as it is typed by the review page's own check (`review.check`,
the rules of `intake.validate`; no second copy in JavaScript) and again when it is submitted, and
works without JavaScript (the form comes back with its problems beside the fields). A submission is
stored as channel `web` (raw content: the submitted fields, sealed like every submission), read by
`parsers.web_form` and recorded before the page answers, so the answer shows the reference number.

Abuse: a CSRF token (double submit: cookie and field, SameSite=Strict), per-address limits on
submissions and checks, the model's size limit per field and `[online]` limits per post and
upload, a honeypot field, nothing personal in URLs (everything is posted) or in logs, and the
staff pages' security headers (the app's middleware).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment

from intake.extract import extract_submission
from intake.form import editions
from intake.model import Problem
from intake.online_fields import (
    TYPES,
    US_STATES,
    agreement_countries,
    countries,
    edition_line,
    field_paths,
    for_type,
    sections,
)
from intake.online_replies import queue_confirmation_link
from intake.senderauth import verdict_for
from intake.settings import Settings
from intake.store import Incoming, RequestRecord, StateConflict, Store
from intake.store.online import confirm, find_link
from intake.web.masking import rendering_for
from intake.web.online_batch import batch_routes
from intake.web.online_checks import HONEYPOT, blocking, by_field
from intake.web.review import check
from intake.web.routes.public import static_file
from parsers import web_form
from parsers.types import Limits

_SEEN_LIMIT = 100_000  # addresses the rate limit remembers before it forgets the idle ones

log = logging.getLogger("intake.web.online")

FORM_COOKIE = "coc_form"
OnNew = Callable[[int], None]


class TooLarge(Exception):
    """A post over `[online] max_form_bytes` (or an upload over `max_upload_bytes`)."""


class RateLimiter:
    """At most `limit` events per client address and kind in the last hour, in this process.

    In memory, not in the database: the page is served by one process, and a restart forgetting
    the counts only gives an abuser a fresh hour. The addresses are never logged.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, kind: str, client: str, limit: int, *, now: float | None = None) -> float:
        """0 when allowed (and counted), else the seconds until the next one is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen[(kind, client)]
            while times and times[0] <= now - 3600:
                times.popleft()
            if len(times) >= limit:
                return times[0] + 3600 - now
            times.append(now)
            if len(self._seen) > _SEEN_LIMIT:  # many addresses: forget the idle ones
                for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - 3600]:
                    del self._seen[key]
            return 0.0


@dataclass(frozen=True)
class Posted:
    """A form post, read under the size limit: its fields (text) and files (name, bytes)."""

    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]]


async def read_post(request: Request, limit: int) -> Posted:
    """The post's fields, refusing one over `limit` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge()
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        request._body = bytes(body)
        form = await request.form(max_files=2, max_fields=400)
        fields, files = {}, {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
            else:
                files[key] = (value.filename or "upload", await value.read())
        return Posted(fields, files)
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=400)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form could not be read") from None
    return Posted(dict(pairs), {})


def values_of(posted: dict[str, str], request_type: str) -> dict[str, str]:
    """The model values of a post: only the paths of the type's page, stripped, empty ones left out."""
    allowed = set(field_paths(request_type))
    out = {"request_type": request_type}
    for key, value in posted.items():
        if key in allowed and key != "request_type" and value.strip():
            out[key] = value.strip()
    return out


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


class OnlineForm:
    """The routes' shared state: settings, store, templates, limits, and whom to tell of a submission."""

    def __init__(self, settings: Settings, store: Store, env: Environment, on_new: OnNew | None = None) -> None:
        self.settings = settings
        self.store = store
        self.env = env
        self.on_new = on_new
        self.limiter = RateLimiter()

    # -- helpers ---------------------------------------------------------------------------------

    def secure(self, request: Request) -> bool:
        return self.settings.web.secure_cookies or request.url.scheme == "https"

    def token(self, request: Request) -> str:
        return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)

    def csrf_ok(self, request: Request, posted: Posted) -> bool:
        cookie = request.cookies.get(FORM_COOKIE) or ""
        sent = posted.fields.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        return bool(cookie and sent) and secrets.compare_digest(cookie, sent)

    def render(self, request: Request, name: str, status: int = 200, *, keep: tuple[str, ...] = (),
               **ctx: Any) -> HTMLResponse:
        token = self.token(request)
        # Nobody is logged in: every printed SSN is masked, except what the requester typed into
        # this form themselves (`keep`), which goes back into their own masked input.
        with rendering_for(None, keep=(token, *keep)):
            html = self.env.get_template(name).render(csrf=token, edition=edition_line(), types=TYPES,
                                                      path=request.url.path, **ctx)
        resp = HTMLResponse(html, status_code=status)
        resp.set_cookie(FORM_COOKIE, token, httponly=True, samesite="strict", secure=self.secure(request),
                        path="/request")
        return resp

    def refuse(self, request: Request, status: int, message: str, retry: float = 0) -> HTMLResponse:
        resp = self.render(request, "online_error.html.j2", status, message=message)
        if retry:
            resp.headers["Retry-After"] = str(int(retry) + 1)
        return resp

    def form_page(self, request: Request, request_type: str, values: dict[str, str],
                  problems: list[Problem] | None = None, status: int = 200, submitted: bool = False) -> HTMLResponse:
        shown = problems or []
        return self.render(
            request, "online_form.html.j2", status, keep=(values.get("worker.ssn", ""),),
            request_type=request_type, sections=sections(request_type), values=values,
            problems=by_field(shown), general=[p for p in shown if not p.field], submitted=submitted,
            agreement_countries=agreement_countries(), countries=countries(), us_states=US_STATES,
            max_form_bytes=self.settings.online.max_form_bytes)

    def limited(self, request: Request, kind: str) -> float:
        limit = (self.settings.online.submissions_per_hour if kind == "submit"
                 else self.settings.online.checks_per_hour)
        return self.limiter.allow(kind, client_of(request), limit)

    # -- storing ---------------------------------------------------------------------------------

    def store_web(self, common: dict[str, str], rows: list[dict[str, str]] | None = None) -> list[RequestRecord]:
        """Store one web submission, read it and record its requests, all before answering.

        The form was read and checked here already, so the submission is extracted in this process
        (`parsers.web_form` is pure and quick) rather than waiting for the pipeline; the pipeline
        then only queues the acknowledgement (`on_new`). Should the pipeline's sweep take the
        submission first, its reading is the same and is what the page shows.
        """
        raw = web_form.encode(common, rows, edition=editions().current.label)
        sub_id, created = self.store.store_submission(Incoming(channel="web", raw=raw, sender=None,
                                                               received_at=datetime.now(UTC)))
        if created:
            limits = Limits(**self.settings.limits.model_dump())
            result = extract_submission(raw, channel="web", limits=limits)
            verdict = verdict_for("web", raw, None, self.settings.trust)
            self.store.record_sender_auth(sub_id, verdict.as_json())
            with contextlib.suppress(StateConflict):  # the pipeline's sweep read it first: the same reading
                self.store.mark_extracted(sub_id, result,
                                          reason="; ".join(p.message for p in result.problems) or None)
            address = common.get("confirmation_email") or ""
            if address:
                queue_confirmation_link(self.store, self.settings, sub_id, address)
            if self.on_new is not None:
                self.on_new(sub_id)
        made = self.store.requests_of(sub_id)
        log.info("web submission %d stored%s: %d request(s)", sub_id, "" if created else " (the same form again)",
                 len(made))
        return made

    def done_page(self, request: Request, made: list[RequestRecord], common: dict[str, str]) -> HTMLResponse:
        return self.render(request, "online_done.html.j2", references=[r.reference for r in made],
                           states={r.reference: r.state for r in made},
                           acknowledged=bool(common.get("employer.contact_email") or common.get("worker.email")),
                           confirmation=bool(common.get("confirmation_email")))


def router(settings: Settings, store: Store, env: Environment, on_new: OnNew | None = None) -> APIRouter:  # noqa: C901  (the online form's routes, one nested function each)
    """The `/request` routes (the app includes them when `[online] enabled`)."""
    form = OnlineForm(settings, store, env, on_new)
    api = APIRouter(include_in_schema=False)

    @api.get("/request")
    def start(request: Request, type: str = "") -> Response:
        if type in TYPES:
            return form.form_page(request, type, {"request_type": type})
        return form.render(request, "online_start.html.j2")

    async def posted_or_refused(request: Request, kind: str, limit: int | None = None) -> Posted | Response:
        limit = limit or settings.online.max_form_bytes
        try:
            posted = await read_post(request, limit)
        except TooLarge:
            return form.refuse(request, 413, f"What was sent is larger than the {limit:,} bytes it may be. "
                                             f"Shorten the longest entries (or the file) and send it again.")
        if not form.csrf_ok(request, posted):
            return form.refuse(request, 403, "The form has expired or did not come from this page. Open the form "
                                             "again (nothing was sent) and fill it in.")
        wait = form.limited(request, kind)
        if wait:
            log.warning("online form: %s refused, too many from one address this hour", kind)
            return form.refuse(request, 429, f"Too many requests from your address this hour. Please try again in "
                                             f"{int(wait // 60) + 1} minutes.", retry=wait)
        return posted

    @api.post("/request/check")
    async def check_as_typed(request: Request) -> Response:
        """The problems of the form as it stands (the page's script asks on every change)."""
        got = await posted_or_refused(request, "check")
        if isinstance(got, Response):
            retry = {"Retry-After": got.headers["Retry-After"]} if "Retry-After" in got.headers else {}
            return JSONResponse({"detail": "refused"}, status_code=got.status_code, headers=retry)
        request_type = got.fields.get("request_type", "")
        if request_type not in TYPES:
            return JSONResponse({"detail": "choose the request type first"}, status_code=400)
        _, problems = check(values_of(got.fields, request_type))
        shown = [p for p in problems if not p.field or for_type(p.field, request_type)]
        return JSONResponse({"problems": [p.model_dump(mode="json") for p in shown],
                             "blocking": len(blocking(shown))})

    @api.post("/request")
    async def submit(request: Request) -> Response:
        got = await posted_or_refused(request, "submit")
        if isinstance(got, Response):
            return got
        request_type = got.fields.get("request_type", "")
        if request_type not in TYPES:
            return RedirectResponse("/request", status_code=303)
        values = values_of(got.fields, request_type)
        if got.fields.get(HONEYPOT, "").strip():
            log.warning("online form: the hidden field was filled in (a robot); nothing stored")
            return form.refuse(request, 400, "The form could not be accepted. If you are a person, please "
                                             "open the form again and fill it in.")
        _, problems = check(values)
        problems = [p for p in problems if not p.field or for_type(p.field, request_type)]
        if blocking(problems):
            return form.form_page(request, request_type, values, problems, status=422, submitted=True)
        made = form.store_web(values)
        return form.done_page(request, made, values)

    @api.get("/request/confirm/{token}")
    def confirm_page(request: Request, token: str) -> Response:
        """The link of a confirmation-address mail: a button, so that a mail scanner fetching the
        link does not confirm the address on its own."""
        found = find_link(store, token[:100])
        if found is None or found.expired:
            return form.refuse(request, 404, "This confirmation link is not valid (or more than two weeks old).")
        return form.render(request, "online_confirm.html.j2", token=token, done=found.confirmed_at is not None)

    @api.post("/request/confirm/{token}")
    async def confirm_address(request: Request, token: str) -> Response:
        got = await posted_or_refused(request, "check")
        if isinstance(got, Response):
            return got
        if confirm(store, token[:100]) is None:
            return form.refuse(request, 404, "This confirmation link is not valid (or more than two weeks old).")
        return form.render(request, "online_confirm.html.j2", token=token, done=True)

    @api.get("/static/online.js")
    def script() -> Response:
        return static_file("online.js")

    @api.get("/static/online.css")
    def style() -> Response:
        return static_file("online.css")

    batch_routes(api, form, posted_or_refused)
    return api
