"""Requests as a batch sheet (CSV or XLSX, openpyxl): a title above the table, one header row in the
writer's own words, one row per worker; dates as text in one style per column, or real Excel dates.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from datetime import date

from openpyxl import Workbook

from tests.heldout.people import Case, make_case
from tests.heldout.vocab import Half, label
from tests.heldout.writing import date_styles

_DATES = {"worker.date_of_birth": "born", "assignment.start_date": "start", "assignment.end_date": "end",
          "assignment.hire_date": "hire_date"}
_FIELDS = ["worker.ssn", "worker.date_of_birth", "worker.place_of_birth", "worker.citizenship", "employer.name",
           "employer.ein", "assignment.country", "assignment.start_date", "assignment.end_date",
           "assignment.host_name", "assignment.work_address", "assignment.hired_in_us", "assignment.hire_date",
           "assignment.remains_employee"]


def _value(c: Case, field: str) -> str:
    return {
        "worker.ssn": c.ssn, "worker.place_of_birth": c.birthplace, "worker.citizenship": c.citizenship_written,
        "employer.name": c.employer, "employer.ein": c.ein, "assignment.country": c.country_written,
        "assignment.host_name": c.host, "assignment.work_address": c.work_address.line(),
        "assignment.hired_in_us": "Yes" if c.hired_in_us else "No",
        "assignment.remains_employee": "Yes" if c.remains else "No",
    }[field]


def sheet(rng: random.Random, half: Half, kind: str, rows: int) -> tuple[bytes, list[dict[str, str]], str]:
    """`rows` workers of one employer; `kind` csv|xlsx."""
    base = make_case(rng)
    cases = [base] + [make_case(rng) for _ in range(rows - 1)]
    for c in cases[1:]:  # one employer, as a batch from an HR system is
        c.employer, c.ein, c.employer_address = base.employer, base.ein, base.employer_address
    whole = rng.random() < 0.5
    headers = ([label("worker.name", half, rng) + " (last, first)"] if whole
               else [label("worker.last_name", half, rng), label("worker.first_name", half, rng)])
    writers: dict[str, Callable[[date], str]] = {}
    for f in _FIELDS:
        text = label(f, half, rng)
        if f in _DATES:
            hint, fn = rng.choice(date_styles())
            writers[f] = fn  # type: ignore[assignment]
            text += f" {hint}" if hint else ""
        headers.append(text)
    table: list[list[object]] = []
    truths = []
    for c in cases:
        row: list[object] = [f"{c.last}, {c.first}"] if whole else [c.last, c.first]
        for f in _FIELDS:
            if f in _DATES:
                d: date = getattr(c, _DATES[f])
                row.append(d if kind == "xlsx" else writers[f](d))
            else:
                row.append(_value(c, f))
        table.append(row)
        t = {k: v for k, v in c.truth().items()
             if k.split(".")[0] in ("worker", "assignment", "request_type") or k in ("employer.name", "employer.ein")}
        t.pop("worker.middle_name", None)
        truths.append(t)
    title = [f"{base.employer} - certificate of coverage requests, November 2026"]
    if kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerows([title, [], headers, *table])
        return buf.getvalue().encode("utf-8"), truths, f"csv/{'whole' if whole else 'split'}-name"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in [title, [], headers, *table]:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), truths, f"xlsx/{'whole' if whole else 'split'}-name"
