"""The staff review page and the JSON API: FastAPI, pages rendered on the server with Jinja2.

This module only assembles the app: one `WebContext` (`intake.web.context`: store, settings,
accounts, templates, the CSRF check) on `app.state.web`, the routers by concern
(`intake.web.routes`, the clerk's, the batch page's, the online form's), the security headers and
the error pages. The rules live in the routers and their modules, in one place each:

every page but login, help and the blank form needs a session (`context.Staff`); every form post
carries the session's CSRF token (`WebContext.checked_form`); supervisors alone approve, reject and
see full SSNs (`review`, `redaction`); the certificate system uses bearer tokens of its own role on
`/api/v1` (`routes.api`). Responses carry a strict Content-Security-Policy (scripts and styles only
from `/static`), so a value read from a hostile document can never run as script even if escaping
failed somewhere.
"""

import logging
from collections.abc import Callable
from datetime import UTC
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from intake.settings import Settings
from intake.store import Store
from intake.web import batch, clerk, online, review
from intake.web.context import PEER_KEY, LoginRequired, PasswordChangeRequired, WebContext
from intake.web.masking import finalize
from intake.web.routes import actions, admin, api, auth, ops, public, queue, request, submissions
from intake.web.routes.queue import QUEUE_PAGE
from intake.web.trail import fax_job_text
from parsers.pii import mask_ssns

__all__ = ["CSP", "QUEUE_PAGE", "create_app", "fax_job_text"]

log = logging.getLogger("intake.web")

CHANNEL_NAMES = {"imap": "email", "smtp": "email", "lmtp": "email", "fax": "fax"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


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


def create_app(settings: Settings, store: Store | None = None,  # noqa: C901  (the app's parts in order: context, routers, headers, error pages)
               on_new: Callable[[int], None] | None = None) -> FastAPI:
    """The whole web application over one store (made from the settings if not given); `on_new` is
    told of each submission of the online form (the pipeline's dispatcher, under `coc-intake run`).

    Raises `ValueError` for settings it must not be served with (`WebSettings.proxy_problem`).
    """
    web = settings.web
    if web.proxy_problem():
        raise ValueError(web.proxy_problem())
    store = store or Store.from_settings(settings)
    ctx = WebContext.of(settings, store, _templates(), on_new)
    app = FastAPI(title="coc-intake API", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Certificate of Coverage requests for the downstream certificate system.")
    app.state.web = ctx
    app.state.store = store
    app.state.users = ctx.users

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
            ctx.set_session_cookie(request, response, new)
        return response

    # X-Forwarded-For and -Proto are believed from the configured proxies only; the user header
    # too (`from_proxy`). Outermost first: the peer is recorded before the proxy's client replaces it.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(web.trusted_proxies))
    app.add_middleware(_RecordPeer)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(StarletteHTTPException)  # also the router's own 404 and 405
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        info = ctx.session_of(request)
        missing = exc.status_code == HTTPStatus.NOT_FOUND and exc.detail == "Not Found"
        message = "There is no such page." if missing else str(exc.detail)
        return ctx.page(request, "error.html.j2", info, status=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        """A staff page's id that is not a number (`/requests/abc`) is a page that does not exist;
        the API keeps FastAPI's JSON answer naming the field."""
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        return ctx.page(request, "error.html.j2", ctx.session_of(request), status=404,
                        message="There is no such page.")

    # In the order the routes were always matched in.
    _add_routes(app, public.static_router)
    if settings.online.enabled:  # the public online request form (`intake.web.online`)
        app.include_router(online.router(settings, store, ctx.env, on_new))
    for router in (auth.router, queue.router, request.router, actions.router, submissions.router, public.router,
                   admin.router, api.router, ops.router, clerk.router, batch.router):
        _add_routes(app, router)
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes as the app's own, in their order: `app.routes` lists every staff route
    (a check that each post refuses a missing CSRF token walks it), where `include_router` would
    put them behind one node. The routes hold no state: each reads its app's `WebContext`."""
    app.router.routes.extend(router.routes)
