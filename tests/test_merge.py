"""Merging one submission's parts: form over text over OCR, and two values are a conflict, never a choice.

Real mails (stdlib `email`, as Gmail builds them) carrying a labelled body and an attachment read by
the real parsers (a reportlab fillable form, a faxed TIFF read by Tesseract).
"""

from __future__ import annotations

import copy
import csv
import io
import random
from datetime import date
from itertools import permutations
from typing import Any

from intake.extract import RequestResult, extract_submission
from intake.merge import merge
from parsers.types import Candidate, Extraction, Provenance
from tests import docgen, faxgen, mailgen
from tests.corpus import SHEET_COLUMNS
from tests.synth import address_line, flat, labelled_lines, make_request

TODAY = date(2026, 11, 25)


def _request(seed: int) -> dict[str, Any]:
    return make_request(random.Random(seed), kind="employee", country="DE")


def _mail(body_req: dict[str, Any], attachment: tuple[str, bytes, str]) -> bytes:
    body = "Hello,\n\nour request, also attached:\n\n" + "\n".join(labelled_lines(body_req, random.Random(3)))
    return mailgen.gmail(sender="hr@acme.example.com", to="certificate@localhost", subject="COC request",
                         text=body + "\n\nRegards,\nHR\n", attachments=[attachment])


def _one(raw: bytes) -> RequestResult:
    result = extract_submission(raw, channel="email", today=TODAY)
    assert len(result.requests) == 1, result.problems
    return result.requests[0]


def _problems(r: RequestResult, code: str) -> dict[str | None, str]:
    return {p.field: p.message for p in r.problems if p.code == code}


def test_same_values_in_body_and_form_give_no_problem_and_the_form_is_the_source() -> None:
    req = _request(1)
    r = _one(_mail(req, ("request.pdf", docgen.acroform_pdf(req), "application/pdf")))
    assert r.status == "valid", r.problems
    assert r.request.worker.ssn == req["worker"]["ssn"]
    assert r.provenance["worker.ssn"].method == "form"
    assert r.provenance["worker.ssn"].part.endswith("request.pdf")


def test_body_and_form_that_differ_are_a_conflict_and_the_form_value_is_kept() -> None:
    req = _request(2)
    typed = copy.deepcopy(req)
    typed["assignment"]["end_date"] = "2029-12-31"  # the mail says one date, the form another
    typed["employer"]["ein"] = "98-7654321" if req["employer"]["ein"] != "98-7654321" else "98-7654322"
    r = _one(_mail(typed, ("request.pdf", docgen.acroform_pdf(req), "application/pdf")))
    assert r.status == "needs_review"
    conflicts = _problems(r, "conflict")
    assert set(conflicts) == {"assignment.end_date", "employer.ein"}, r.problems
    assert str(r.request.assignment.end_date) == req["assignment"]["end_date"]  # form over text
    assert r.request.employer is not None and r.request.employer.ein == req["employer"]["ein"]
    message = conflicts["employer.ein"]
    assert req["employer"]["ein"] in message and typed["employer"]["ein"] in message
    assert "request.pdf, page 1 (form)" in message and "body (text)" in message
    assert all(p.help for p in r.problems if p.code == "conflict")


def test_a_conflicting_ssn_is_masked_in_the_problem() -> None:
    req = _request(3)
    typed = copy.deepcopy(req)
    ssn = req["worker"]["ssn"]
    typed["worker"]["ssn"] = ssn[:-4] + ("1234" if ssn[-4:] != "1234" else "4321")
    r = _one(_mail(typed, ("request.pdf", docgen.acroform_pdf(req), "application/pdf")))
    message = _problems(r, "conflict")["worker.ssn"]
    assert r.request.worker.ssn == ssn
    assert ssn not in message and typed["worker"]["ssn"] not in message
    assert ssn[-4:] in message and typed["worker"]["ssn"][-4:] in message


