"""Our own form (`intake.form.render_form`, what `coc-intake form` writes) filled in the way people
fill it in a viewer: upper, lower or mixed case, by pypdf or by PyMuPDF, then read as it is or
printed and faxed. The values typed come from this package's cases, never from tests/formgen.py.
"""

from __future__ import annotations

import io
from functools import cache

import pymupdf
from pypdf import PdfReader, PdfWriter

from intake.form import render_form
from tests.heldout.people import Case

CASES = ("upper", "lower", "mixed")
FILLERS = ("pypdf", "pymupdf")
_DIGIT_BOXES = {"worker.ssn", "employer.ein"}
_DATES = {"worker.date_of_birth", "assignment.start_date", "assignment.end_date", "assignment.hire_date"}


@cache
def _blank() -> bytes:
    return render_form()


def typed_values(case: Case, letter_case: str) -> dict[str, str]:
    """What a person types into each box (dates MM/DD/YYYY, digits only in the SSN and EIN boxes)."""
    t = case.truth()
    values = {k: v for k, v in t.items() if k not in ("request_type", "assignment.hired_in_us",
                                                        "assignment.remains_employee")}
    values["assignment.country"] = case.country_written
    values["worker.residence_country"] = "US"
    for path in _DATES:
        y, m, d = values[path].split("-")
        values[path] = f"{m}/{d}/{y}"
    for path in _DIGIT_BOXES:
        values[path] = values[path].replace("-", "")
    for path, value in values.items():
        if path in _DIGIT_BOXES or path in _DATES:
            continue
        values[path] = value.upper() if letter_case == "upper" else value.lower() if letter_case == "lower" else value
    return values


def truth(case: Case) -> dict[str, str]:
    out = case.truth()
    out["worker.residence_country"] = "US"
    return out


def _choices(case: Case) -> dict[str, str]:
    return {"request_type": "employee", "assignment.hired_in_us": "yes" if case.hired_in_us else "no",
            "assignment.remains_employee": "yes" if case.remains else "no"}


def fill_pypdf(case: Case, letter_case: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_blank())))
    fill: dict[str, str] = dict(typed_values(case, letter_case))
    fill.update({k: "/" + v for k, v in _choices(case).items()})
    for page in writer.pages:
        writer.update_page_form_field_values(page, fill, auto_regenerate=False)
    writer.set_need_appearances_writer(True)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def fill_pymupdf(case: Case, letter_case: str) -> bytes:
    doc = pymupdf.open(stream=_blank(), filetype="pdf")
    values = typed_values(case, letter_case)
    choices = _choices(case)
    for page in (doc.load_page(i) for i in range(doc.page_count)):
        for widget in page.widgets():
            name = widget.field_name
            if name in choices:
                if widget.on_state() == choices[name]:
                    widget.field_value = widget.on_state()
                    widget.update()
            elif name in values:
                widget.field_value = values[name]
                widget.update()
    return bytes(doc.tobytes(garbage=1, deflate=True))


def filled(case: Case, letter_case: str, filler: str) -> bytes:
    return fill_pypdf(case, letter_case) if filler == "pypdf" else fill_pymupdf(case, letter_case)


def printed(pdf: bytes, dpi: int = 200) -> bytes:
    """The filled form printed and scanned: one grayscale PNG per page, stacked into a PDF."""
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for page in (doc.load_page(i) for i in range(doc.page_count)):
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, annots=True)
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=pix.tobytes("png"))
    return bytes(out.tobytes(deflate=True))
