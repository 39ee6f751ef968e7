"""Fax replies: a letter written for fax (templates/fax), then the return pages or the form.

A fax is not a mail: nobody can "reply to this message", the text is read from paper sampled at
204x98 dpi, and a fixed-pitch font wrapped at the page's edge broke lines mid-sentence. So the
fax templates hold one paragraph a line and this module sets them in Helvetica, 11 point for the
text and 10 for each field's help (9 point is legible at 204x98; the form's 5-point help is
not), wrapped at word boundaries. An *information needed* fax ends with a return page per
request (`intake.returnpage`) to fill in and fax back; without one, with the blank form.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from intake.form import editions, render_form
from intake.replies import _env  # one template environment for mail and fax
from intake.returnpage import ReturnRequest, render_return_pages
from parsers.pii import mask_ssns

if TYPE_CHECKING:
    from intake.replies import RequestView
    from intake.settings import Settings
    from intake.store.store import RequestRecord

TEXT_SIZE = 11.0
HELP_SIZE = 10.0  # at least 9 point: legible on a 204x98 fax
HEADING_SIZE = 12.0
TITLES = {"received": "Received", "incomplete": "Information needed", "approved": "Approved",
          "rejected": "Not approved"}


def fax_text(kind: str, **context: Any) -> str:
    """The fax letter's text: one paragraph a line, SSNs masked."""
    text = mask_ssns(_env().get_template(f"fax/{kind}.txt.j2").render(**context))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def back_to(settings: Settings) -> str:
    """` to +1 ...` where return pages are faxed, when our number is configured."""
    number = settings.fax_out.our_number
    return f" to {number}" if number else ""


def render_fax_pdf(kind: str, *, fax_number: str, requests: list[RequestView],
                   received_at: datetime | None = None,
                   attachments: list[tuple[str, bytes, str]] | None = None, **context: Any) -> bytes:
    """The reply as a PDF for the fax server: the letter, then any PDF `attachments` as pages
    (the return pages, or the blank form), since a fax has no attachments."""
    from fpdf import FPDF  # noqa: PLC0415

    ctx = {"requests": requests, "r": requests[0] if requests else None,
           "received_at": (received_at or datetime.now()).strftime("%B %-d, %Y at %H:%M").strip(),
           "updated": False, "answered": False, "form_url": "", "help_url": "", "file_problems": [],
           "return_pages": False, "back_to": "", **context}
    text = fax_text(kind, **ctx)
    pdf = FPDF(format="Letter")
    pdf.set_margins(22, 18, 22)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, f"U.S. Certificate of Coverage - {TITLES.get(kind, kind)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", TEXT_SIZE)
    pdf.cell(0, 6, f"Fax to {fax_number}" + (f"  -  {len(requests)} requests" if len(requests) > 1 else ""),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in text.split("\n"):
        safe = line.encode("latin-1", errors="replace").decode("latin-1")
        if not safe.strip():
            pdf.ln(2.5)
        elif safe.startswith("# "):
            pdf.ln(1.5)
            pdf.set_font("Helvetica", "B", HEADING_SIZE)
            pdf.multi_cell(0, 6, safe[2:], new_x="LMARGIN", new_y="NEXT", align="L")
        elif safe.startswith("* "):
            pdf.set_font("Helvetica", "", TEXT_SIZE)
            pdf.set_x(pdf.l_margin + 2)
            pdf.cell(4, 5.4, "-")
            pdf.multi_cell(0, 5.4, safe[2:], new_x="LMARGIN", new_y="NEXT", align="L")
        elif safe.startswith("  "):
            pdf.set_font("Helvetica", "", HELP_SIZE)
            pdf.set_x(pdf.l_margin + 6)
            pdf.multi_cell(0, 4.9, safe.strip(), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(0.8)
        else:
            pdf.set_font("Helvetica", "", TEXT_SIZE)
            pdf.multi_cell(0, 5.4, safe, new_x="LMARGIN", new_y="NEXT", align="L")
    letter = bytes(pdf.output())
    extra = [data for _name, data, media_type in attachments or [] if media_type == "application/pdf"]
    if not extra:
        return letter
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(letter)))
    for data in extra:
        writer.append(PdfReader(io.BytesIO(data)))
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def fax_reply(kind: str, settings: Settings, records: list[RequestRecord], *, fax_number: str,
              **common: Any) -> bytes:
    """The fax reply about `records`: *information needed* with their return pages (or, when no
    box can be drawn for what is missing, the blank form), or any other kind as it is."""
    attachments: list[tuple[str, bytes, str]] = []
    pages = None
    if kind == "incomplete":
        pages = render_return_pages([ReturnRequest(r.reference, r.fields, r.problems_json())
                                     for r in records], our_number=settings.fax_out.our_number)
        if pages is not None:
            attachments = [("return-pages.pdf", pages, "application/pdf")]
        elif not settings.replies.form_url:
            attachments = [(f"coc-request-form-{editions().current.code}.pdf", render_form(), "application/pdf")]
    return render_fax_pdf(kind, fax_number=fax_number, attachments=attachments, return_pages=pages is not None,
                          back_to=back_to(settings), **common)