def test_text_beats_ocr_and_a_misread_is_a_conflict() -> None:
    req = _request(4)
    faxed = copy.deepcopy(req)
    faxed["assignment"]["start_date"] = "2027-02-01" if req["assignment"]["start_date"] != "2027-02-01" \
        else "2027-02-02"
    pages = faxgen.fax_request(faxed, random.Random(4), "fine", noise=0.0005, skew=(0.5, 1.0))
    r = _one(_mail(req, ("fax.tif", faxgen.tiff_bytes(pages), "image/tiff")))
    assert str(r.request.assignment.start_date) == req["assignment"]["start_date"]  # text over OCR
    assert r.provenance["assignment.start_date"].method == "text"
    assert "assignment.start_date" in _problems(r, "conflict")
    assert r.request.worker.ssn == req["worker"]["ssn"] and "worker.ssn" not in _problems(r, "conflict")


def _cand(field: str, value: str, method: str, confidence: float = 1.0) -> Candidate:
    return Candidate(field=field, value=value, raw=value, confidence=confidence,
                     provenance=Provenance(part=f"{method} part", method=method))  # type: ignore[arg-type]


def test_preference_is_form_then_text_then_ocr_whatever_the_order_or_confidence() -> None:
    for order in permutations(("form", "text", "ocr")):
        (merged,) = merge([
            Extraction(part=f"{m} part", records=[[
                _cand("worker.ssn", "123-45-6789", m),  # the same worker in every part
                _cand("assignment.host_name", f"Host {m}", m, 0.81 if m == "form" else 0.99)]])
            for m in order])
        assert merged.values["assignment.host_name"] == "Host form", order
        assert merged.provenance["assignment.host_name"].method == "form"
        assert [p.code for p in merged.problems] == ["conflict"]
        (merged,) = merge([Extraction(part=f"{m} part", records=[[_cand("employer.name", f"Acme {m}", m)]])
                           for m in order if m != "form"])
        assert merged.values["employer.name"] == "Acme text"
    (merged,) = merge([Extraction(part="a", records=[[_cand("assignment.host_name", "X GmbH", "ocr", 0.99)]]),
                       Extraction(part="b", records=[[_cand("assignment.host_name", "X  gmbh", "text")]])])
    assert merged.values["assignment.host_name"] == "X  gmbh" and merged.problems == []  # the same value


def test_spreadsheet_rows_take_the_employer_from_the_mail_body() -> None:
    """HR sends the workers as a CSV and types the employer once, in the mail."""
    rng = random.Random(6)
    reqs = [make_request(rng, kind="employee") for _ in range(3)]
    employer = reqs[0]["employer"]
    columns = [(h, path) for h, path in SHEET_COLUMNS if not path.startswith(("employer.", "confirmation"))]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([h for h, _ in columns])
    for req in reqs:
        values = flat(req)
        writer.writerow([{"true": "Yes", "false": "No"}.get(values.get(p, ""), values.get(p, "")) for _, p in columns])
    body = ("Hello,\n\nplease issue certificates for the three workers in the attached list.\n\n"
            f"Employer name: {employer['name']}\nEIN: {employer['ein']}\n"
            f"Employer address: {address_line(employer['address'])}\n"
            f"Contact person: {employer['contact_name']}\nContact phone: {employer['contact_phone']}\n"
            f"Contact email: {employer['contact_email']}\n\nThanks,\nHR\n")
    raw = mailgen.outlook(sender=employer["contact_email"], to="certificate@localhost", subject="COC batch",
                          text=body, attachments=[("workers.csv", buf.getvalue().encode(), "text/csv")])
    result = extract_submission(raw, channel="email", today=TODAY)
    assert len(result.requests) == 3, result.problems
    for r, req in zip(result.requests, reqs, strict=True):
        assert r.request.worker.ssn == req["worker"]["ssn"]
        assert r.provenance["worker.ssn"].method == "table"
        assert r.request.employer is not None
        assert (r.request.employer.name, r.request.employer.ein) == (employer["name"], employer["ein"])
        assert r.provenance["employer.ein"].part == "body"
        assert r.status == "valid", r.problems
