"""The return page of a fax reply: boxes for what a request still lacks, to be faxed back.

A fax sender cannot "reply to this message". Our *information needed* fax therefore ends with a
page per request that names it (its reference in text and in a QR code), prints what we read (an
SSN by its last four digits only) and has boxes, drawn and read exactly like our form's
(`parsers.form_zones.return_specs`, `intake.form.draw_field`), only for the fields still missing,
doubtful or invalid. Faxed back, the page is recognised by its QR code and its boxes are read as
the form's are; `intake.answers` merges the values into the request the page names.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas as rl_canvas

from intake.conversation import get_path
from intake.form import caption, draw_field, draw_marks, draw_qr, editions
from intake.model import CertificateRequest, Problem
from intake.reference import help_for
from intake.replies import STAFF_ONLY_CODES, likely_type_problems
from parsers import form_zones as fz
from parsers.pii import mask_ssn, mask_ssns

_COLUMN_W = 240  # points: a column of what we read, two side by side
_SHORTEST_LABEL = 12  # a label is shortened to fit its value, never below this

# Problems the sender can answer in a box: the value is missing, was doubtful or cannot be right.
# A `conflict` waits for staff (two values were given: writing a third one settles nothing).
BOX_CODES = frozenset({"missing", "invalid", "low_confidence"})
HELP_SIZE = 9.0  # legible on a 204x98 fax (the floor)
TEXT_SIZE = 10.0
_TEXT_W = 400.0  # the header text, left of the QR code
_BOX_TEXT_W = 490.0
_VALUE_LEAD = 11.0


@dataclass(frozen=True)
class ReturnRequest:
    """What a return page is made of: the request's reference, its values and its problems."""

    reference: str
    fields: dict[str, Any]
    problems: list[dict[str, Any]]


def box_paths(fields: dict[str, Any], problems: list[dict[str, Any]], layout_version: int) -> list[str]:
    """The form fields a return page has boxes for, in the form's order."""
    by_path = fz.layout(layout_version).by_path()
    wanted = {p.get("field") for p in problems if p.get("code") in BOX_CODES and p.get("code") not in STAFF_ONLY_CODES}
    try:
        request = CertificateRequest.from_stored(fields)
        typed = [Problem.model_validate(p) for p in problems]
        wanted |= {p.field for p in likely_type_problems(request, typed) if p.code in BOX_CODES}
    except Exception:  # noqa: BLE001 - stored fields the model refuses: ask only what the problems say
        pass
    return [s.path for s in fz.layout(layout_version).fields if s.path in wanted and s.path in by_path]


def _shown(spec: fz.FieldSpec, value: Any) -> str:
    if spec.path == "worker.ssn":
        return mask_ssn(str(value))
    if spec.kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
        year, month, day = str(value).split("-")
        return f"{month}/{day}/{year}"  # as the form's boxes ask for it
    if spec.kind == "choice":
        value = {"true": "yes", "false": "no"}.get(str(value).lower(), str(value))
        return next((o.caption for o in spec.options if o.value == value), str(value))
    return str(value)


def read_values(fields: dict[str, Any], layout_version: int, skip: set[str]) -> list[tuple[str, str]]:
    """(caption, value as printed) of every value read, in the form's order; an SSN masked."""
    out = []
    for spec in fz.layout(layout_version).fields:
        value = get_path(fields, spec.path)
        if spec.path in skip or value in (None, "", []):
            continue
        out.append((caption(spec, numbered=True), mask_ssns(_shown(spec, value))))
    return out


