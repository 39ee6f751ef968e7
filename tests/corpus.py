"""A generated corpus of requests in every format, with the truth each document was made from.

Used by the accuracy test (`tests/test_corpus.py`), by `bench/extract.py` and to write the bundled
samples, so that the figures in the README come from the same documents the suite checks.
"""

from __future__ import annotations

import csv
import html
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests import docgen, faxgen, mailgen
from tests.synth import flat, labelled_lines, make_request

# Fields a rendering does not carry (the synthetic letter has no hire date or place).
NOT_IN_LETTERS = {"assignment.hire_date", "assignment.hire_place"}


@dataclass
class Doc:
    name: str  # file name, extension tells the type
    data: bytes
    fmt: str  # "mail", "pdf_text", "pdf_form", "fax", "sheet", "prose"
    truths: list[dict[str, str]] = field(default_factory=list)  # one per request it carries
    pages: int = 1


def _truth(req: dict[str, Any], drop: set[str] = NOT_IN_LETTERS) -> dict[str, str]:
    return {k: v for k, v in flat(req).items() if k not in drop}


def mail_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    clients = [mailgen.thunderbird, mailgen.outlook, mailgen.gmail, mailgen.apple_mail]
    for i in range(n):
        req = make_request(rng)
        body = "Hello,\n\nplease issue a certificate of coverage for the following request.\n\n"
        body += "\n".join(labelled_lines(req, rng)) + "\n\nBest regards,\nHR department\n"
        client = clients[i % len(clients)]
        raw = client(sender=_sender(req), to="certificate@localhost",
                     subject="Certificate of coverage request", text=body, html=None, attachments=[])
        yield Doc(f"mail-{i:02d}.eml", raw, "mail", [_truth(req)])


def _sender(req: dict[str, Any]) -> str:
    if req["employer"]:
        return str(req["employer"]["contact_email"])
    return str(req["worker"]["email"])


def pdf_text_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    styles = ("colon", "table", "above")
    for i in range(n):
        req = make_request(rng)
        data = docgen.letter_pdf(req, rng, styles[i % len(styles)])  # type: ignore[arg-type]
        yield Doc(f"letter-{i:02d}.pdf", data, "pdf_text", [_truth(req, set())])


def pdf_form_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    for i in range(n):
        req = make_request(rng)
        names = "model" if i % 2 == 0 else "foreign"
        data = docgen.acroform_pdf(req, names)  # type: ignore[arg-type]
        raw = mailgen.gmail(sender=_sender(req), to="certificate@localhost",
                            subject="COC request form", text="Please find our request form attached.\n",
                            html=None, attachments=[(f"coc-request-{i}.pdf", data, "application/pdf")])
        yield Doc(f"form-mail-{i:02d}.eml", raw, "pdf_form", [_truth(req, set())])


def fax_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    for i in range(n):
        req = make_request(rng)
        resolution = "normal" if i % 2 == 0 else "fine"
        pages = faxgen.fax_request(req, rng, resolution)  # type: ignore[arg-type]
        if i % 4 == 3:
            dpi = (204, 98) if resolution == "normal" else (204, 196)
            data, name = docgen.image_pdf(pages, dpi=dpi), f"fax-{i:02d}-{resolution}.pdf"
        else:
            data = faxgen.tiff_bytes(pages, compression="group3" if i % 3 == 0 else "group4")
            name = f"fax-{i:02d}-{resolution}.tif"
        yield Doc(name, data, "fax", [_truth(req)], pages=len(pages))


SHEET_COLUMNS = [
    ("Employee Last Name", "worker.last_name"), ("First Name", "worker.first_name"),
    ("Middle", "worker.middle_name"), ("SSN", "worker.ssn"), ("DOB", "worker.date_of_birth"),
    ("Place of Birth", "worker.place_of_birth"), ("Citizenship", "worker.citizenship"),
    ("Host Country", "assignment.country"), ("Assignment Start", "assignment.start_date"),
    ("Assignment End", "assignment.end_date"), ("Host Company", "assignment.host_name"),
    ("Work Street", "assignment.work_address.street"), ("Work City", "assignment.work_address.city"),
    ("Work Postal Code", "assignment.work_address.postal_code"),
    ("Work Country", "assignment.work_address.country"),
    ("Hired in US", "assignment.hired_in_us"), ("Remains Employee", "assignment.remains_employee"),
    ("Employer Name", "employer.name"), ("Employer EIN", "employer.ein"),
    ("Employer Street", "employer.address.street"), ("Employer City", "employer.address.city"),
    ("Employer State", "employer.address.state"), ("Employer ZIP", "employer.address.postal_code"),
    ("Contact Name", "employer.contact_name"), ("Contact Phone", "employer.contact_phone"),
    ("Contact Email", "employer.contact_email"), ("Confirmation Email", "confirmation_email"),
]


