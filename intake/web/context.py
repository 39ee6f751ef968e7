"""What every staff route shares: one `WebContext` per app (store, settings, accounts, templates,
the page cache) and the dependencies that give it to a route (`Ctx`) and check who is asking
(`Staff`), so each router of `intake.web.routes` holds the same rules of login, CSRF and roles.

The context is kept on `app.state.web` by `create_app`; `Depends(context)` reads it from the
request's app, so a router module needs no closure over the factory's variables.

No `from __future__ import annotations` here: FastAPI reads the dependencies' annotations at run time.
"""

import ipaddress
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment
from starlette.datastructures import FormData

from intake.settings import Settings, WebSettings
from intake.store import NotFound, Store
from intake.store.store import RequestRecord, SubmissionRecord
from intake.web.masking import rendering_for
from intake.web.pages import PageTooLarge, RenderLimit, SourcePart, cached_png, source_parts
from intake.web.presence import Presence
from intake.web.users import SessionInfo, Users

_LONGEST_NEXT = 500  # a page to go back to after login is a path of ours, never this long

log = logging.getLogger("intake.web")

SESSION_COOKIE = "coc_session"
LOGIN_COOKIE = "coc_login"
PEER_KEY = "coc.peer"  # the ASGI scope key of the address that connected, before proxy headers
PARTS_CACHED = 16  # submissions whose parsed parts are kept in memory


class LoginRequired(Exception):
    pass


class PasswordChangeRequired(Exception):
    """The account logged in with a one-time password: nothing but changing it until it is changed."""


@dataclass
class WebContext:
    """The one store, settings, accounts and templates of an app, and the helpers every page uses."""

    settings: Settings
    store: Store
    users: Users
    env: Environment
    presence: Presence
    render: RenderLimit
    cache_dir: Path
    on_new: Callable[[int], None] | None = None
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    _parts: dict[str, list[SourcePart]] = field(default_factory=dict)
    _parts_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, settings: Settings, store: Store, env: Environment,
           on_new: Callable[[int], None] | None = None) -> "WebContext":
        # Pages are rasterised in this process: none bigger than the limits allow (a page over them is a message).
        return cls(settings=settings, store=store, users=Users(store), env=env, presence=Presence(store),
                   render=RenderLimit.of(settings.limits.max_pixels, settings.pipeline.memory_mb),
                   cache_dir=Path(settings.paths.var) / "cache" / "pages", on_new=on_new,
                   proxies=[ipaddress.ip_network(n) for n in settings.web.trusted_proxies])

    @property
    def web(self) -> WebSettings:
        return self.settings.web

    # -- sources ---------------------------------------------------------------------------------

    def parts_of(self, sub: SubmissionRecord) -> list[SourcePart]:
        """The parts of a submission; a mail is parsed once for its page and all its images."""
        key = f"{sub.id}:{sub.sha256}"
        with self._parts_lock:
            found = self._parts.get(key)
        if found is None:
            found = source_parts(sub, self.settings.limits, self.render)
            with self._parts_lock:
                while len(self._parts) >= PARTS_CACHED:
                    self._parts.pop(next(iter(self._parts)))
                self._parts[key] = found
        return found

    def page_png(self, sub: SubmissionRecord, part: SourcePart, pageno: int,
                 hide: list[dict[str, float]]) -> Response:
        """One page image, the boxes in `hide` painted over; a page over the limits is a 422."""
        try:
            png = cached_png(self.cache_dir, sub, part, pageno, hide=hide, render=self.render)
        except PageTooLarge as exc:
            raise HTTPException(422, str(exc)) from None
        except ValueError:
            raise HTTPException(404, "no such page") from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    def get_record(self, rid: int) -> RequestRecord:
        try:
            return self.store.get_request(rid)
        except NotFound:
            raise HTTPException(404, "no such request") from None

    def get_submission(self, sid: int) -> SubmissionRecord:
        try:
            return self.store.get_submission(sid)
        except NotFound:
            raise HTTPException(404, "no such submission") from None

    # -- sessions --------------------------------------------------------------------------------

    def from_proxy(self, request: Request) -> bool:
        try:
            peer = ipaddress.ip_address(str(request.scope.get(PEER_KEY) or ""))
        except ValueError:
            return False
        return any(peer in n for n in self.proxies)

    def secure(self, request: Request) -> bool:
        return self.web.secure_cookies or request.url.scheme == "https"

    def set_session_cookie(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=self.secure(request),
                            path="/", max_age=None)

    def session_of(self, request: Request) -> SessionInfo | None:
        """The session of the cookie; behind a trusted proxy, the proxy's user wins over the cookie's
        (a browser the proxy now says is someone else must not keep the earlier user's role)."""
        web, users = self.web, self.users
        info = users.session(request.cookies.get(SESSION_COOKIE), idle_minutes=web.session_idle_minutes)
        name = request.headers.get(web.trusted_proxy_user_header, "").strip() if web.trusted_proxy_user_header else ""
        if name and not self.from_proxy(request):
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

    async def checked_form(self, request: Request, info: SessionInfo) -> FormData:
        """The posted form, once its CSRF token is the session's (403 otherwise)."""
        form = await request.form()
        token = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token") or "")
        if not token or not secrets.compare_digest(token, info.csrf):
            raise HTTPException(403, "the form has expired or did not come from this page; reload and try again")
        return form

    # -- pages -----------------------------------------------------------------------------------

    def page(self, request: Request, name: str, info: SessionInfo | None, status: int = 200,
             **ctx: Any) -> HTMLResponse:
        tokens = (info.csrf if info else "", str(ctx.get("login_csrf") or ""))
        with rendering_for(info.account if info else None, keep=tokens):
            html = self.env.get_template(name).render(
                user=info.account if info else None, csrf=info.csrf if info else "", path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status)


def context(request: Request) -> WebContext:
    """The app's context (a dependency)."""
    found: WebContext = request.app.state.web
    return found


Ctx = Annotated[WebContext, Depends(context)]


def staff(request: Request, ctx: Ctx) -> SessionInfo:
    """The logged-in staff member (a dependency): to the login page otherwise, and to the password
    page while a one-time password is unchanged."""
    info = ctx.session_of(request)
    if info is None:
        raise LoginRequired()
    if info.account.must_change and request.url.path not in ("/account/password", "/logout"):
        raise PasswordChangeRequired()
    return info


Staff = Annotated[SessionInfo, Depends(staff)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def submitted(form: FormData) -> dict[str, str]:
    """The form's field values (`f:PATH` inputs) by path."""
    return {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("f:") and isinstance(v, str)}


def safe_next(value: str) -> str:
    """Only a local path after login (no open redirect to another site)."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > _LONGEST_NEXT:
        return "/"
    return value
