"""The staff review page and the JSON API: FastAPI, pages rendered on the server with Jinja2.

Security lives here, in one place: every page but login, help and the blank form needs a session;
every form post carries the session's CSRF token; supervisors alone approve, reject and see full
SSNs; the certificate system uses bearer tokens of its own role on `/api/v1`. Responses carry a
strict Content-Security-Policy (scripts and styles only from `/static`), so a value read from a
hostile document can never run as script even if escaping failed somewhere.

No `from __future__ import annotations` here: FastAPI reads the route annotations at run time, and
some of them (`Staff`, `Token`) are local to `create_app`.
"""

import ipaddress
import logging
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from intake.answers import conversation_of
from intake.model import CertificateRequest, Problem
from intake.reference import agreements, help_texts
from intake.settings import Settings
from intake.store import NotFound, StateConflict, Store
from intake.store.states import REQUEST_STATES, RequestState
from intake.store.store import EventRecord, RequestRecord, SubmissionRecord
from intake.validate import mask_ssn
from intake.web import batch, clerk, clerkops, review, trustcheck
from intake.web.masking import finalize, rendering_for
from intake.web.pages import PageTooLarge, RenderLimit, SourcePart, cached_png, source_parts
from intake.web.presence import Presence
from intake.web.users import SessionInfo, Users
from parsers.pii import count_ssns, mask_ssns

log = logging.getLogger("intake.web")

SESSION_COOKIE = "coc_session"
LOGIN_COOKIE = "coc_login"
# One name per channel as clerks know them: mail however it reached us (mailbox, SMTP, LMTP), or fax.
CHANNEL_FILTERS = {"email": ("imap", "smtp", "lmtp"), "fax": ("fax",)}
QUEUE_PAGE = 50  # queue rows per page
CHANNEL_NAMES = {"imap": "email", "smtp": "email", "lmtp": "email", "fax": "fax"}
OLD_CHANNEL_FILTERS = {"smtp": ("smtp", "lmtp"), "imap": ("imap",)}  # links bookmarked before
PROBLEM_CODES = ("missing", "invalid", "low_confidence", "conflict", "not_agreement_country", "period_too_long",
                 "start_in_past", "nationality_rule", "outdated_edition", "no_reply_number",
                 *review.TRUST_CODES)


def fax_job_text(o: Any) -> str:
    """How a fax reply left, for the trail: " (hylafax job 12, done)"; "" for mail or older rows."""
    if o.channel != "fax" or not o.fax_transport:
        return ""
    job = f" job {o.fax_job}" if o.fax_job else ""
    state = f", {o.fax_state}" if o.fax_state else ""
    return f" ({o.fax_transport}{job}{state})"


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
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PageBoxes = defaultdict[tuple[int, int], list[dict[str, float]]]  # SSN boxes by (part, page)


PEER_KEY = "coc.peer"  # the ASGI scope key of the address that connected, before proxy headers


