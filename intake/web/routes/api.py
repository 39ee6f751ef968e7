"""The certificate system's JSON API (`/api/v1`): requests by state or reference, with full SSNs
(the token's role `export` is trusted), and marking one as taken over. Bearer tokens of their own
role, never a browser session; errors are JSON.

No `from __future__ import annotations`: FastAPI reads the route annotations and models at run time.
"""

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from intake.model import CertificateRequest, Problem
from intake.store.states import RequestState
from intake.store.store import RequestRecord
from intake.web.context import Ctx, WebContext

log = logging.getLogger("intake.web")


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


bearer = HTTPBearer(auto_error=False)


def api_token(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The name of the API token sent (a dependency): 401 for none, a wrong one or an expired one."""
    found = ctx.users.use_token(creds.credentials if creds else None)
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
Ref = Annotated[str, PathParam(pattern=r"^[A-Z][A-Z0-9]{0,9}-\d{4}-\d{6,}$", max_length=32)]
errors: dict[int | str, dict[str, Any]] = {401: {"model": ApiError}, 404: {"model": ApiError}}

router = APIRouter()


def api_view(ctx: WebContext, rec: RequestRecord, exported: bool) -> ApiRequest:
    sub = ctx.store.get_submission(rec.submission_id)
    return ApiRequest(reference=rec.reference, state=rec.state, received_at=sub.received_at,  # type: ignore[arg-type]
                      channel=sub.channel, exported=exported,
                      request=rec.request, problems=rec.problems)


def is_exported(ctx: WebContext, rec: RequestRecord) -> bool:
    return any(e.kind == "exported" for e in ctx.store.events_of(request_id=rec.id))


def by_reference(ctx: WebContext, reference: str) -> RequestRecord:
    rec = ctx.store.find_request(reference)
    if rec is None:
        raise HTTPException(404, "no request with this reference")
    return rec


@router.get("/api/v1/requests", response_model=list[ApiRequest], responses=errors, tags=["requests"])
def api_list(
    ctx: Ctx,
    token: Token,
    state: Annotated[list[RequestState] | None, Query(description="states to list; default approved")] = None,
    exported: Annotated[bool | None, Query(description="only (not) yet exported ones")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApiRequest]:
    """Requests by state, oldest first: by default the approved ones for issuing certificates."""
    recs = ctx.store.requests_for_export(state or ["approved"], exported=exported, limit=limit)
    return [api_view(ctx, r, is_exported(ctx, r)) for r in recs]


@router.get("/api/v1/requests/{reference}", response_model=ApiRequest, responses=errors, tags=["requests"])
def api_get(ctx: Ctx, token: Token, reference: Ref) -> ApiRequest:
    """One request by its reference number (COC-2026-000123)."""
    rec = by_reference(ctx, reference)
    return api_view(ctx, rec, is_exported(ctx, rec))


@router.post("/api/v1/requests/{reference}/exported", response_model=ApiExported,
             responses={**errors, 409: {"model": ApiError}}, tags=["requests"])
def api_exported(ctx: Ctx, token: Token, reference: Ref) -> ApiExported:
    """Mark an approved request as taken over by the certificate system (recorded once)."""
    rec = by_reference(ctx, reference)
    if rec.state != "approved":
        raise HTTPException(409, "only an approved request can be exported")
    if not is_exported(ctx, rec):
        ctx.store.add_event(submission_id=rec.submission_id, request_id=rec.id, actor=f"api:{token}",
                            kind="exported", new="exported")
    return ApiExported(reference=rec.reference, exported=True)
