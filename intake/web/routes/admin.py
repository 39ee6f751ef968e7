"""User accounts, for administrators: add one (with a one-time password), reset a password,
disable or enable an account (never one's own).

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from intake.web.context import Ctx, Staff
from intake.web.users import UserError, generate_password

router = APIRouter(include_in_schema=False)


@router.get("/users")
def users_page(request: Request, ctx: Ctx, info: Staff) -> Response:
    if not info.account.is_admin:
        raise HTTPException(403, "only an administrator manages users")
    return ctx.page(request, "users.html.j2", info, accounts=ctx.users.list(), message="")


@router.post("/users")
async def users_change(request: Request, ctx: Ctx, info: Staff) -> Response:
    if not info.account.is_admin:
        raise HTTPException(403, "only an administrator manages users")
    form = await ctx.checked_form(request, info)
    users = ctx.users
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
    return ctx.page(request, "users.html.j2", info, accounts=users.list(), message=message)
