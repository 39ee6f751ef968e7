"""What operators and their monitoring ask, without login: `/healthz` (the process answers),
`/readyz` (the database answers at the migration head), `/metrics` (Prometheus text; counts,
states and media types, never personal data).

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from intake import metrics
from intake.store.migrate import head_revision
from intake.web.context import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def health() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/readyz")
def ready(ctx: Ctx) -> PlainTextResponse:
    """Ready when the database answers and its schema is at the migration head (no login)."""
    try:
        current = ctx.store.current_revision()
    except Exception as exc:  # noqa: BLE001  (the reason names the kind of failure, never the URL or a password)
        return PlainTextResponse(f"database unreachable ({type(exc).__name__})", status_code=503)
    head = head_revision()
    if current != head:
        return PlainTextResponse(f"database schema at {current or 'none'}, code expects {head}: "
                                 f"run `coc-intake db upgrade`", status_code=503)
    return PlainTextResponse("ready")


@router.get("/metrics")
def metrics_page(ctx: Ctx) -> Response:
    """Prometheus text format (no login): counts, states, media types; never personal data."""
    return Response(metrics.render(ctx.store), media_type=metrics.CONTENT_TYPE)