def sheet_docs(n: int, rows: int, rng: random.Random) -> Iterator[Doc]:
    """HR-system exports: one worker per row, the employer in columns."""
    from openpyxl import Workbook

    for i in range(n):
        reqs = [make_request(rng, kind="employee") for _ in range(rows)]
        table = [[h for h, _ in SHEET_COLUMNS]]
        truths = []
        for req in reqs:
            values = flat(req)
            table.append([_cell(values.get(path, "")) for _, path in SHEET_COLUMNS])
            truths.append({path: values[path] for _, path in SHEET_COLUMNS if path in values}
                          | {"request_type": "employee", "worker.residence_country": "US",
                             "employer.address.country": "US"})
        if i % 2 == 0:
            buf = io.StringIO()
            csv.writer(buf).writerows(table)
            yield Doc(f"batch-{i:02d}.csv", buf.getvalue().encode("utf-8"), "sheet", truths)
        else:
            wb = Workbook()
            ws = wb.active
            assert ws is not None
            ws.append(["Certificate of coverage requests"])
            for row in table:
                ws.append(row)
            out = io.BytesIO()
            wb.save(out)
            yield Doc(f"batch-{i:02d}.xlsx", out.getvalue(), "sheet", truths)


def _cell(value: str) -> str:
    return {"true": "Yes", "false": "No"}.get(value, value)


def prose_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    """Requests written as sentences; read only where certain, so measured on silent errors."""
    for i in range(n):
        req = make_request(rng, kind="employee")
        data = docgen.letter_pdf(req, rng, "prose")
        yield Doc(f"prose-{i:02d}.pdf", data, "prose", [_truth(req, set())])


def html_mail_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    """HTML-only mails whose request is a two-column table, as Outlook and Gmail users paste it."""
    clients = [mailgen.outlook, mailgen.gmail]
    for i in range(n):
        req = make_request(rng)
        rows = "".join(f"<tr><td><b>{html.escape(label)}</b></td><td>{html.escape(value.strip())}</td></tr>"
                       for label, value in (line.split(":", 1) for line in labelled_lines(req, rng)))
        page = (f"<html><body><p>Hello,</p><p>please issue a certificate of coverage:</p>"
                f"<table border=1>{rows}</table><p>Thank you,<br>HR</p></body></html>")
        raw = clients[i % len(clients)](sender=_sender(req), to="certificate@localhost",
                                        subject="Certificate request", text=None, html=page)
        yield Doc(f"html-mail-{i:02d}.eml", raw, "mail", [_truth(req)])


def text_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    """Plain `.txt` files of labelled lines (what a clerk saves from a form in a text editor)."""
    for i in range(n):
        req = make_request(rng)
        text = "Certificate of coverage request\r\n\r\n" + "\r\n".join(labelled_lines(req, rng)) + "\r\n"
        yield Doc(f"request-{i:02d}.txt", text.encode("windows-1252" if i % 2 else "utf-8"), "text",
                  [_truth(req)])


def scan_docs(n: int, rng: random.Random) -> Iterator[Doc]:
    """Single-page PNG faxes (a fax server's export, normal resolution) and gray JPEG scans."""
    for i in range(n):
        req = make_request(rng)
        if i % 2 == 0:
            pages = faxgen.fax_request(req, rng, "normal")
            assert len(pages) == 1, "a letter of one request fits on one page"
            yield Doc(f"scan-{i:02d}-normal.png", faxgen.png_bytes(pages[0]), "fax", [_truth(req)])
        else:
            head, body = faxgen.letter_lines(req, rng)
            page = faxgen.scanned(faxgen.render_page(body, letterhead=head), rng=rng,
                                  skew_deg=rng.uniform(0.5, 1.5) * rng.choice([-1, 1]))
            yield Doc(f"scan-{i:02d}.jpg", faxgen.jpeg_bytes(page), "fax", [_truth(req)])


def corpus(seed: int = 2026, *, mails: int = 12, letters: int = 9, forms: int = 8, faxes: int = 20,  # noqa: PLR0913  (a count per kind of document, each named at the call)
           sheets: int = 4, rows: int = 3, prose: int = 4, html_mails: int = 2, texts: int = 2,
           scans: int = 2) -> list[Doc]:
    """Every format the gateway reads; the later kinds come last so earlier documents keep their seeds."""
    rng = random.Random(seed)
    return [*mail_docs(mails, rng), *pdf_text_docs(letters, rng), *pdf_form_docs(forms, rng),
            *fax_docs(faxes, rng), *sheet_docs(sheets, rows, rng), *prose_docs(prose, rng),
            *html_mail_docs(html_mails, rng), *text_docs(texts, rng), *scan_docs(scans, rng)]


@dataclass
class Score:
    fields: int = 0
    right: int = 0
    wrong_flagged: int = 0
    wrong_silent: int = 0
    silent: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.fields if self.fields else 1.0


FLAGS = {"low_confidence", "invalid", "conflict", "missing"}


def score(doc: Doc, result: Any, into: Score) -> None:
    """Compare what was read with the truth, field by field; a wrong value must carry a flag."""
    got_requests = [(flat(r.request.model_dump(mode="json")), r.problems) for r in result.requests]
    for i, truth in enumerate(doc.truths):
        got, problems = got_requests[i] if i < len(got_requests) else ({}, [])
        flagged = {p.field for p in problems if p.code in FLAGS}
        for path, want in truth.items():
            into.fields += 1
            if got.get(path) == want:
                into.right += 1
            elif path in flagged or _parent_flagged(path, flagged):
                into.wrong_flagged += 1
            else:
                into.wrong_silent += 1
                into.silent.append(f"{doc.name}: {path} want {want!r} got {got.get(path)!r}")
        for path, value in got.items():
            if path not in truth and path != "worker.residence_country" and path not in flagged:
                into.wrong_silent += 1
                into.silent.append(f"{doc.name}: {path} unexpected {value!r}")


def _parent_flagged(path: str, flagged: set[str | None]) -> bool:
    return any(f and path.startswith(f + ".") for f in flagged)