class _RecordPeer:
    """Keeps the address that connected in the scope before `ProxyHeadersMiddleware` replaces the
    client with the one a trusted proxy names: whether to believe the user header depends on the
    former."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[PEER_KEY] = client[0] if client else ""
        await self.app(scope, receive, send)


class LoginRequired(Exception):
    pass


class PasswordChangeRequired(Exception):
    """The account logged in with a one-time password: nothing but changing it until it is changed."""


# -- API models --------------------------------------------------------------------------------------


class ApiRequest(BaseModel):
    """One request as the certificate system gets it (full SSN: the token role is trusted)."""

    reference: str
    state: RequestState
    received_at: datetime
    channel: str
    exported: bool
    request: CertificateRequest
    problems: list[Problem] = Field(default_factory=list)


class ApiExported(BaseModel):
    reference: str
    exported: bool


class ApiError(BaseModel):
    detail: str


# -- helpers -----------------------------------------------------------------------------------------


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(resources.files("intake.templates").joinpath("web"))),
                      autoescape=select_autoescape(default=True, default_for_string=True), finalize=finalize)
    env.filters["mask_any"] = lambda s: mask_ssns(str(s or ""))
    env.filters["when"] = lambda d: d.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if d else ""
    # The audit trail to the second: two events of one minute keep their order for the reader.
    env.filters["when_exact"] = lambda d: d.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if d else ""
    env.filters["label"] = review.label_of
    env.filters["channel_name"] = lambda c: CHANNEL_NAMES.get(str(c), str(c))
    env.filters["sender_verdict"] = review.sender_verdict
    return env


def _static(name: str) -> str:
    return resources.files("intake.templates").joinpath("web", name).read_text(encoding="utf-8")


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        return None


def create_app(settings: Settings, store: Store | None = None,
               on_new: Callable[[int], None] | None = None) -> FastAPI:
    """The whole web application over one store (made from the settings if not given); `on_new` is
    told of each submission of the online form (the pipeline's dispatcher, under `coc-intake run`).

    Raises `ValueError` for settings it must not be served with (`WebSettings.proxy_problem`).
    """
    web = settings.web
    if web.proxy_problem():
        raise ValueError(web.proxy_problem())
    store = store or Store.from_settings(settings)
    users = Users(store)
    proxies = [ipaddress.ip_network(n) for n in web.trusted_proxies]
    env = _templates()
    cache_dir = Path(settings.paths.var) / "cache" / "pages"
    app = FastAPI(title="coc-intake API", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Certificate of Coverage requests for the downstream certificate system.")
    app.state.store = store
    app.state.users = users
    bearer = HTTPBearer(auto_error=False)
    parts_cache: dict[str, list[SourcePart]] = {}
    # Pages are rasterised in this process: none bigger than the limits allow (a page over them is a message).
    render = RenderLimit.of(settings.limits.max_pixels, settings.pipeline.memory_mb)
    parts_lock = threading.Lock()
    presence = Presence(store)

    def parts_of(sub: SubmissionRecord) -> list[SourcePart]:
        """The parts of a submission; a mail is parsed once for its page and all its images."""
        key = f"{sub.id}:{sub.sha256}"
        with parts_lock:
            found = parts_cache.get(key)
        if found is None:
            found = source_parts(sub, settings.limits, render)
            with parts_lock:
                while len(parts_cache) >= 16:
                    parts_cache.pop(next(iter(parts_cache)))
                parts_cache[key] = found
        return found

    # -- plumbing --------------------------------------------------------------------------------

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        new = getattr(request.state, "new_session", None)
        if new:
            _set_session_cookie(request, response, new)
        return response

    # X-Forwarded-For and -Proto are believed from the configured proxies only; the user header
    # too (`from_proxy`). Outermost first: the peer is recorded before the proxy's client replaces it.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(web.trusted_proxies))
    app.add_middleware(_RecordPeer)

    def from_proxy(request: Request) -> bool:
        try:
            peer = ipaddress.ip_address(str(request.scope.get(PEER_KEY) or ""))
        except ValueError:
            return False
        return any(peer in n for n in proxies)

    def _secure(request: Request) -> bool:
        return web.secure_cookies or request.url.scheme == "https"

    def _set_session_cookie(request: Request, response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                            path="/", max_age=None)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    def session_of(request: Request) -> SessionInfo | None:
        """The session of the cookie; behind a trusted proxy, the proxy's user wins over the cookie's
        (a browser the proxy now says is someone else must not keep the earlier user's role)."""
        info = users.session(request.cookies.get(SESSION_COOKIE), idle_minutes=web.session_idle_minutes)
        name = request.headers.get(web.trusted_proxy_user_header, "").strip() if web.trusted_proxy_user_header else ""
        if name and not from_proxy(request):
            log.warning("%s header from %s ignored: not an address of [web] trusted_proxies",
                        web.trusted_proxy_user_header, request.scope.get(PEER_KEY) or "an unknown client")
            name = ""
        if name and (info is None or info.account.name != name):
            account = users.get(name)
            if account is None or account.disabled:
                return None
            token = users.open_session(account)
            request.state.new_session = token
            info = users.session(token, idle_minutes=web.session_idle_minutes)
        return info

    @app.exception_handler(PasswordChangeRequired)
    async def _change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account/password", status_code=303)

    def staff(request: Request) -> SessionInfo:
        info = session_of(request)
        if info is None:
            raise LoginRequired()
        if info.account.must_change and request.url.path not in ("/account/password", "/logout"):
            raise PasswordChangeRequired()
        return info

    Staff = Annotated[SessionInfo, Depends(staff)]

    async def checked_form(request: Request, info: SessionInfo) -> FormData:
        form = await request.form()
        token = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token") or "")
        if not token or not secrets.compare_digest(token, info.csrf):
            raise HTTPException(403, "the form has expired or did not come from this page; reload and try again")
        return form

    def page(request: Request, name: str, info: SessionInfo | None, status: int = 200, **ctx: Any) -> HTMLResponse:
        tokens = (info.csrf if info else "", str(ctx.get("login_csrf") or ""))
        with rendering_for(info.account if info else None, keep=tokens):
            html = env.get_template(name).render(
                user=info.account if info else None, csrf=info.csrf if info else "", path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(StarletteHTTPException)  # also the router's own 404 and 405
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        info = session_of(request)
        message = "There is no such page." if exc.status_code == 404 and exc.detail == "Not Found" else str(exc.detail)
        return page(request, "error.html.j2", info, status=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        """A staff page's id that is not a number (`/requests/abc`) is a page that does not exist;
        the API keeps FastAPI's JSON answer naming the field."""
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        return page(request, "error.html.j2", session_of(request), status=404, message="There is no such page.")

    def get_record(rid: int) -> RequestRecord:
        try:
            return store.get_request(rid)
        except NotFound:
            raise HTTPException(404, "no such request") from None

    # -- static ----------------------------------------------------------------------------------

    @app.get("/static/review.js", include_in_schema=False)
    def _js() -> Response:
        return Response(_static("review.js"), media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})

    @app.get("/static/review.css", include_in_schema=False)
    def _css() -> Response:
        return Response(_static("review.css"), media_type="text/css", headers={"Cache-Control": "no-cache"})

    if settings.online.enabled:  # the public online request form (`intake.web.online`)
        from intake.web import online

        app.include_router(online.router(settings, store, env, on_new))

    # -- login -----------------------------------------------------------------------------------

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        resp = page(request, "login.html.j2", None, next=_safe_next(next), login_csrf=token, error="", username="")
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
        return resp

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(LOGIN_COOKIE) or ""
        sent = str(form.get("csrf_token") or "")
        name = str(form.get("username") or "").strip()[:100]
        password = str(form.get("password") or "")
        nxt = _safe_next(str(form.get("next") or "/"))
        if not cookie or not sent or not secrets.compare_digest(cookie, sent):
            raise HTTPException(403, "the login form has expired; reload the page and try again")
        wait = users.wait_seconds(name, max_failures=web.login_max_failures, delay=web.login_delay_seconds,
                                  window_minutes=web.login_window_minutes, client=_client(request))
        if wait > 0:
            log.warning("login for %r refused: too many wrong passwords (wait %.0f s)", name, wait)
            resp = page(request, "login.html.j2", None, status=429, next=nxt, login_csrf=cookie, username=name,
                        error=f"Too many wrong passwords. Try again in {int(wait) + 1} seconds.")
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        account = users.authenticate(name, password, client=_client(request))
        if account is None:
            log.info("login failed for %r from %s", name, _client(request))
            return page(request, "login.html.j2", None, status=401, next=nxt, login_csrf=cookie, username=name,
                        error="Wrong user name or password.")
        old = request.cookies.get(SESSION_COOKIE)
        users.close_session(old)
        token = users.open_session(account)
        ok = RedirectResponse(nxt, status_code=303)
        _set_session_cookie(request, ok, token)
        ok.delete_cookie(LOGIN_COOKIE)
        log.info("%s logged in", account.name)
        return ok

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, info: Staff) -> Response:
        await checked_form(request, info)
        users.close_session(request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/account/password", include_in_schema=False)
    def password_page(request: Request, info: Staff) -> Response:
        return page(request, "password.html.j2", info, error="")

    @app.post("/account/password", include_in_schema=False)
    async def change_password(request: Request, info: Staff) -> Response:
        from intake.web.users import UserError

        form = await checked_form(request, info)
        new = str(form.get("new_password") or "")
        error = ""
        if not users.check_password(info.account.name, str(form.get("current_password") or "")):
            error = "The current password is wrong."
        elif new != str(form.get("repeat_password") or ""):
            error = "The two new passwords differ."
        else:
            try:
                users.set_password(info.account.name, new, keep_session=request.cookies.get(SESSION_COOKIE))
            except UserError as exc:
                error = str(exc)[:1].upper() + str(exc)[1:] + "."
        if error:
            return page(request, "password.html.j2", info, status=400, error=error)
        log.info("%s changed their password", info.account.name)
        return RedirectResponse("/", status_code=303)

    # -- queue -----------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def queue_page(
        request: Request, info: Staff, state: str = "", channel: str = "", problem: str = "", country: str = "",
        date_from: str = "", date_to: str = "", q: str = "", assigned: str = "", page_no: int = Query(1, alias="page"),
    ) -> Response:
        states = [state] if state in REQUEST_STATES else None
        channels = CHANNEL_FILTERS.get(channel) or OLD_CHANNEL_FILTERS.get(channel)
        to = _parse_date(date_to)
        page_no = max(1, min(page_no, 10_000))
        # One page of the queue at a time (and one row more, to know whether a next page exists):
        # every row costs its request's decryption, so 500 open requests are not all read per view.
        rows = store.queue(states=states, channels=channels, problem_code=problem if problem in PROBLEM_CODES else None,
                           country=country[:8] or None, received_from=_parse_date(date_from),
                           received_to=to + timedelta(days=1) if to else None, search=q[:200] or None,
                           limit=QUEUE_PAGE + 1, offset=(page_no - 1) * QUEUE_PAGE)
        more = len(rows) > QUEUE_PAGE
        rows, assignee = clerk.filter_assigned(store, rows[:QUEUE_PAGE], assigned, info.account.name)
        counts = store.counts_by_state()["requests"]
        f = {"assigned": assigned if assigned in clerk.ASSIGNED_FILTERS else "",
             "state": state, "channel": channel, "problem": problem, "country": country,
             "date_from": date_from, "date_to": date_to, "q": q}

        def page_link(n: int) -> str:
            return "/?" + urlencode({**{k: v for k, v in f.items() if v}, "page": n})

        return page(request, "queue.html.j2", info, rows=rows, counts=counts, states=REQUEST_STATES,
                    unread=store.submissions_without_requests(),
                    channels=list(CHANNEL_FILTERS), problem_codes=PROBLEM_CODES,
                    countries=sorted(agreements().agreements), assignee=assignee, f=f,
                    first_row=(page_no - 1) * QUEUE_PAGE + 1,
                    prev_page=page_link(page_no - 1) if page_no > 1 else "",
                    next_page=page_link(page_no + 1) if more else "")

    # -- one request -----------------------------------------------------------------------------

    def request_page(request: Request, info: SessionInfo, rec: RequestRecord, *, status: int = 200,
                     error: str = "", done: str = "") -> HTMLResponse:
        sub = store.get_submission(rec.submission_id)
        parts = parts_of(sub)
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
        events: list[Any] = [e for e in store.events_of(submission_id=rec.submission_id)
                             if e.request_id in (None, rec.id)]
        # The outbox records when a reply went out; shown in the trail as "reply sent" rows.
        for o in store.replies_of(rec.submission_id):
            if o.request_id in (None, rec.id) and o.state == "sent" and o.sent_at is not None:
                events.append(EventRecord(id=0, submission_id=o.submission_id, request_id=o.request_id, at=o.sent_at,
                                          actor="outbox", kind="reply_sent", field=o.kind,
                                          old=None, new=f"{o.channel} to {o.recipient}{fax_job_text(o)}"))
            elif o.request_id in (None, rec.id) and o.state == "permanent_failure":
                events.append(EventRecord(id=0, submission_id=o.submission_id, request_id=o.request_id,
                                          at=o.next_attempt_at, actor="outbox", kind="reply_failed", field=o.kind,
                                          old=None, new=(o.last_error or "")[:200] + fax_job_text(o)))
        events.sort(key=lambda e: (e.at, e.id or 10**12))
        guessed = ssn_guessed(info, rec)
        duplicates = [] if guessed else store.possible_duplicates(rec.id)
        hidden_dups = ssn_guessed_of(info, [d.id for d in duplicates])
        duplicates = [d for d in duplicates if d.id not in hidden_dups]
        locked = set() if info.account.sees_full_ssn else hidden_parts(parts, ssn_boxes(sub, parts))
        return page(request, "request.html.j2", info, status=status, rec=rec, sub=sub, parts=parts, boxes=boxes,
                    locked=locked,
                    general=review.request_problems(rec),
                    events=events, duplicates=duplicates, duplicates_hidden=guessed, error=error,
                    done=DONE_MESSAGES.get(done, ""),
                    conversation=conversation_of(store, rec),
                    version=version_of(rec.id),
                    blocking=review.blocking(rec.problems_json()), open_states=review.OPEN_STATES,
                    can_approve=review.may_approve(store, settings, rec, info.account),
                    sender=sub.sender or "",
                    worker_ssn=mask_ssn(rec.request.worker.ssn or ""),
                    **clerk.page_context(store, settings, rec, sub, info, events, presence, parts))

    def ssn_guessed(info: SessionInfo, rec: RequestRecord) -> bool:
        """Whether a reviewer looks at an SSN that someone who may not see full SSNs typed last: then
        duplicates found by it (same SSN), on this request's page or the other's, are for supervisors,
        or a reviewer could type a guess and learn from the duplicates list or a merge whether another
        request has that number."""
        return rec.id in ssn_guessed_of(info, [rec.id])

    def ssn_guessed_of(info: SessionInfo, ids: list[int]) -> set[int]:
        """`ssn_guessed` for many requests at once (a page's duplicates): one query, not one each."""
        if info.account.sees_full_ssn or not ids:
            return set()
        last = clerkops.last_ssn_typers(store, ids)
        guessed = set()
        for rid, actor in last.items():
            by = users.get(actor)
            if by is not None and not by.sees_full_ssn:
                guessed.add(rid)
        return guessed

    @app.get("/requests/{rid}", include_in_schema=False)
    def show_request(request: Request, info: Staff, rid: int, done: str = "") -> Response:
        rec = get_record(rid)
        sub = store.get_submission(rec.submission_id)
        if trustcheck.recheck_due(sub):  # the sender check ran out of time: try again now
            trustcheck.recheck_sender(store, settings, sub)
            rec = get_record(rid)
        return request_page(request, info, rec, done=done)

    @app.get("/requests/{rid}/next", include_in_schema=False)
    def next_request(info: Staff, rid: int) -> Response:
        rows = store.queue(states=review.OPEN_STATES, limit=500)
        ids = clerk.not_taken(store, [r.request.id for r in rows], info.account.name, keep=rid)
        later = ids[ids.index(rid) + 1:] if rid in ids else ids
        target = next((i for i in later if i != rid), None)
        return RedirectResponse(f"/requests/{target}" if target else "/", status_code=303)

    def _submitted(form: FormData) -> dict[str, str]:
        return {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("f:") and isinstance(v, str)}

    @app.post("/requests/{rid}/check", include_in_schema=False)
    async def check_request(request: Request, info: Staff, rid: int) -> Response:
        form = await checked_form(request, info)
        rec = get_record(rid)
        submitted = _submitted(form)
        overlong = review.too_long(rec, submitted)
        if overlong:  # refused: the form cannot be saved like this (the page's maxlength stops typing sooner)
            shown = [review.safe_problem(p.model_dump(mode="json"), info.account) for p in overlong]
            return JSONResponse({"detail": " ".join(p["message"] for p in shown), "problems": shown,
                                 "blocking": len(shown)}, status_code=422)
        values = review.merged_values(rec, submitted, info.account)
        _, problems = review.check(values)
        # Never "kept because unchanged" for an SSN a reviewer typed: that would tell a right guess.
        changed = review.changed_paths(rec, submitted, info.account)
        kept = [p for p in rec.problems_json() if p.get("code") in review.KEPT_CODES
                and p.get("field") not in changed]
        out = kept + [p.model_dump(mode="json") for p in problems]
        return JSONResponse({"problems": [review.safe_problem(p, info.account) for p in out],
                             "blocking": len(review.blocking(out))})

    def version_of(rid: int) -> str:
        """How many events the request has: a form made before someone else's change is stale."""
        return str(len(store.events_of(request_id=rid)))

    @app.post("/requests/{rid}/save", include_in_schema=False)
    async def save_request(request: Request, info: Staff, rid: int) -> Response:
        form = await checked_form(request, info)
        rec = get_record(rid)
        sent_version = str(form.get("version") or "")
        if sent_version and sent_version != version_of(rid):
            return request_page(request, info, rec, status=409,
                                error="Someone else changed this request while you edited it; your changes were "
                                      "not saved. Check the audit trail and correct again.")
        try:
            new = review.correct(store, rec, _submitted(form), info.account)
        except review.ActionError as exc:
            return request_page(request, info, rec, status=exc.status, error=str(exc))
        done = "saved" if new is not rec else "unchanged"
        return RedirectResponse(f"/requests/{rid}?done={done}", status_code=303)

    async def _act(request: Request, info: SessionInfo, rid: int, done: str, action: Any) -> Response:
        form = await checked_form(request, info)
        rec = get_record(rid)
        try:
            action(rec, form)
        except review.ActionError as exc:
            return request_page(request, info, get_record(rid), status=exc.status, error=str(exc))
        return RedirectResponse(f"/requests/{rid}?done={done}", status_code=303)

    @app.post("/requests/{rid}/accept", include_in_schema=False)
    async def accept_request(request: Request, info: Staff, rid: int) -> Response:
        return await _act(request, info, rid, "accepted",
                          lambda rec, form: review.accept(store, settings, rec, info.account))

    @app.post("/requests/{rid}/approve", include_in_schema=False)
    async def approve_request(request: Request, info: Staff, rid: int) -> Response:
        return await _act(request, info, rid, "approved",
                          lambda rec, form: review.approve(store, settings, rec, info.account))

    @app.post("/requests/{rid}/reject", include_in_schema=False)
    async def reject_request(request: Request, info: Staff, rid: int) -> Response:
        return await _act(request, info, rid, "rejected",
                          lambda rec, form: review.reject(store, settings, rec, info.account,
                                                          str(form.get("reason") or "")))

    @app.post("/requests/{rid}/not-a-request", include_in_schema=False)
    async def set_aside(request: Request, info: Staff, rid: int) -> Response:
        return await _act(request, info, rid, "set_aside",
                          lambda rec, form: review.not_a_request(store, rec, info.account,
                                                                 str(form.get("reason") or "")))

    @app.post("/requests/{rid}/merge", include_in_schema=False)
    async def merge_request(request: Request, info: Staff, rid: int) -> Response:
        def _merge(rec: RequestRecord, form: FormData) -> None:
            try:
                other = store.get_request(int(str(form.get("other") or "0")))
            except (NotFound, ValueError):
                raise review.ActionError("no such request to merge", status=400) from None
            if ssn_guessed(info, rec) or ssn_guessed(info, other):
                raise review.ActionError("a reviewer typed the SSN of one of these requests: a supervisor "
                                         "merges them", status=403)
            review.merge(store, rec, other, info.account)

        return await _act(request, info, rid, "merged", _merge)

    def ssn_boxes(sub: SubmissionRecord, parts: list[SourcePart]) -> PageBoxes:
        """The boxes SSNs were read from, by (part, page): of every request of the submission (one fax
        may hold several workers' forms). Reviewers get them painted over on the page images."""
        names = {p.name: p.index for p in parts}
        out: PageBoxes = defaultdict(list)
        for other in store.requests_of(sub.id):
            prov = (other.provenance or {}).get(review.SSN_PATH) or {}
            box = prov.get("box")
            idx = names.get(str(prov.get("part")), 0 if len(parts) == 1 else None)
            if box and idx is not None:
                out[(idx, int(prov.get("page") or 1))].append({k: float(box[k]) for k in ("x0", "y0", "x1", "y1")})
        return out

    def hidden_parts(parts: list[SourcePart], boxes: PageBoxes) -> set[int]:
        """Image parts whose text holds more SSNs than boxes were read from them (an SSN written twice,
        or read without a place): no painting over can be trusted there, so reviewers do not get them."""
        return {p.index for p in parts if p.is_image
                and count_ssns(p.text) > sum(len(b) for (i, _), b in boxes.items() if i == p.index)}

    @app.get("/requests/{rid}/parts/{part}/pages/{pageno}.png", include_in_schema=False)
    def page_image(info: Staff, rid: int, part: int, pageno: int) -> Response:
        rec = get_record(rid)
        sub = store.get_submission(rec.submission_id)
        parts = parts_of(sub)
        if not 0 <= part < len(parts) or not parts[part].is_image:
            raise HTTPException(404, "no such page")
        hide: list[dict[str, float]] = []
        if not info.account.sees_full_ssn:
            boxes = ssn_boxes(sub, parts)
            if parts[part].index in hidden_parts(parts, boxes):
                raise HTTPException(403, "this document shows an SSN that could not be located on its pages: "
                                         "only a supervisor sees them")
            hide = boxes[(parts[part].index, pageno)]
        return page_png(sub, parts[part], pageno, hide)

    def page_png(sub: SubmissionRecord, part: SourcePart, pageno: int, hide: list[dict[str, float]]) -> Response:
        try:
            png = cached_png(cache_dir, sub, part, pageno, hide=hide, render=render)
        except PageTooLarge as exc:
            raise HTTPException(422, str(exc)) from None
        except ValueError:
            raise HTTPException(404, "no such page") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    # -- submissions nothing was read from ---------------------------------------------------------

    def get_submission(sid: int) -> SubmissionRecord:
        try:
            return store.get_submission(sid)
        except NotFound:
            raise HTTPException(404, "no such submission") from None

    @app.get("/submissions/{sid}", include_in_schema=False)
    def show_submission(request: Request, info: Staff, sid: int, error: str = "") -> Response:
        sub = trustcheck.recheck_sender(store, settings, get_submission(sid))
        parts = parts_of(sub)
        events = store.events_of(submission_id=sid)
        return page(request, "submission.html.j2", info, sub=sub, parts=parts, events=events,
                    requests=store.requests_of(sid), sender=sub.sender or "")

    @app.get("/submissions/{sid}/parts/{part}/pages/{pageno}.png", include_in_schema=False)
    def submission_image(info: Staff, sid: int, part: int, pageno: int) -> Response:
        if not info.account.sees_full_ssn:
            # Nothing was read, so nothing can be masked: only those who may see SSNs see the pages.
            raise HTTPException(403, "only a supervisor sees the pages of an unread submission")
        sub = get_submission(sid)
        parts = parts_of(sub)
        if not 0 <= part < len(parts) or not parts[part].is_image:
            raise HTTPException(404, "no such page")
        return page_png(sub, parts[part], pageno, [])

    @app.post("/submissions/{sid}/request", include_in_schema=False)
    async def enter_request(request: Request, info: Staff, sid: int) -> Response:
        await checked_form(request, info)
        sub = get_submission(sid)
        if sub.state not in ("needs_review", "failed"):
            raise HTTPException(409, "this submission is not waiting for staff")
        _, problems = review.check({})
        rec = store.add_manual_request(sid, {}, [p.model_dump(mode="json") for p in problems],
                                       actor=info.account.name)
        return RedirectResponse(f"/requests/{rec.id}", status_code=303)

    @app.post("/submissions/{sid}/close", include_in_schema=False)
    async def close_submission(request: Request, info: Staff, sid: int) -> Response:
        form = await checked_form(request, info)
        get_submission(sid)
        reason = " ".join(str(form.get("reason") or "").split())[:1000] or "closed by staff: nothing to do"
        try:
            store.close_submission(sid, actor=info.account.name, reason=reason)
        except StateConflict:
            raise HTTPException(409, "this submission is not waiting for staff") from None
        return RedirectResponse("/", status_code=303)

    # -- public pages ------------------------------------------------------------------------------

    @app.get("/help", include_in_schema=False)
    def help_page(request: Request) -> Response:
        texts = help_texts()
        return page(request, "help.html.j2", session_of(request), texts=sorted(texts.items()))

    @app.get("/form.pdf", include_in_schema=False)
    def form_pdf() -> Response:
        from intake.form import editions, render_form

        name = re.sub(r"[^A-Za-z0-9._-]+", "-", editions().current.label).strip("-") or "form"
        return Response(render_form(), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="coc-request-{name}.pdf"',
                                 "Cache-Control": "public, max-age=3600"})

    # -- users (admins) ----------------------------------------------------------------------------

    @app.get("/users", include_in_schema=False)
    def users_page(request: Request, info: Staff) -> Response:
        if not info.account.is_admin:
            raise HTTPException(403, "only an administrator manages users")
        return page(request, "users.html.j2", info, accounts=users.list(), message="")

    @app.post("/users", include_in_schema=False)
    async def users_change(request: Request, info: Staff) -> Response:
        if not info.account.is_admin:
            raise HTTPException(403, "only an administrator manages users")
        form = await checked_form(request, info)
        from intake.web.users import UserError, generate_password

        message = ""
        try:
            action = str(form.get("action") or "")
            name = str(form.get("name") or "")
            if action == "add":
                password = generate_password()
                users.add(name, str(form.get("role") or ""), password, must_change=True)
                message = f"User {name} added. One-time password: {password}"
            elif action == "reset":
                password = generate_password()
                users.set_password(name, password, must_change=True)
                message = f"New one-time password for {name}: {password}"
            elif action in ("disable", "enable"):
                if name == info.account.name:
                    raise UserError("you cannot disable yourself")
                users.set_disabled(name, action == "disable")
                message = f"User {name} {action}d."
        except UserError as exc:
            message = str(exc)
        return page(request, "users.html.j2", info, accounts=users.list(), message=message)

    # -- JSON API ----------------------------------------------------------------------------------

    def api_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        found = users.use_token(creds.credentials if creds else None)
        if found is not None and found.expired and found.expires_at is not None:
            log.warning("API token %r (#%d) refused: it expired on %s", found.name, found.id,
                        found.expires_at.date().isoformat())
            raise HTTPException(401, f"this API token expired on {found.expires_at.date().isoformat()}: ask for a "
                                     f"new one (coc-intake users token NAME)",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if found is None or found.role != "export":
            raise HTTPException(401, "a valid API token is needed", headers={"WWW-Authenticate": "Bearer"})
        return found.name

    Token = Annotated[str, Depends(api_token)]
    errors: dict[int | str, dict[str, Any]] = {401: {"model": ApiError}, 404: {"model": ApiError}}

    def api_view(rec: RequestRecord, exported: bool) -> ApiRequest:
        sub = store.get_submission(rec.submission_id)
        return ApiRequest(reference=rec.reference, state=rec.state, received_at=sub.received_at,  # type: ignore[arg-type]
                          channel=sub.channel, exported=exported,
                          request=rec.request, problems=rec.problems)

    def is_exported(rec: RequestRecord) -> bool:
        return any(e.kind == "exported" for e in store.events_of(request_id=rec.id))

    @app.get("/api/v1/requests", response_model=list[ApiRequest], responses=errors, tags=["requests"])
    def api_list(
        token: Token,
        state: Annotated[list[RequestState] | None, Query(description="states to list; default approved")] = None,
        exported: Annotated[bool | None, Query(description="only (not) yet exported ones")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[ApiRequest]:
        """Requests by state, oldest first: by default the approved ones for issuing certificates."""
        recs = store.requests_for_export(state or ["approved"], exported=exported, limit=limit)
        return [api_view(r, is_exported(r)) for r in recs]

    Ref = Annotated[str, PathParam(pattern=r"^[A-Z][A-Z0-9]{0,9}-\d{4}-\d{6,}$", max_length=32)]

    def by_reference(reference: str) -> RequestRecord:
        rec = store.find_request(reference)
        if rec is None:
            raise HTTPException(404, "no request with this reference")
        return rec

    @app.get("/api/v1/requests/{reference}", response_model=ApiRequest, responses=errors, tags=["requests"])
    def api_get(token: Token, reference: Ref) -> ApiRequest:
        """One request by its reference number (COC-2026-000123)."""
        rec = by_reference(reference)
        return api_view(rec, is_exported(rec))

    @app.post("/api/v1/requests/{reference}/exported", response_model=ApiExported,
              responses={**errors, 409: {"model": ApiError}}, tags=["requests"])
    def api_exported(token: Token, reference: Ref) -> ApiExported:
        """Mark an approved request as taken over by the certificate system (recorded once)."""
        rec = by_reference(reference)
        if rec.state != "approved":
            raise HTTPException(409, "only an approved request can be exported")
        if not is_exported(rec):
            store.add_event(submission_id=rec.submission_id, request_id=rec.id, actor=f"api:{token}",
                            kind="exported", new="exported")
        return ApiExported(reference=rec.reference, exported=True)

    @app.get("/healthz", include_in_schema=False)
    def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    def ready() -> PlainTextResponse:
        """Ready when the database answers and its schema is at the migration head (no login)."""
        from intake.store.migrate import head_revision

        try:
            current = store.current_revision()
        except Exception as exc:  # the reason names the kind of failure, never the URL or a password
            return PlainTextResponse(f"database unreachable ({type(exc).__name__})", status_code=503)
        head = head_revision()
        if current != head:
            return PlainTextResponse(f"database schema at {current or 'none'}, code expects {head}: "
                                     f"run `coc-intake db upgrade`", status_code=503)
        return PlainTextResponse("ready")

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        """Prometheus text format (no login): counts, states, media types; never personal data."""
        from intake import metrics

        return Response(metrics.render(store), media_type=metrics.CONTENT_TYPE)

    clerk.install(app, store=store, staff=staff, checked_form=checked_form, get_record=get_record,
                  presence=presence,
                  save=lambda rec, form, info: review.correct(store, rec, _submitted(form), info.account))
    batch.install(app, store=store, staff=staff, checked_form=checked_form, page=page)
    return app


def _safe_next(value: str) -> str:
    """Only a local path after login (no open redirect to another site)."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/"
    return value
