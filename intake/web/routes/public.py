"""Pages without login: help on every field, the blank request form as PDF, and the staff pages'
one script and style sheet (the Content-Security-Policy allows scripts and styles from `/static` only).

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

import re
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from intake.form import editions, render_form
from intake.reference import help_texts
from intake.web.context import Ctx

router = APIRouter(include_in_schema=False)
static_router = APIRouter(include_in_schema=False)  # included first, as the app always did


_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def static_file(name: str) -> Response:
    """One of our scripts or style sheets (`templates/web/`), never cached stale: the review page's
    and the online form's alike."""
    text = resources.files("intake.templates").joinpath("web", name).read_text(encoding="utf-8")
    return Response(text, media_type=_MEDIA_TYPES[name[name.rindex("."):]], headers={"Cache-Control": "no-cache"})


@static_router.get("/static/review.js")
def _js() -> Response:
    return static_file("review.js")


@static_router.get("/static/review.css")
def _css() -> Response:
    return static_file("review.css")


@router.get("/help")
def help_page(request: Request, ctx: Ctx) -> Response:
    texts = help_texts()
    return ctx.page(request, "help.html.j2", ctx.session_of(request), texts=sorted(texts.items()))


@router.get("/form.pdf")
def form_pdf() -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", editions().current.label).strip("-") or "form"
    return Response(render_form(), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="coc-request-{name}.pdf"',
                             "Cache-Control": "public, max-age=3600"})
