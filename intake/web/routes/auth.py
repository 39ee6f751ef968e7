"""Login, logout and changing one's password.

The login form has its own CSRF token in a strict cookie (there is no session yet); a login opens
a new session and closes the one the browser had, so a session id planted before login is useless.
No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

import logging
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from intake.web.context import LOGIN_COOKIE, SESSION_COOKIE, Ctx, Staff, client_of, safe_next
from intake.web.users import UserError

log = logging.getLogger("intake.web")

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, ctx: Ctx, next: str = "/") -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    resp = ctx.page(request, "login.html.j2", None, next=safe_next(next), login_csrf=token, error="", username="")
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=ctx.secure(request))
    return resp


@router.post("/login")
async def login(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    web, users = ctx.web, ctx.users
    cookie = request.cookies.get(LOGIN_COOKIE) or ""
    sent = str(form.get("csrf_token") or "")
    name = str(form.get("username") or "").strip()[:100]
    password = str(form.get("password") or "")
    nxt = safe_next(str(form.get("next") or "/"))
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise HTTPException(403, "the login form has expired; reload the page and try again")
    wait = users.wait_seconds(name, max_failures=web.login_max_failures, delay=web.login_delay_seconds,
                              window_minutes=web.login_window_minutes, client=client_of(request))
    if wait > 0:
        log.warning("login for %r refused: too many wrong passwords (wait %.0f s)", name, wait)
        resp = ctx.page(request, "login.html.j2", None, status=429, next=nxt, login_csrf=cookie, username=name,
                        error=f"Too many wrong passwords. Try again in {int(wait) + 1} seconds.")
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp
    account = users.authenticate(name, password, client=client_of(request))
    if account is None:
        log.info("login failed for %r from %s", name, client_of(request))
        return ctx.page(request, "login.html.j2", None, status=401, next=nxt, login_csrf=cookie, username=name,
                        error="Wrong user name or password.")
    old = request.cookies.get(SESSION_COOKIE)
    users.close_session(old)
    token = users.open_session(account)
    ok = RedirectResponse(nxt, status_code=303)
    ctx.set_session_cookie(request, ok, token)
    ok.delete_cookie(LOGIN_COOKIE)
    log.info("%s logged in", account.name)
    return ok


@router.post("/logout")
async def logout(request: Request, ctx: Ctx, info: Staff) -> Response:
    await ctx.checked_form(request, info)
    ctx.users.close_session(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/account/password")
def password_page(request: Request, ctx: Ctx, info: Staff) -> Response:
    return ctx.page(request, "password.html.j2", info, error="")


@router.post("/account/password")
async def change_password(request: Request, ctx: Ctx, info: Staff) -> Response:
    form = await ctx.checked_form(request, info)
    new = str(form.get("new_password") or "")
    error = ""
    if not ctx.users.check_password(info.account.name, str(form.get("current_password") or "")):
        error = "The current password is wrong."
    elif new != str(form.get("repeat_password") or ""):
        error = "The two new passwords differ."
    else:
        try:
            ctx.users.set_password(info.account.name, new, keep_session=request.cookies.get(SESSION_COOKIE))
        except UserError as exc:
            error = str(exc)[:1].upper() + str(exc)[1:] + "."
    if error:
        return ctx.page(request, "password.html.j2", info, status=400, error=error)
    log.info("%s changed their password", info.account.name)
    return RedirectResponse("/", status_code=303)
