"""Batches on the online form: the employer typed once, a CSV or XLSX of workers, one request per row.

The file is read by the same spreadsheet reader as an attachment to a mail (`parsers.sheet`: its
column headers may be the model paths of the template, `/request/batch/template.csv`, or the
words a person would write), every row is checked with the employer's data by the review page's
check, and the rows are shown with their problems before anything is submitted. The checked batch
waits here, in memory, under a random token bound to the browser's form cookie, until it is
submitted (or for `DRAFT_SECONDS`): the file need not travel twice, and its SSNs never go back to
the browser.
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from intake.model import Problem
from intake.online_fields import batch_worker_paths, sections
from intake.web.online_checks import HONEYPOT, blocking, by_field
from intake.web.review import check
from parsers.pii import mask_ssn
from parsers.sheet import parse_sheet
from parsers.types import Limits, Part

if TYPE_CHECKING:
    from intake.web.online import OnlineForm, Posted

DRAFT_SECONDS = 1800
MAX_DRAFTS = 500
REQUEST_TYPE = "employee"  # a batch is an employer's: one employer, many employees


@dataclass
class Row:
    number: int  # the row's line in the file (the header is line 1)
    values: dict[str, str]
    problems: list[Problem]

    @property
    def name(self) -> str:
        return " ".join(self.values.get(k, "") for k in ("worker.first_name", "worker.last_name")).strip()

    @property
    def ssn(self) -> str:
        return mask_ssn(self.values.get("worker.ssn", "")) if self.values.get("worker.ssn") else ""


@dataclass
class Draft:
    cookie: str
    employer: dict[str, str]
    rows: list[Row]
    made: float


class Drafts:
    """Checked batches waiting to be submitted, by token (in memory: see the module's docstring)."""

    def __init__(self) -> None:
        self._items: dict[str, Draft] = {}
        self._lock = threading.Lock()

    def put(self, draft: Draft) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, d in self._items.items() if d.made < now - DRAFT_SECONDS]:
                del self._items[key]
            while len(self._items) >= MAX_DRAFTS:
                del self._items[next(iter(self._items))]
            self._items[token] = draft
        return token

    def take(self, token: str, cookie: str) -> Draft | None:
        with self._lock:
            draft = self._items.get(token)
            if draft is None or draft.made < time.monotonic() - DRAFT_SECONDS or \
                    not secrets.compare_digest(draft.cookie, cookie):
                return None
            return self._items.pop(token)


def employer_values(fields: dict[str, str]) -> dict[str, str]:
    paths = {f.path for s in sections(REQUEST_TYPE) for f in s.fields if f.path.startswith("employer.")}
    return {k: v.strip() for k, v in fields.items() if k in paths and v.strip()}


def read_rows(name: str, data: bytes, employer: dict[str, str], limits: Limits, max_rows: int) -> tuple[list[Row], str]:
    """The file's rows, each checked with the employer's data; or a message saying why not."""
    ext = parse_sheet(Part(name=name, media_type="application/octet-stream", data=data, filename=name), limits)
    if ext.problems and not ext.records:
        return [], " ".join(p.message for p in ext.problems)
    if not ext.records:
        return [], "The file holds no rows of workers."
    if len(ext.records) > max_rows:
        return [], f"The file holds {len(ext.records):,} rows; at most {max_rows:,} are taken at once."
    allowed = set(batch_worker_paths(REQUEST_TYPE))
    rows = []
    for i, record in enumerate(ext.records):
        own = {c.field: c.value for c in record if c.field in allowed and c.value.strip()}
        _, problems = check({"request_type": REQUEST_TYPE, **employer, **own})
        rows.append(Row(i + 2, own, problems))
    return rows, ""


def template_csv() -> str:
    """The header line of a batch file: one column per worker field, named by its model path."""
    out = io.StringIO()
    csv.writer(out).writerow(batch_worker_paths(REQUEST_TYPE))
    return out.getvalue()


def batch_routes(api: APIRouter, form: OnlineForm,  # noqa: C901  (the batch page's routes, one nested function each)
                 posted_or_refused: Callable[..., Awaitable[Posted | Response]]) -> None:
    """Add the batch routes to the online form's router."""
    drafts = Drafts()
    settings = form.settings
    employer_sections = tuple(s for s in sections(REQUEST_TYPE) if s.fields[0].path.startswith("employer."))

    def page(request: Request, status: int = 200, *, employer: dict[str, str] | None = None,
             problems: list[Problem] | None = None, rows: list[Row] | None = None, token: str = "",
             message: str = "") -> Response:
        rows = rows or []
        return form.render(request, "online_batch.html.j2", status, sections=employer_sections,
                           values=employer or {}, problems=by_field(problems or []), rows=rows, token=token,
                           message=message, bad_rows=[r for r in rows if blocking(r.problems)],
                           blocking=blocking, max_upload_bytes=settings.online.max_upload_bytes,
                           max_rows=settings.online.max_batch_rows, columns=batch_worker_paths(REQUEST_TYPE))

    @api.get("/request/batch")
    def batch_page(request: Request) -> Response:
        return page(request)

    @api.get("/request/batch/template.csv")
    def batch_template() -> Response:
        return Response(template_csv(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="coc-batch-template.csv"',
                                 "Cache-Control": "public, max-age=3600"})

    @api.post("/request/batch/check")
    async def batch_check(request: Request) -> Response:
        limit = settings.online.max_upload_bytes + settings.online.max_form_bytes
        got = await posted_or_refused(request, "check", limit)
        if isinstance(got, Response):
            return got
        if got.fields.get(HONEYPOT, "").strip():
            return form.refuse(request, 400, "The form could not be accepted.")
        employer = employer_values(got.fields)
        name, data = got.files.get("file", ("", b""))
        if not data:
            return page(request, 400, employer=employer, message="Choose the CSV or XLSX file of workers.")
        if len(data) > settings.online.max_upload_bytes:
            return page(request, 413, employer=employer,
                        message=f"The file is {len(data):,} bytes, over the {settings.online.max_upload_bytes:,} "
                                f"allowed; split it into smaller files.")
        limits = Limits(**settings.limits.model_dump())
        rows, message = read_rows(name, data, employer, limits, settings.online.max_batch_rows)
        employer_problems = [p for p in (rows[0].problems if rows else check({"request_type": REQUEST_TYPE,
                                                                              **employer})[1])
                             if p.field and p.field.startswith("employer.")]
        token = ""
        if rows and not any(blocking(r.problems) for r in rows):
            token = drafts.put(Draft(form.token(request), employer, rows, time.monotonic()))
        status = 200 if token else 422
        return page(request, status, employer=employer, problems=employer_problems, rows=rows, token=token,
                    message=message)

    @api.post("/request/batch/submit")
    async def batch_submit(request: Request) -> Response:
        got = await posted_or_refused(request, "submit")
        if isinstance(got, Response):
            return got
        draft = drafts.take(got.fields.get("batch", ""), request.cookies.get("coc_form", ""))
        if draft is None:
            return page(request, 410, message="This batch is no longer waiting (it was sent, or was checked more "
                                              "than 30 minutes ago). Upload the file again.")
        common: dict[str, Any] = {"request_type": REQUEST_TYPE, **draft.employer}
        made = form.store_web(common, [r.values for r in draft.rows])
        return form.done_page(request, made, common)