def _pages(paths: list[str], values: int, rows: int) -> tuple[list[list[str]], bool]:
    """Boxes per page (`rows` at most), and whether the values read fit below the last page's
    boxes (else they go on a page of their own, which needs no faxing back)."""
    need = (2 + (values + 1) // 2) * _VALUE_LEAD  # the heading and two columns of values
    pages = [paths[i:i + rows] for i in range(0, len(paths), rows)] or [[]]
    return pages, fz.RETURN_TOP + len(pages[-1]) * fz.RETURN_ROW + need <= fz.RETURN_BOTTOM


def _text(c: rl_canvas.Canvas, x: float, top: float, text: str, size: float, width: float,
          bold: bool = False, max_lines: int = 99) -> float:
    """Wrapped text from `top` (points from the page's top); returns where the next line goes."""
    font = "Helvetica-Bold" if bold else "Helvetica"
    lead = size * 1.22
    lines = simpleSplit(text, font, size, width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" .,;") + " ..."
    c.setFont(font, size)
    for line in lines:
        top += lead
        c.drawString(x, fz.PAGE_H - top, line)
    return top


def _draw_page(c: rl_canvas.Canvas, req: ReturnRequest, version: int, page: int, pages: int, paths: list[str],
               values: list[tuple[str, str]] | None, our_number: str) -> None:
    c.setFillColor(colors.black)
    draw_marks(c)
    payload = fz.return_payload(req.reference, version, page, pages, paths)
    draw_qr(c, payload)
    # The same in print, for when the QR code does not survive the fax (read with a check number).
    c.setFont("Helvetica", HELP_SIZE)
    c.drawString(60, fz.PAGE_H - 757, "Page code:")
    c.setFont("Courier-Bold", 11)
    c.drawString(fz.CODE_LINE[0] + 4, fz.PAGE_H - 757, fz.code_line(payload))
    c.setFont("Helvetica-Bold", 15)
    c.drawString(60, fz.PAGE_H - 78, "Return page: fax this page back")
    c.setFont("Helvetica-Bold", 13)
    c.drawString(60, fz.PAGE_H - 97, f"Reference {req.reference}" + (f"   (page {page} of {pages})" if pages > 1
                                                                    else ""))
    back = f" to {our_number}" if our_number else " to the number this fax came from"
    _text(c, 60, 100, "Write what is missing in the boxes below, in capitals, one character per box where "
                            f"there are boxes, and fax this page back{back}. The code at the top right tells us "
                            "which request it belongs to: do not write on it or on the black corner squares.",
                TEXT_SIZE, _TEXT_W)
    doubted = {str(p.get("field")): p.get("code") for p in req.problems
               if p.get("code") in ("low_confidence", "invalid")}
    for spec in fz.return_specs(version, paths):
        c.setFont("Helvetica-Bold", TEXT_SIZE)
        c.drawString(spec.x, fz.PAGE_H - (spec.y - 4), caption(spec, numbered=True))
        draw_field(c, spec, label=False, caption_size=TEXT_SIZE)
        value = get_path(req.fields, spec.path)
        note = ""
        if spec.path in doubted and value not in (None, "", []):
            why = "could not be read with certainty" if doubted[spec.path] == "low_confidence" else "cannot be right"
            note = f"We read \"{_shown(spec, value)}\", which {why}: please write it again. "
        _text(c, 60, spec.y + spec.h + 1, note + help_for(spec.path), HELP_SIZE, _BOX_TEXT_W, max_lines=2)
    if values is not None:
        _draw_values(c, fz.RETURN_TOP + len(paths) * fz.RETURN_ROW + 4, values)


def _draw_values(c: rl_canvas.Canvas, top: float, values: list[tuple[str, str]]) -> None:
    """What we read, in two columns (an SSN by its last four digits)."""
    top = _text(c, 60, top, "What we read (no need to write it again; the SSN shows its last four digits only)",
                TEXT_SIZE, _BOX_TEXT_W, bold=True)
    half = max(1, (len(values) + 1) // 2)
    c.setFont("Helvetica", HELP_SIZE)
    for i, (written, value) in enumerate(values):
        col, row = divmod(i, half)
        label = re.sub(r"\s*\((?:MM/DD/YYYY|optional)\)", "", written)
        while len(label) > _SHORTEST_LABEL and c.stringWidth(f"{label}: {value}", "Helvetica", HELP_SIZE) > _COLUMN_W:
            label = label[:-4].rstrip() + "..."  # the value is what matters: the label gives way
        text = simpleSplit(f"{label}: {value}", "Helvetica", HELP_SIZE, _COLUMN_W)[0]
        c.drawString(60 + col * 250, fz.PAGE_H - (top + (row + 1) * _VALUE_LEAD), text)


def render_return_pages(requests: list[ReturnRequest], *, our_number: str = "") -> bytes | None:
    """The return pages of these requests as one PDF, or None when none lacks anything we can box."""
    version = editions().current.layout
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=(fz.PAGE_W, fz.PAGE_H))
    c.setTitle("Return page")
    c.setCreator("coc-intake")
    drawn = 0
    for req in requests:
        paths = box_paths(req.fields, req.problems, version)
        if not paths:
            continue
        values = read_values(req.fields, version, set(paths))
        split, below = _pages(paths, len(values), fz.return_rows(version))
        for n, page_paths in enumerate(split, start=1):
            _draw_page(c, req, version, n, len(split), page_paths, values if below and n == len(split) else None,
                       our_number)
            c.showPage()
            drawn += 1
        if not below:  # no marks and no code: nothing to fax back
            c.setFont("Helvetica-Bold", 13)
            c.drawString(60, fz.PAGE_H - 78, f"Reference {req.reference}: for your records, no need to fax it back")
            _draw_values(c, 90, values)
            c.showPage()
    if not drawn:
        return None
    c.save()
    return buf.getvalue()
